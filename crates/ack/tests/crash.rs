//! kill -9 at random points during a run of thousands of
//! acknowledgements, rerun until done: every request is acknowledged,
//! and no acknowledgement reaches the relay twice except the one in
//! flight on each connection at each kill (same Message-ID).

mod common;

use std::collections::HashMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;

const CONNECTIONS: u64 = 4;

/// xorshift: a reproducible sequence of kill times from a printed seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// A seed from the wall clock (printed, so a failure can be replayed
/// with SUZANNE_ACK_CRASH_SEED).
#[allow(clippy::disallowed_methods)]
fn clock_seed() -> u64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    (now.as_nanos() as u64 ^ u64::from(std::process::id())) | 1
}

#[test]
fn kill_9_repeats_at_most_one_ack_per_connection_per_kill() {
    let sink = match Sink::start("") {
        Ok(s) => s,
        Err(why) => {
            missing(&why);
            return;
        }
    };
    let n: u64 = std::env::var("SUZANNE_ACK_CRASH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    let seed = std::env::var("SUZANNE_ACK_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(clock_seed);
    let mut rng = Rng(seed ^ 0x9e37_79b9_7f4a_7c15);

    let mut f = Fixture::new();
    let records: Vec<_> = (1..=n).map(record).collect();
    for chunk in records.chunks(1000) {
        f.add(chunk.to_vec());
    }
    f.config(&format!(
        "relay = '127.0.0.1'\nport = {}\nconnections = {CONNECTIONS}",
        sink.port
    ));

    let deadline = Instant::now() + Duration::from_secs(600);
    let mut kills = 0u64;
    let mut done = false;
    for _ in 0..200 {
        assert!(Instant::now() < deadline, "no end in 600 s");
        let mut child = f
            .command(&[])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let wait = Duration::from_millis(50 + rng.next() % 1500);
        std::thread::sleep(wait);
        match child.try_wait().unwrap() {
            Some(status) => {
                assert_eq!(status.code(), Some(0), "a run failed");
                done = true;
                break;
            }
            None => {
                child.kill().unwrap(); // SIGKILL
                child.wait().unwrap();
                kills += 1;
            }
        }
    }
    if !done {
        let out = f.run(&[]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
    }

    // Every request acknowledged, recorded once as sent.
    let acks = f.last_acks();
    assert_eq!(acks.len() as u64, n);
    assert!(acks.values().all(|a| a.status == "sent"));
    let sent_events = f.acks().iter().filter(|a| a.status == "sent").count();
    assert_eq!(sent_events as u64, n, "one sent event per ticket");

    // At the sink: each Message-ID at least once; repeats bounded.
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut partial = 0;
    for m in sink.messages() {
        match m.header("Message-ID") {
            Some(id) => *seen.entry(id).or_default() += 1,
            None => partial += 1,
        }
    }
    let unique = seen.len() as u64;
    let total: u64 = seen.values().sum();
    let repeats = total - unique;
    println!(
        "crash test: seed {seed}, {n} requests, {kills} kills, \
         {CONNECTIONS} connections: {total} messages at the sink, \
         {unique} distinct, {repeats} sent twice, {partial} partial"
    );
    assert_eq!(unique, n);
    assert!(seen.values().all(|&c| c <= 1 + kills));
    assert!(
        repeats <= kills * CONNECTIONS,
        "{repeats} repeats for {kills} kills"
    );
}
