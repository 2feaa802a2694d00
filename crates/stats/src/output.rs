//! Where a report goes: standard output, or a file in an output
//! directory. A file appears under its name only once complete (written
//! as `.NAME.tmp` beside it, then renamed), so a script picking up
//! `requests.csv` never reads half of one.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::error::Error;

/// Where reports are written.
#[derive(Clone, Debug)]
pub enum Dest {
    Stdout,
    /// Each report as `DIR/<name>`.
    Dir(PathBuf),
    /// This one file, whatever the report's own name.
    File(PathBuf),
}

/// An open report output.
pub struct Target {
    out: BufWriter<Box<dyn Write>>,
    /// What error messages call it.
    name: String,
    /// (temporary, final) when writing a file.
    rename: Option<(PathBuf, PathBuf)>,
}

impl Target {
    /// Open the output for the report file `name` (`requests.csv`).
    pub fn open(dest: &Dest, name: &str) -> Result<Target, Error> {
        let path = match dest {
            Dest::Stdout => {
                return Ok(Target {
                    out: BufWriter::with_capacity(
                        1 << 16,
                        Box::new(io::stdout()),
                    ),
                    name: "standard output".to_string(),
                    rename: None,
                })
            }
            Dest::Dir(dir) => dir.join(name),
            Dest::File(path) => path.clone(),
        };
        let tmp = temporary_name(&path);
        let file =
            File::create(&tmp).map_err(|e| Error::read("create", &tmp, e))?;
        Ok(Target {
            out: BufWriter::with_capacity(1 << 16, Box::new(file)),
            name: path.display().to_string(),
            rename: Some((tmp, path)),
        })
    }

    /// The name error messages give this output.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Flush, and put a file under its final name.
    pub fn finish(mut self) -> Result<(), Error> {
        self.out.flush().map_err(|e| Error::write(&self.name, e))?;
        if let Some((tmp, path)) = self.rename.take() {
            fs::rename(&tmp, &path).map_err(|e| Error::Io {
                message: format!(
                    "cannot rename '{}' to '{}'",
                    tmp.display(),
                    path.display()
                ),
                source: e,
            })?;
        }
        Ok(())
    }
}

impl Write for Target {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        // An unfinished report (an error part way) leaves no file behind.
        if let Some((tmp, _)) = self.rename.take() {
            let _ = fs::remove_file(tmp);
        }
    }
}

fn temporary_name(path: &Path) -> PathBuf {
    let base = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{base}.tmp"))
}

/// A CSV report: a header row, then rows.
pub struct Table {
    csv: csv::Writer<Target>,
    name: String,
}

impl Table {
    /// Open `name` at `dest` and write the header row.
    pub fn create(
        dest: &Dest,
        name: &str,
        header: &[&str],
    ) -> Result<Table, Error> {
        let target = Target::open(dest, name)?;
        let name = target.name().to_string();
        let csv = csv::WriterBuilder::new()
            .buffer_capacity(1 << 16)
            .from_writer(target);
        let mut table = Table { csv, name };
        table.row(header)?;
        Ok(table)
    }

    /// One row; fields in header order.
    pub fn row<I, T>(&mut self, fields: I) -> Result<(), Error>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        self.csv
            .write_record(fields)
            .map_err(|e| Error::csv(&self.name, e))
    }

    /// Flush and publish the file.
    pub fn finish(self) -> Result<(), Error> {
        let name = self.name;
        let target = self
            .csv
            .into_inner()
            .map_err(|e| Error::write(&name, e.into_error()))?;
        target.finish()
    }
}
