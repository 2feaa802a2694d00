//! STARTTLS and AUTH against an aiosmtpd server (tests/tools/tls_sink.py)
//! on 127.0.0.1 that requires TLS, with a self-signed certificate made by
//! openssl for the test, and accepts one user.

mod common;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use common::*;

struct TlsSink {
    dir: tempfile::TempDir,
    port: u16,
    child: Child,
}

impl Drop for TlsSink {
    fn drop(&mut self) {
        // Closing its stdin ends the server; then reap it.
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

impl TlsSink {
    fn start() -> Result<TlsSink, String> {
        let probe = Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .output()
            .map_err(|e| format!("run python3: {e}"))?;
        if !probe.status.success() {
            return Err("python3 module aiosmtpd missing \
                        (pip install aiosmtpd)"
                .into());
        }
        let dir = tempfile::Builder::new()
            .prefix("suzanne-tls-")
            .tempdir()
            .unwrap();
        let (key, cert) =
            (dir.path().join("key.pem"), dir.path().join("cert.pem"));
        let made = Command::new("openssl")
            .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes"])
            .args(["-days", "1", "-subj", "/CN=127.0.0.1", "-keyout"])
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .output()
            .map_err(|e| format!("run openssl: {e}"))?;
        if !made.status.success() {
            return Err("openssl could not make a certificate".into());
        }
        let msgs = dir.path().join("msgs");
        std::fs::create_dir(&msgs).unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let script = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/tools/tls_sink.py");
        let mut child = Command::new("python3")
            .arg(script)
            .args([&cert, &key, &msgs])
            .arg(port.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("run tls_sink.py: {e}"))?;
        let mut line = String::new();
        let stdout = child.stdout.take().unwrap();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        if line.trim() != "ready" {
            let _ = child.kill();
            let _ = child.wait();
            return Err("tls_sink.py did not start".into());
        }
        Ok(TlsSink { dir, port, child })
    }

    fn messages(&self) -> Vec<String> {
        let mut files: Vec<PathBuf> =
            std::fs::read_dir(self.dir.path().join("msgs"))
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
        files.sort();
        files
            .iter()
            .map(|f| std::fs::read_to_string(f).unwrap())
            .collect()
    }
}

#[test]
fn starttls_and_auth_reach_a_server_that_requires_them() {
    let sink = match TlsSink::start() {
        Ok(s) => s,
        Err(why) => {
            missing(&why);
            return;
        }
    };
    let mut f = Fixture::new();
    f.add(vec![record(1)]);
    let good = f.path().join("good");
    let bad = f.path().join("bad");
    std::fs::write(&good, "secret\n").unwrap();
    std::fs::write(&bad, "guess\n").unwrap();
    let base = format!(
        "relay = '127.0.0.1'\nport = {}\nconnections = 1\n\
         starttls = 'require'\nuser = 'suzanne'\n",
        sink.port
    );
    let run = |more: &str| {
        f.config(&format!("{base}{more}"));
        f.run(&[])
    };

    // A self-signed certificate fails the check...
    let out = run(&format!("password_file = '{}'", good.display()));
    assert_eq!(code(&out), 75, "{}", stderr(&out));
    assert!(stderr(&out).contains("STARTTLS"), "{}", stderr(&out));
    // ...a wrong password fails AUTH...
    let more =
        format!("password_file = '{}'\ntls_verify = false", bad.display());
    let out = run(&more);
    assert_eq!(code(&out), 75, "{}", stderr(&out));
    assert!(stderr(&out).contains("AUTH"), "{}", stderr(&out));
    assert!(f.acks().is_empty() && sink.messages().is_empty());

    // ...and with both right the letter goes, encrypted.
    let more =
        format!("password_file = '{}'\ntls_verify = false", good.display());
    let out = run(&more);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(f.last_acks()[&1].status, "sent");
    let msgs = sink.messages();
    assert_eq!(msgs.len(), 1);
    assert!(
        msgs[0].starts_with("X-Mail-From: <>\nX-TLS: True\n"),
        "{}",
        msgs[0]
    );
    assert!(msgs[0].contains("Auto-Submitted: auto-replied"));
}
