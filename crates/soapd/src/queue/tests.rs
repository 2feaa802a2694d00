use super::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const SEC: i64 = 1_000_000;

fn parsed(ticket: Ticket, at: i64, domains: &[&str]) -> Event {
    parsed_kind(ticket, at, domains, Kind::Request)
}

fn parsed_kind(
    ticket: Ticket,
    at: i64,
    domains: &[&str],
    kind: Kind,
) -> Event {
    Event::Parsed(Parsed {
        ticket,
        key: ArrivalKey {
            arrival_us: at,
            rotation: 1,
            position: ticket,
        },
        kind,
        domains: domains.iter().map(|d| d.to_string()).collect(),
    })
}

fn queue(events: &[Event]) -> Queue {
    let mut q = Queue::default();
    for ev in events {
        q.apply(ev);
    }
    q
}

fn lease(q: &mut Queue, max: usize, now: i64) -> Vec<(Ticket, String)> {
    let evs = q.plan_leases(max, now, i64::MAX, now + 60 * SEC, "test", |t| {
        format!("L{t}-{now}")
    });
    let mut out = Vec::new();
    for ev in &evs {
        q.apply(ev);
        if let Event::Lease { ticket, token, .. } = ev {
            out.push((*ticket, token.clone()));
        }
    }
    out
}

fn tickets(leases: &[(Ticket, String)]) -> Vec<Ticket> {
    leases.iter().map(|(t, _)| *t).collect()
}

fn complete(q: &mut Queue, t: Ticket, token: &str) -> Result<(), Refusal> {
    if let Some(ev) = q.plan_complete(t, token, "accepted", "")? {
        q.apply(&ev);
    }
    Ok(())
}

#[test]
fn arrival_order_not_ticket_order() {
    let mut q = queue(&[
        parsed(1, 30, &["c.fr"]),
        parsed(2, 10, &["a.fr"]),
        parsed(3, 20, &["b.fr"]),
    ]);
    assert_eq!(tickets(&lease(&mut q, 10, 100)), vec![2, 3, 1]);
}

#[test]
fn same_name_never_leased_twice() {
    let mut q = queue(&[
        parsed(1, 10, &["cafe.fr", "a.fr"]),
        parsed(2, 20, &["b.fr", "cafe.fr"]),
        parsed(3, 30, &["c.fr"]),
        parsed(4, 40, &["b.fr"]),
    ]);
    let first = lease(&mut q, 10, 100);
    // 2 waits for 1 (cafe.fr); 4 waits for 2 (b.fr), which is open.
    assert_eq!(tickets(&first), vec![1, 3]);
    assert!(lease(&mut q, 10, 101).is_empty());
    complete(&mut q, 1, &first[0].1).unwrap();
    assert_eq!(tickets(&lease(&mut q, 10, 102)), vec![2]);
}

#[test]
fn expiry_returns_the_first_claimant() {
    let mut q = queue(&[parsed(1, 10, &["x.fr"]), parsed(2, 20, &["x.fr"])]);
    let first = lease(&mut q, 10, 0);
    assert_eq!(tickets(&first), vec![1]);
    assert!(lease(&mut q, 10, 59 * SEC).is_empty());
    // The lease ran out: 1 comes back, 2 still waits behind it.
    let again = lease(&mut q, 10, 61 * SEC);
    assert_eq!(tickets(&again), vec![1]);
    // The first token is stale now; the second one completes.
    assert_eq!(complete(&mut q, 1, &first[0].1), Err(Refusal::StaleLease));
    complete(&mut q, 1, &again[0].1).unwrap();
    assert_eq!(tickets(&lease(&mut q, 10, 62 * SEC)), vec![2]);
}

#[test]
fn late_parsed_earlier_request_waits_for_a_live_lease() {
    let mut q = queue(&[parsed(2, 20, &["x.fr"])]);
    let l = lease(&mut q, 1, 0);
    q.apply(&parsed(1, 10, &["x.fr"]));
    // 1 sorts first but 2 holds the name: nobody gets it twice.
    assert!(lease(&mut q, 10, 1).is_empty());
    // Once 2's lease ran out, 1 goes first and 2 cannot renew.
    assert_eq!(tickets(&lease(&mut q, 10, 61 * SEC)), vec![1]);
    assert_eq!(
        q.plan_extend(2, &l[0].1, 61 * SEC, 120 * SEC),
        Err(Refusal::StaleLease)
    );
}

#[test]
fn may_lease_sees_late_arrivals() {
    let mut q = queue(&[parsed(2, 20, &["x.fr"]), parsed(3, 30, &["y.fr"])]);
    assert!(q.may_lease(2, 0));
    q.apply(&parsed(1, 10, &["x.fr"]));
    assert!(!q.may_lease(2, 0));
    assert!(q.may_lease(3, 0));
    assert!(!q.may_lease(99, 0));
}

#[test]
fn expired_lease_completes_if_nobody_leased_since() {
    let mut q = queue(&[parsed(1, 10, &["x.fr"])]);
    let l = lease(&mut q, 1, 0);
    assert_eq!(q.view(1, 120 * SEC).unwrap().state, State::Pending);
    complete(&mut q, 1, &l[0].1).unwrap();
    assert_eq!(q.view(1, 120 * SEC).unwrap().state, State::Completed);
}

#[test]
fn completion_is_idempotent() {
    let mut q = queue(&[parsed(1, 10, &["x.fr"])]);
    let l = lease(&mut q, 1, 0);
    complete(&mut q, 1, &l[0].1).unwrap();
    let before = q.clone();
    assert_eq!(q.plan_complete(1, &l[0].1, "rejected", ""), Ok(None));
    assert_eq!(q, before);
    assert_eq!(
        q.plan_complete(1, "L1-other", "accepted", ""),
        Err(Refusal::StaleLease)
    );
}

#[test]
fn refusals() {
    let mut q = queue(&[
        parsed(1, 10, &["x.fr"]),
        parsed_kind(2, 5, &["y.fr"], Kind::Duplicate),
    ]);
    assert_eq!(
        q.plan_complete(9, "t", "accepted", ""),
        Err(Refusal::NoSuchRequest)
    );
    assert_eq!(
        q.plan_complete(2, "t", "accepted", ""),
        Err(Refusal::NoSuchRequest)
    );
    assert_eq!(
        q.plan_complete(1, "t", "accepted", ""),
        Err(Refusal::NotLeased(State::Pending))
    );
    let l = lease(&mut q, 5, 0);
    assert_eq!(tickets(&l), vec![1]);
    assert_eq!(q.plan_release(1, "nope"), Err(Refusal::StaleLease));
    assert_eq!(q.view(2, 0).unwrap().state, State::Duplicate);
}

#[test]
fn non_requests_are_never_handed_out() {
    let mut q = queue(&[
        parsed_kind(1, 1, &["a.fr"], Kind::Auto),
        parsed_kind(2, 2, &["a.fr"], Kind::Malformed),
        parsed_kind(3, 3, &["a.fr"], Kind::Duplicate),
        parsed(4, 4, &["a.fr"]),
    ]);
    assert_eq!(tickets(&lease(&mut q, 10, 0)), vec![4]);
}

#[test]
fn release_puts_back_in_place() {
    let mut q = queue(&[parsed(1, 10, &["x.fr"]), parsed(2, 20, &["y.fr"])]);
    let l = lease(&mut q, 1, 0);
    let ev = q.plan_release(1, &l[0].1).unwrap().unwrap();
    q.apply(&ev);
    // Releasing again with the same token is answered, not refused.
    assert_eq!(q.plan_release(1, &l[0].1), Ok(None));
    assert_eq!(complete(&mut q, 1, &l[0].1), Err(Refusal::StaleLease));
    assert_eq!(tickets(&lease(&mut q, 1, 1)), vec![1]);
}

#[test]
fn hold_blocks_its_names_and_nothing_else() {
    let mut q = queue(&[
        parsed(1, 10, &["x.fr"]),
        parsed(2, 20, &["x.fr"]),
        parsed(3, 30, &["z.fr"]),
    ]);
    let l = lease(&mut q, 1, 0);
    let ev = q.plan_hold(1, &l[0].1, "check", 0).unwrap().unwrap();
    q.apply(&ev);
    assert_eq!(q.plan_hold(1, &l[0].1, "again", 0), Ok(None));
    // Long after any lease would have run out, 2 still waits.
    assert_eq!(tickets(&lease(&mut q, 10, 3600 * SEC)), vec![3]);
    assert_eq!(
        q.plan_complete(1, &l[0].1, "accepted", ""),
        Err(Refusal::NotLeased(State::Held))
    );
    let c = q.counts(3600 * SEC);
    assert_eq!((c.pending, c.leased, c.held), (1, 1, 1));
    q.apply(&Event::Unhold { ticket: 1 });
    assert_eq!(tickets(&lease(&mut q, 10, 3601 * SEC)), vec![1]);
}

#[test]
fn extend_keeps_the_lease() {
    let mut q = queue(&[parsed(1, 10, &["x.fr"]), parsed(2, 20, &["x.fr"])]);
    let l = lease(&mut q, 1, 0);
    let ev = q.plan_extend(1, &l[0].1, 0, 600 * SEC).unwrap();
    q.apply(&ev);
    assert_eq!(q.view(1, 300 * SEC).unwrap().state, State::Leased);
    assert!(lease(&mut q, 10, 300 * SEC).is_empty());
}

#[test]
fn counts_and_oldest_pending() {
    let mut q = queue(&[
        parsed(1, 10 * SEC, &["a.fr"]),
        parsed(2, 20 * SEC, &["b.fr"]),
        parsed(3, 30 * SEC, &["c.fr"]),
    ]);
    let l = lease(&mut q, 1, 100 * SEC);
    complete(&mut q, 1, &l[0].1).unwrap();
    let c = q.counts(100 * SEC);
    assert_eq!(c.completed, 1);
    assert_eq!(c.pending, 2);
    assert_eq!(c.oldest_pending_us, Some(20 * SEC));
}

#[test]
fn foreign_events_are_tolerated() {
    let mut q = Queue::default();
    q.apply(&Event::Complete {
        ticket: 5,
        token: "x".into(),
        outcome: "accepted".into(),
        comment: String::new(),
    });
    q.apply(&parsed(5, 1, &["a.fr"]));
    q.apply(&parsed(5, 1, &["a.fr"]));
    assert_eq!(q.anomalies(), 2);
    assert_eq!(q.counts(0).pending, 1);
}

/// Random operation sequences against the queue rules.  Each step is
/// decided by the queue, applied, and recorded as a journal would be;
/// the checks run after every step.
#[test]
fn random_sequences_keep_the_rules() {
    for seed in 0..200u64 {
        run_random(seed);
    }
}

fn run_random(seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let names = ["a.fr", "b.fr", "c.fr", "d.fr", "e.fr"];
    let mut q = Queue::default();
    let mut journal: Vec<Event> = Vec::new();
    let mut now: i64 = 0;
    let mut next_ticket = 1;
    let mut held_out: Vec<(Ticket, String)> = Vec::new();
    let record = |q: &mut Queue, j: &mut Vec<Event>, ev: Event| {
        q.apply(&ev);
        j.push(ev);
    };
    for step in 0..400 {
        now += rng.gen_range(0..20) * SEC;
        match rng.gen_range(0..10) {
            0 | 1 => {
                let n = rng.gen_range(0..3);
                let ds: Vec<&str> =
                    (0..n).map(|_| names[rng.gen_range(0..5)]).collect();
                let at = rng.gen_range(0..1000) * SEC;
                let kind = if rng.gen_ratio(1, 8) {
                    Kind::Duplicate
                } else {
                    Kind::Request
                };
                let ev = parsed_kind(next_ticket, at, &ds, kind);
                next_ticket += 1;
                record(&mut q, &mut journal, ev);
            }
            2 | 3 => {
                let max = rng.gen_range(1..4);
                let exp = now + rng.gen_range(1..60) * SEC;
                let evs = q.plan_leases(max, now, i64::MAX, exp, "r", |t| {
                    format!("L{t}-{now}")
                });
                for ev in evs {
                    if let Event::Lease { ticket, token, .. } = &ev {
                        held_out.push((*ticket, token.clone()));
                    }
                    record(&mut q, &mut journal, ev);
                }
            }
            4..=6 if !held_out.is_empty() => {
                let i = rng.gen_range(0..held_out.len());
                let (t, tok) = held_out[i].clone();
                if let Ok(Some(ev)) = q.plan_complete(t, &tok, "accepted", "")
                {
                    record(&mut q, &mut journal, ev);
                }
            }
            7 if !held_out.is_empty() => {
                let (t, tok) =
                    held_out[rng.gen_range(0..held_out.len())].clone();
                if let Ok(Some(ev)) = q.plan_release(t, &tok) {
                    record(&mut q, &mut journal, ev);
                }
            }
            8 if !held_out.is_empty() => {
                let (t, tok) =
                    held_out[rng.gen_range(0..held_out.len())].clone();
                if rng.gen_bool(0.5) {
                    if let Ok(Some(ev)) = q.plan_hold(t, &tok, "r", now) {
                        record(&mut q, &mut journal, ev);
                    }
                } else {
                    record(&mut q, &mut journal, Event::Unhold { ticket: t });
                }
            }
            _ if !held_out.is_empty() => {
                let (t, tok) =
                    held_out[rng.gen_range(0..held_out.len())].clone();
                let exp = now + rng.gen_range(1..60) * SEC;
                if let Ok(ev) = q.plan_extend(t, &tok, now, exp) {
                    record(&mut q, &mut journal, ev);
                }
            }
            _ => {}
        }
        if step % 10 == 0 {
            check_journal(&journal, now, seed);
        }
    }
    check_journal(&journal, now, seed);
    // Replaying the journal gives the same state.
    assert_eq!(queue(&journal), q, "seed {seed}: replay differs");
}

/// A model of the journal, independent of the queue code.  When a
/// request is leased, every earlier request sharing one of its names
/// that the journal knew of is completed (a request parsed later with an
/// earlier arrival key could not have been waited for); a completion
/// follows the completions of everything its lease waited for; no two
/// leases live at `now` share a name.
fn check_journal(journal: &[Event], now: i64, seed: u64) {
    let mut known: HashMap<Ticket, (ArrivalKey, Vec<String>)> = HashMap::new();
    let mut waited: HashMap<Ticket, Vec<Ticket>> = HashMap::new();
    let mut lease: HashMap<Ticket, (i64, bool)> = HashMap::new();
    let mut done: HashSet<Ticket> = HashSet::new();
    for ev in journal {
        match ev {
            Event::Parsed(p) if p.kind == Kind::Request => {
                known.insert(p.ticket, (p.key, p.domains.clone()));
            }
            Event::Parsed(_) | Event::Unhold { .. } => {}
            Event::Lease {
                ticket, expires_us, ..
            } => {
                let (key, names) = &known[ticket];
                let before: Vec<Ticket> = known
                    .iter()
                    .filter(|(_, (k, n))| {
                        k < key && n.iter().any(|d| names.contains(d))
                    })
                    .map(|(t, _)| *t)
                    .collect();
                for o in &before {
                    assert!(
                        done.contains(o),
                        "seed {seed}: {ticket} leased while earlier {o} open"
                    );
                }
                waited.insert(*ticket, before);
                lease.insert(*ticket, (*expires_us, true));
            }
            Event::Extend {
                ticket, expires_us, ..
            } => {
                lease.get_mut(ticket).unwrap().0 = *expires_us;
            }
            Event::Release { ticket, .. } | Event::Hold { ticket, .. } => {
                lease.get_mut(ticket).unwrap().1 = false;
            }
            Event::Complete { ticket, .. } => {
                for o in &waited[ticket] {
                    assert!(
                        done.contains(o),
                        "seed {seed}: {ticket} completed before earlier {o}"
                    );
                }
                done.insert(*ticket);
                lease.remove(ticket);
            }
        }
    }
    let mut live_names: HashMap<&str, Ticket> = HashMap::new();
    for (t, (exp, on)) in &lease {
        if !*on || *exp <= now {
            continue;
        }
        for n in &known[t].1 {
            match live_names.insert(n, *t) {
                Some(o) if o != *t => {
                    panic!("seed {seed}: {t} and {o} both hold {n}")
                }
                _ => {}
            }
        }
    }
}

/// A request that arrived within the settle time is not handed out, nor
/// is anything after it: Postfix may still deliver earlier mail.
#[test]
fn nothing_newer_than_the_horizon_is_leased() {
    let mut q = Queue::default();
    for t in 1..=3 {
        q.apply(&parsed(t, t as i64 * SEC, &[&format!("n{t}.fr")]));
    }
    let evs = q.plan_leases(10, 10 * SEC, 2 * SEC, 70 * SEC, "r", |t| {
        format!("L{t}")
    });
    let tickets: Vec<u64> = evs
        .iter()
        .map(|e| match e {
            Event::Lease { ticket, .. } => *ticket,
            _ => 0,
        })
        .collect();
    assert_eq!(tickets, vec![1, 2]);
}
