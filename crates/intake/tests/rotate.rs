//! suzanne-rotate against real lock peers: liblockfile's dotlockfile for
//! the dotlock, a separate process for the fcntl lock, and a writer that
//! appends with Postfix's protocol while rotations run.

mod common;

use std::fs;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use common::*;

fn rotate(spool: &Path, mbox: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "--spool",
        spool.to_str().unwrap(),
        "--mbox",
        mbox.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    run(rotate_bin(), &args)
}

fn incoming(spool: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(spool.join("incoming"))
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Skip (or fail, when real parts are required) without a tool.
fn need(tool: &str) -> bool {
    if have(tool) {
        return true;
    }
    if std::env::var("SUZANNE_REQUIRE_REALPARTS").as_deref() == Ok("1") {
        panic!("{tool} is required (SUZANNE_REQUIRE_REALPARTS=1)");
    }
    eprintln!("skipped: {tool} not installed");
    false
}

#[test]
fn rotates_once_and_is_quiet_when_nothing_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let mbox = dir.path().join("suzanne");
    let spool = dir.path().join("spool");
    write(&mbox, &landrush(3));
    assert_quiet_ok(&rotate(&spool, &mbox, &[]), "first rotation");
    assert!(!mbox.exists());
    assert_eq!(incoming(&spool), vec!["000000000001.mbox"]);
    assert_quiet_ok(&rotate(&spool, &mbox, &[]), "nothing to rotate");
    write(&mbox, "");
    assert_quiet_ok(&rotate(&spool, &mbox, &[]), "empty mailbox");
    assert_eq!(incoming(&spool).len(), 1);
    assert!(!dir.path().join("suzanne.lock").exists());
}

#[test]
fn a_second_instance_exits_75() {
    let dir = tempfile::tempdir().unwrap();
    let mbox = dir.path().join("suzanne");
    let spool = dir.path().join("spool");
    write(&mbox, &landrush(1));
    fs::create_dir_all(spool.join("locks")).unwrap();
    let lock = spool.join("locks/rotate.lock");
    let mut holder = Command::new("flock")
        .args(["-x", lock.to_str().unwrap(), "sleep", "5"])
        .spawn()
        .expect("flock(1)");
    sleep(Duration::from_millis(300));
    let started = Instant::now();
    let out = rotate(&spool, &mbox, &[]);
    assert_eq!(code(&out), 75, "{}", String::from_utf8_lossy(&out.stderr));
    assert!(started.elapsed() < Duration::from_secs(4), "it waited");
    assert!(mbox.exists());
    // Overlapping cron runs are normal: quiet, so cron mails nothing...
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // ...and one line saying why with -v.
    let out = rotate(&spool, &mbox, &["-v"]);
    assert_eq!(code(&out), 75);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("suzanne-rotate: another instance"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    let _ = holder.kill();
    let _ = holder.wait();
}

#[test]
fn size_rule_waits_for_a_full_mailbox() {
    let dir = tempfile::tempdir().unwrap();
    let mbox = dir.path().join("suzanne");
    let spool = dir.path().join("spool");
    write(&mbox, &landrush(2));
    assert_quiet_ok(&rotate(&spool, &mbox, &["--min-bytes", "100000"]), "");
    assert!(mbox.exists(), "rotated below --min-bytes");
    write(&mbox, &landrush(200));
    assert_quiet_ok(&rotate(&spool, &mbox, &["--min-bytes", "100000"]), "");
    assert!(!mbox.exists(), "not rotated above --min-bytes");
}

/// Hold the mailbox with liblockfile's dotlockfile (the dotlock half of
/// Postfix's protocol) for `secs`.
fn dotlock_holder(mbox: &Path, secs: u32) -> Child {
    let lock = format!("{}.lock", mbox.display());
    let child = Command::new("dotlockfile")
        .args(["-l", "-r", "0", "-p", &lock, "sleep", &secs.to_string()])
        .spawn()
        .expect("dotlockfile");
    wait_for(|| Path::new(&lock).exists());
    child
}

/// Hold a POSIX fcntl lock on the mailbox from another process (the
/// kernel-lock half of Postfix's protocol) for `secs`.
fn fcntl_holder(mbox: &Path, secs: u32) -> Child {
    let ready = mbox.with_extension("held");
    let script = format!(
        "import fcntl,os,sys,time\n\
         f=open(sys.argv[1],'r+')\n\
         fcntl.lockf(f,fcntl.LOCK_EX)\n\
         open(sys.argv[2],'w').close()\n\
         time.sleep({secs})\n"
    );
    let child = Command::new("python3")
        .args([
            "-c",
            &script,
            mbox.to_str().unwrap(),
            ready.to_str().unwrap(),
        ])
        .spawn()
        .expect("python3");
    wait_for(|| ready.exists());
    child
}

fn wait_for(cond: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting");
        sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_live_dotlock_makes_rotate_wait_then_give_up_with_75() {
    if !need("dotlockfile") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mbox = dir.path().join("suzanne");
    let spool = dir.path().join("spool");
    write(&mbox, &landrush(2));
    let mut holder = dotlock_holder(&mbox, 3);
    let out = rotate(&spool, &mbox, &["--lock-wait", "1"]);
    assert_eq!(code(&out), 75, "{}", String::from_utf8_lossy(&out.stderr));
    assert!(mbox.exists(), "renamed under someone else's dotlock");
    // Waiting long enough, rotate gets the mailbox once the holder ends.
    let out = rotate(&spool, &mbox, &["--lock-wait", "20"]);
    let holder_done = holder.try_wait().unwrap().is_some();
    assert_quiet_ok(&out, "rotate after the holder");
    assert!(holder_done, "rotated while the dotlock was held");
    assert!(!mbox.exists());
    let _ = holder.wait();
}

#[test]
fn a_live_fcntl_lock_makes_rotate_wait() {
    if !need("python3") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mbox = dir.path().join("suzanne");
    let spool = dir.path().join("spool");
    write(&mbox, &landrush(2));
    let mut holder = fcntl_holder(&mbox, 3);
    let out = rotate(&spool, &mbox, &["--lock-wait", "1"]);
    assert_eq!(code(&out), 75, "{}", String::from_utf8_lossy(&out.stderr));
    assert!(mbox.exists(), "renamed under someone else's fcntl lock");
    assert!(
        !dir.path().join("suzanne.lock").exists(),
        "our dotlock was left behind"
    );
    let out = rotate(&spool, &mbox, &["--lock-wait", "20"]);
    assert_quiet_ok(&out, "rotate after the holder");
    assert!(holder.try_wait().unwrap().is_some());
    let _ = holder.wait();
}

#[test]
fn a_stale_dotlock_is_broken_and_a_live_old_one_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let mbox = dir.path().join("suzanne");
    let spool = dir.path().join("spool");
    let lock = dir.path().join("suzanne.lock");
    write(&mbox, &landrush(2));

    // An old lock naming a live process (this test) is honoured.
    write(&lock, &format!("{}\n", std::process::id()));
    backdate(&lock, 600);
    let out = rotate(&spool, &mbox, &["--lock-wait", "1"]);
    assert_eq!(code(&out), 75);
    assert!(mbox.exists());

    // An old empty lock (Postfix's kind) whose holder is gone is stale.
    write(&lock, "");
    backdate(&lock, 600);
    let out = rotate(&spool, &mbox, &["--lock-wait", "1", "-v"]);
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("stale"));
    assert!(!mbox.exists());
    assert!(!lock.exists());

    // A fresh empty lock is honoured.
    write(&mbox, &landrush(1));
    write(&lock, "");
    let out = rotate(&spool, &mbox, &["--lock-wait", "1"]);
    assert_eq!(code(&out), 75);
    assert!(mbox.exists());
}

fn backdate(path: &Path, secs: u64) {
    #[allow(clippy::disallowed_methods)]
    let t = std::time::SystemTime::now() - Duration::from_secs(secs);
    let f = fs::File::options().write(true).open(path).unwrap();
    f.set_modified(t).unwrap();
}

#[test]
fn maildir_takes_new_and_cur_never_tmp() {
    let dir = tempfile::tempdir().unwrap();
    let md = dir.path().join("Maildir");
    let spool = dir.path().join("spool");
    for sub in ["new", "cur", "tmp"] {
        fs::create_dir_all(md.join(sub)).unwrap();
    }
    write(
        &md.join("new/1.a"),
        without_from_line(&postfix_message(1, 1, "a.fr")),
    );
    write(
        &md.join("cur/2.b:2,S"),
        without_from_line(&postfix_message(2, 2, "b.fr")),
    );
    write(&md.join("tmp/3.c"), "half written");
    let s = spool.to_str().unwrap();
    let out = run(
        rotate_bin(),
        &["--spool", s, "--maildir", md.to_str().unwrap()],
    );
    assert_quiet_ok(&out, "maildir rotation");
    assert_eq!(incoming(&spool), vec!["000000000001.maildir"]);
    let batch = spool.join("incoming/000000000001.maildir");
    assert_eq!(fs::read_dir(&batch).unwrap().count(), 2);
    assert!(md.join("tmp/3.c").exists());
    assert_eq!(fs::read_dir(md.join("new")).unwrap().count(), 0);
    let out = run(
        rotate_bin(),
        &["--spool", s, "--maildir", md.to_str().unwrap()],
    );
    assert_quiet_ok(&out, "nothing to do");
    assert_eq!(incoming(&spool).len(), 1);
}

/// A writer appending with Postfix's protocol (dotlock, then fcntl, then
/// append, unlock) while rotations run: every message lands in exactly
/// one rotated mailbox, whole.
#[test]
fn concurrent_postfix_style_appends_lose_and_split_nothing() {
    if !need("python3") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mbox = dir.path().join("suzanne");
    let spool = dir.path().join("spool");
    let total = 400;
    let writer = Command::new("python3")
        .args(["-c", WRITER, mbox.to_str().unwrap(), &total.to_string()])
        .spawn()
        .expect("python3");
    let mut writer = writer;
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut rotations = 0;
    loop {
        let done = writer.try_wait().unwrap().is_some();
        let out = rotate(&spool, &mbox, &["--lock-wait", "30"]);
        assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
        rotations += 1;
        if done {
            break;
        }
        assert!(Instant::now() < deadline, "writer did not finish");
        sleep(Duration::from_millis(15));
    }
    assert!(writer.wait().unwrap().success(), "writer failed");
    assert!(rotations > 3, "too few rotations to mean anything");
    let mut seen = Vec::new();
    for name in incoming(&spool) {
        let text =
            fs::read_to_string(spool.join("incoming").join(&name)).unwrap();
        assert!(
            text.is_empty() || text.starts_with("From "),
            "{name} does not start with a From_ line"
        );
        for block in text.split("\n\nFrom ").filter(|b| !b.is_empty()) {
            let id = block
                .lines()
                .find_map(|l| l.strip_prefix("Message-ID: <m"))
                .unwrap_or_else(|| panic!("split message in {name}"));
            let end = block.trim_end().lines().last().unwrap();
            assert_eq!(end, "end of message", "message cut in {name}");
            seen.push(id.trim_end_matches("@w>").parse::<usize>().unwrap());
        }
    }
    seen.sort();
    assert_eq!(seen, (0..total).collect::<Vec<_>>());
}

/// Postfix local(8)'s protocol, written independently of Suzanne's code:
/// O_EXCL dotlock (retry), open, fcntl lock, append, fsync, unlock.
const WRITER: &str = r#"
import fcntl, os, sys, time
path, total = sys.argv[1], int(sys.argv[2])
lock = path + ".lock"
for i in range(total):
    for attempt in range(2000):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            os.close(fd)
            break
        except FileExistsError:
            time.sleep(0.005)
    else:
        sys.exit("dotlock never free")
    f = open(path, "ab")
    fcntl.lockf(f, fcntl.LOCK_EX)
    msg = ("From w@x Tue May 11 09:00:00 2004\nMessage-ID: <m%d@w>\n\n"
           "domaine: n%d.fr\n>From quoted\nend of message\n\n" % (i, i))
    f.write(msg.encode())
    f.flush()
    os.fsync(f.fileno())
    fcntl.lockf(f, fcntl.LOCK_UN)
    f.close()
    os.unlink(lock)
"#;
