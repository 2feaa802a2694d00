//! `smtp` against real servers on 127.0.0.1: Postfix's smtp-sink (every
//! message captured as received) and a private Postfix delivering into an
//! mbox that then goes through the intake and `verify --order received`.
//!
//! The servers are started and stopped with the project's scripts
//! (scripts/sink-up, scripts/postfix-up), which need root. Without root,
//! smtp-sink or Postfix, the tests say `skipped: ...`; with
//! SUZANNE_REQUIRE_REALPARTS=1 they fail instead.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{header, loadgen, show, sibling_bin, truth, Work};

fn scripts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts")
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0\n"))
        .unwrap_or(false)
}

/// A server started by one of the project's scripts; stopped on drop,
/// through the matching `-down` script (it signals only its own pid).
struct Server {
    down: PathBuf,
    dir: PathBuf,
    env: HashMap<String, String>,
}

impl Server {
    fn start(
        w: &Work,
        up: &str,
        down: &str,
        needs: &str,
        extra: &[(&str, &str)],
    ) -> Option<Server> {
        if !is_root() {
            common::skip(&format!("{up} needs root"));
            return None;
        }
        if !Path::new(needs).exists() {
            common::skip(&format!("{needs} is not installed"));
            return None;
        }
        // The servers' users (nobody, postfix) must reach the directory.
        fs::set_permissions(w.dir.path(), fs::Permissions::from_mode(0o755))
            .unwrap();
        let dir = w.path(up);
        let mut cmd = Command::new(scripts().join(up));
        cmd.arg(&dir).arg("0");
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("run the start script");
        let server = Server {
            down: scripts().join(down),
            dir,
            env: String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter_map(|l| l.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        assert!(out.status.success(), "{up}: {}", show(&out));
        Some(server)
    }

    fn var(&self, key: &str) -> &str {
        self.env
            .get(key)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("{key} not set"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new(&self.down).arg(&self.dir).status();
    }
}

fn sink(w: &Work) -> Option<Server> {
    Server::start(w, "sink-up", "sink-down", "/usr/sbin/smtp-sink", &[])
}

/// The messages smtp-sink captured, waiting up to 20 s for `count`.
fn captured(dir: &Path, count: usize) -> Vec<Vec<u8>> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let files: Vec<PathBuf> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        if files.len() >= count || Instant::now() > deadline {
            return files.iter().map(|f| fs::read(f).unwrap()).collect();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn to(server: &Server) -> String {
    format!("127.0.0.1:{}", server.var("SUZ_SINK_PORT"))
}

#[test]
fn a_generated_landrush_reaches_smtp_sink_whole() {
    let w = Work::new();
    let Some(sink) = sink(&w) else { return };
    let log = w.path("send.log");
    let out = w.loadgen_ok(&[
        "smtp",
        "--to",
        &to(&sink),
        "--count",
        "300",
        "--connections",
        "4",
        "--log",
        log.to_str().unwrap(),
    ]);
    assert!(out.stderr.is_empty(), "{}", show(&out));

    // The log: every message accepted once.
    let lines: Vec<serde_json::Value> = fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 300);
    assert!(lines.iter().all(|l| l["accepted_at"].is_string()));
    let logged: BTreeSet<u64> =
        lines.iter().map(|l| l["index"].as_u64().unwrap()).collect();
    assert_eq!(logged, (1..=300).collect());

    // The truth of the run: in the order of acceptance, dated by it.
    let t = truth(&w.path("send.log.truth.jsonl"));
    assert_eq!(t.len(), 300);
    let arrivals: Vec<&str> =
        t.iter().map(|l| l["arrival"].as_str().unwrap()).collect();
    assert!(arrivals.windows(2).all(|p| p[0] <= p[1]));
    let by_index: HashMap<u64, &serde_json::Value> = t
        .iter()
        .map(|l| (l["index"].as_u64().unwrap(), l))
        .collect();

    // What the server got: each message once, with its envelope, the
    // dot lines unstuffed, none of the mailbox-only headers.
    let got = captured(Path::new(sink.var("SUZ_SINK_MSGS")), 300);
    assert_eq!(got.len(), 300);
    let mut seen = BTreeSet::new();
    let mut dots = 0;
    for m in &got {
        let index: u64 =
            header(m, "X-Loadgen-Index").unwrap().parse().unwrap();
        assert!(seen.insert(index), "index {index} twice");
        let t = by_index[&index];
        let sender = header(m, "X-Mail-Args").unwrap();
        let want = t["envelope_sender"].as_str().unwrap();
        assert!(
            sender.starts_with(&format!("<{want}>")),
            "index {index}: {sender}"
        );
        assert!(header(m, "Delivered-To").is_none());
        assert!(header(m, "Return-Path").is_none());
        let features = t["features"].as_array().unwrap();
        if features.iter().any(|f| f == "dot-line") {
            let text = String::from_utf8_lossy(m);
            assert!(text.lines().any(|l| l == "."), "index {index}");
            dots += 1;
        }
    }
    assert!(dots > 0, "no message with a dot line among 300");
}

#[test]
fn the_rate_is_kept() {
    let w = Work::new();
    let Some(sink) = sink(&w) else { return };
    let t0 = Instant::now();
    w.loadgen_ok(&[
        "smtp",
        "--to",
        &to(&sink),
        "--count",
        "31",
        "--connections",
        "3",
        "--rate",
        "60",
    ]);
    // 31 messages at 60 a second: the last is due 0.5 s after the first.
    let took = t0.elapsed();
    assert!(took >= Duration::from_millis(450), "{took:?}");
    assert_eq!(captured(Path::new(sink.var("SUZ_SINK_MSGS")), 31).len(), 31);
}

#[test]
fn a_generated_mbox_is_sent_again_without_delivery_headers() {
    let w = Work::new();
    let Some(sink) = sink(&w) else { return };
    w.generate("mbox", 60, 5, &[]);
    w.loadgen_ok(&[
        "smtp",
        "--to",
        &to(&sink),
        "--from-mbox",
        "mbox",
        "--connections",
        "2",
    ]);
    let t = truth(&w.path("mbox.truth.jsonl"));
    let got = captured(Path::new(sink.var("SUZ_SINK_MSGS")), 60);
    assert_eq!(got.len(), 60);
    for m in &got {
        let index: usize =
            header(m, "X-Loadgen-Index").unwrap().parse().unwrap();
        let want = t[index - 1]["envelope_sender"].as_str().unwrap();
        assert!(header(m, "X-Mail-Args")
            .unwrap()
            .starts_with(&format!("<{want}>")));
        assert!(header(m, "Return-Path").is_none());
        assert!(header(m, "Delivered-To").is_none());
        // Our server's header is gone; only a forged one may claim it.
        let ours = String::from_utf8_lossy(m)
            .matches("by mx.landrush.example")
            .count();
        let forged = t[index - 1]["features"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "forged-received");
        assert_eq!(ours, usize::from(forged), "index {index}");
    }
}

#[test]
fn only_this_machine_is_sent_to() {
    let w = Work::new();
    for target in [
        "192.0.2.1:25",
        "mx.example.com:25",
        "[::1]:25",
        "127.0.0.2:25",
    ] {
        let out = w.run(&loadgen(), &["smtp", "--to", target, "--count", "1"]);
        assert_eq!(out.status.code(), Some(64), "{target}: {}", show(&out));
    }
}

#[test]
fn an_unreachable_server_is_try_again_later() {
    let w = Work::new();
    // A port nobody listens on any more.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let target = format!("127.0.0.1:{port}");
    let out = w.run(&loadgen(), &["smtp", "--to", &target, "--count", "5"]);
    assert_eq!(out.status.code(), Some(75), "{}", show(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with(&format!(
            "suzanne-loadgen: cannot connect to '{target}'"
        )),
        "{err}"
    );
}

/// The whole chain with a real Postfix: SMTP in, local(8) into an mbox,
/// rotate, parse, verify in `received` order.
#[test]
fn a_landrush_through_postfix_verifies_in_received_order() {
    let w = Work::new();
    let (Some(rotate), Some(parse)) =
        (sibling_bin("suzanne-rotate"), sibling_bin("suzanne-parse"))
    else {
        common::skip(
            "suzanne-rotate or suzanne-parse not built \
             (cargo build --workspace)",
        );
        return;
    };
    // Our registrars are remote in production: Postfix must not rewrite
    // their headers (no Message-ID added) as it does for local clients.
    let knobs = [("SUZ_PF_POSTCONF", "local_header_rewrite_clients=")];
    let Some(pf) = Server::start(
        &w,
        "postfix-up",
        "postfix-down",
        "/usr/sbin/postfix",
        &knobs,
    ) else {
        return;
    };
    let count = 1000;
    let log = w.path("send.log");
    let target = format!("127.0.0.1:{}", pf.var("SUZ_SMTP_PORT"));
    w.loadgen_ok(&[
        "smtp",
        "--to",
        &target,
        "--rcpt",
        pf.var("SUZ_MBOX_RCPT"),
        "--count",
        &count.to_string(),
        "--connections",
        "8",
        "--log",
        log.to_str().unwrap(),
    ]);

    // Wait (bounded) for local(8) to deliver everything.
    let mbox = PathBuf::from(pf.var("SUZ_MBOX"));
    let deadline = Instant::now() + Duration::from_secs(240);
    loop {
        let n = fs::read(&mbox)
            .map(|d| common::split_mbox(&d).len())
            .unwrap_or(0);
        if n >= count {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "only {n} of {count} delivered in 240 s"
        );
        std::thread::sleep(Duration::from_millis(250));
    }

    let config = w.config();
    let config = config.to_str().unwrap();
    let spool = w.path("spool");
    let spool = spool.to_str().unwrap();
    let trusted = pf.var("SUZ_TRUSTED_HOST");
    let out = w.run(
        &rotate,
        &[
            "--config",
            config,
            "--spool",
            spool,
            "--mbox",
            mbox.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "rotate: {}", show(&out));
    let out = w.run(
        &parse,
        &[
            "--config",
            config,
            "--spool",
            spool,
            "--trusted-host",
            trusted,
            "--no-sync",
        ],
    );
    assert!(out.status.success(), "parse: {}", show(&out));
    let truth = w.path("send.log.truth.jsonl");
    let out = w.run(
        &loadgen(),
        &[
            "verify",
            "--config",
            config,
            "--spool",
            spool,
            "--truth",
            truth.to_str().unwrap(),
            "--order",
            "received",
            "--trusted-host",
            trusted,
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(
        stdout,
        format!("verify: ok: {count} messages, order kept\n")
    );
}
