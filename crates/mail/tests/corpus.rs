//! No input makes the splitter or the parser panic, lose a message or
//! crash mailparse: every file of the shared public corpus (mboxes,
//! .eml/.txt, Maildir files), random garbage, and damaged copies of the
//! golden fixtures.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;
use suzanne_mail::{
    parse_entry, parse_message, split_mbox, Class, Flavour, ParseOptions,
    Parsed,
};

fn opts() -> ParseOptions {
    ParseOptions {
        trusted_hosts: vec!["mx.landrush.example".into()],
        ..ParseOptions::default()
    }
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = fs::read_dir(dir) else { return };
    let mut paths: Vec<PathBuf> =
        rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            files_under(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// What must hold for any Parsed, whatever the input.
fn check(p: &Parsed, what: &str) {
    assert_eq!(p.fingerprint.len(), 64, "{what}");
    assert!(
        !p.defects.iter().any(|d| d.contains("crashed")),
        "{what}: {:?}",
        p.defects
    );
    match p.class {
        Class::Request => {
            assert!(!p.domains.is_empty(), "{what}");
            assert!(p.class_reason.is_none(), "{what}");
        }
        Class::Auto | Class::Malformed => {
            assert!(p.class_reason.is_some(), "{what}")
        }
    }
    for d in &p.domains {
        assert!(d.ascii.is_ascii() && d.ascii == d.ascii.to_lowercase());
    }
}

fn is_mbox(path: &Path) -> bool {
    let name = path.to_string_lossy();
    name.contains("mailutils-spool")
        || name.contains("/mailbox/")
        || name.ends_with(".mbox")
}

#[test]
fn every_corpus_file() {
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
    if !dir.is_dir() {
        println!("skipped: ../shared/corpus not present");
        return;
    }
    let mut files = Vec::new();
    files_under(&dir, &mut files);
    assert!(files.len() > 400, "corpus has {} files", files.len());

    let opts = opts();
    let (mut messages, mut bytes) = (0usize, 0usize);
    let start = Instant::now();
    for path in &files {
        let data = fs::read(path).expect("read corpus file");
        let what = path.display().to_string();
        bytes += data.len();

        // Every file goes through both doors: as a mailbox, and as one
        // message (what a Maildir file is).
        for flavour in [Flavour::Mboxo, Flavour::Mboxrd] {
            let entries = split_mbox(&data, flavour);
            let kept: usize = entries.iter().map(|e| e.raw.len()).sum();
            assert!(kept <= data.len(), "{what}");
            if is_mbox(path) && !data.iter().all(u8::is_ascii_whitespace) {
                assert!(!entries.is_empty(), "{what}");
            }
            for e in &entries {
                check(&parse_entry(e, &opts), &what);
                messages += 1;
            }
        }
        check(&parse_message(&data, None, false, &opts), &what);
        messages += 1;
    }
    println!(
        "{} files, {} messages, {} KB in {:?}",
        files.len(),
        messages,
        bytes / 1000,
        start.elapsed()
    );
}

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Pieces that steer a parser into its odd corners.
const NASTY: &[&[u8]] = &[
    b"\n",
    b"\r\n",
    b"\r",
    b"\0",
    b" ",
    b":",
    b"\nFrom a@b.c Mon Nov 29 14:00:03 2010\n",
    b"\n\nFrom x\n",
    b"\n>From ",
    b"=?utf-8?B?w",
    b"=?utf-8?q?=C3?=",
    b"=?x?y?z?=",
    b"?=",
    b"=\n",
    b"=X",
    b"\nContent-Type: multipart/mixed; boundary=b\n\n--b\n",
    b"\n--b\n",
    b"\n--b--\n",
    b"\nContent-Transfer-Encoding: base64\n\n",
    b"\nContent-Transfer-Encoding: quoted-printable\n",
    b"; charset*=utf-8''%C3%A9; name*0=a; name*1=b",
    b"\nContent-Type: text/plain; charset=\"",
    b"\nReceived: from a by mx.landrush.example id 4jgzHY4HHyzz; ",
    b"Fri, 4 Dec 2026 99:99:99 +9999",
    b"\ndomain: ",
    b"xn--",
    b"\xc3",
    b"\xff\xfe",
    b"(((((",
    b"<<>>",
    b"\t",
];

fn mutate(seed: &[u8], rng: &mut XorShift) -> Vec<u8> {
    let mut out = seed.to_vec();
    for _ in 0..1 + rng.below(8) {
        let at = rng.below(out.len() + 1);
        match rng.below(4) {
            0 => {
                let piece = NASTY[rng.below(NASTY.len())];
                out.splice(at..at, piece.iter().copied());
            }
            1 => out.truncate(at),
            2 if at < out.len() => out[at] = rng.next() as u8,
            _ => {
                let end = (at + rng.below(40)).min(out.len());
                out.drain(at..end);
            }
        }
    }
    out
}

fn fixtures() -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut files = Vec::new();
    files_under(&dir, &mut files);
    files
        .iter()
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .map(|p| fs::read(p).expect("read fixture"))
        .collect()
}

#[test]
fn damaged_fixtures_and_garbage() {
    let opts = opts();
    let seeds = fixtures();
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    for round in 0..2500 {
        let data = if round % 5 == 0 {
            let len = rng.below(600);
            (0..len)
                .map(|_| {
                    let piece = NASTY[rng.below(NASTY.len())];
                    if rng.below(3) == 0 {
                        piece.to_vec()
                    } else {
                        vec![rng.next() as u8]
                    }
                })
                .collect::<Vec<Vec<u8>>>()
                .concat()
        } else {
            mutate(&seeds[rng.below(seeds.len())], &mut rng)
        };
        let what =
            format!("round {round}: {:?}", String::from_utf8_lossy(&data));
        check(&parse_message(&data, None, false, &opts), &what);
        check(&parse_message(&data, Some(""), true, &opts), &what);
        for e in split_mbox(&data, Flavour::Mboxrd) {
            check(&parse_entry(&e, &opts), &what);
        }
    }
}

/// Deeply nested multiparts must not blow the stack (an abort no test
/// harness survives) nor take quadratic time.
#[test]
fn deep_nesting() {
    for levels in [60, 20_000] {
        let mut msg = String::from("Subject: deep\n");
        for i in 0..levels {
            msg.push_str(&format!(
                "Content-Type: multipart/mixed; boundary=b{i}\n\n--b{i}\n"
            ));
        }
        msg.push_str("Content-Type: text/plain\n\ndomain: deep.example.fr\n");
        let t = Instant::now();
        let p = parse_message(msg.as_bytes(), None, false, &opts());
        check(&p, "deep nesting");
        // About 1 s unoptimised; mailparse's own recursion would abort
        // on the stack near 10,000 levels.
        assert!(t.elapsed().as_secs() < 60, "{levels}: {:?}", t.elapsed());
        assert_eq!(p.domains.len(), 1, "{levels}");
        if levels > 100 {
            assert_eq!(p.class, Class::Malformed);
        } else {
            assert_eq!(p.class, Class::Request);
        }
    }
}

/// A header full of "=?" stays linear.
#[test]
fn many_encoded_word_starts() {
    let subject = "=?utf-8?q?".repeat(10_000);
    let msg = format!(
        "Subject: {subject}\nContent-Type: text/plain; x=\"{subject}\"\n\n\
         domain: x.example.fr\n"
    );
    let t = Instant::now();
    let p = parse_message(msg.as_bytes(), None, false, &opts());
    check(&p, "many =?");
    assert!(t.elapsed().as_secs() < 5, "{:?}", t.elapsed());
}
