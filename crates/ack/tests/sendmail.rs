//! The sendmail transport through a private Postfix (scripts/postfix-up):
//! null envelope sender, `-i` so dot lines survive, delivery to an mbox.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::*;

struct Postfix {
    dir: tempfile::TempDir,
}

impl Drop for Postfix {
    fn drop(&mut self) {
        let _ = Command::new(root().join("scripts/postfix-down"))
            .arg(self.dir.path().join("pf"))
            .status();
    }
}

fn postfix() -> Result<Postfix, String> {
    if !std::path::Path::new("/usr/sbin/sendmail").exists() {
        return Err("no /usr/sbin/sendmail (apt-get install postfix)".into());
    }
    let dir = tempfile::Builder::new()
        .prefix("suzanne-pf-")
        .tempdir()
        .unwrap();
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    for _ in 0..5 {
        let port = Command::new(root().join("scripts/free-port"))
            .output()
            .map_err(|e| e.to_string())?;
        let port = String::from_utf8_lossy(&port.stdout).trim().to_string();
        let out = Command::new(root().join("scripts/postfix-up"))
            .arg(dir.path().join("pf"))
            .arg(&port)
            .output()
            .map_err(|e| e.to_string())?;
        match out.status.code() {
            Some(0) => return Ok(Postfix { dir }),
            Some(75) => continue,
            c => {
                return Err(format!(
                    "postfix-up exited {c:?}: {}",
                    String::from_utf8_lossy(&out.stderr)
                ))
            }
        }
    }
    Err("postfix-up: no free port".into())
}

#[test]
fn sendmail_hands_acks_to_postfix_with_the_null_sender() {
    let pf = match postfix() {
        Ok(p) => p,
        Err(why) => {
            missing(&why);
            return;
        }
    };
    let conf = pf.dir.path().join("pf/etc");
    let mbox = pf.dir.path().join("pf/mail/suzanne");

    let mut f = Fixture::new();
    let mut r = record(1);
    r.from = "Suzanne <suzanne@landrush.example>".into();
    f.add(vec![r]);
    let t = f.path().join("templates");
    std::fs::create_dir(&t).unwrap();
    let body = "Bonjour\n.\n..\n.fin\n";
    std::fs::write(t.join("ack.fr.txt"), format!("Subject: reçu\n\n{body}"))
        .unwrap();
    std::fs::write(t.join("duplicate.fr.txt"), "Subject: d\n\nd\n").unwrap();
    f.config(&format!(
        "transport = 'sendmail'\ntemplates = '{}'\nsendmail = \
         ['/usr/sbin/sendmail', '-C', '{}', '-i', '-f', '{{sender}}', \
         '--', '{{recipient}}']",
        t.display(),
        conf.display()
    ));
    let out = f.run(&[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(f.last_acks()[&1].status, "sent");

    // Postfix delivers in the background: wait, bounded.
    let deadline = Instant::now() + Duration::from_secs(30);
    let text = loop {
        let text = std::fs::read_to_string(&mbox).unwrap_or_default();
        if text.contains(".fin") || Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(text.starts_with("From MAILER-DAEMON "), "{text}");
    assert!(text.contains("\nReturn-Path: <>\n"), "{text}");
    assert!(text.contains("\nAuto-Submitted: auto-replied\n"), "{text}");
    assert!(text.contains("\n\nBonjour\n.\n..\n.fin\n"), "{text}");
}
