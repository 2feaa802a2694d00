//! The figure reports on the landrush fixture, every row checked.

mod common;

use common::*;

fn report(args: &[&str]) -> String {
    let f = landrush();
    let out = f.run(args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
    stdout(&out)
}

#[test]
fn arrivals_per_minute() {
    assert_eq!(
        report(&["arrivals", "--per", "minute"]),
        "period,requests,messages\n\
         2004-05-11T09:00:00Z,3,5\n\
         2004-05-11T09:01:00Z,0,1\n"
    );
}

#[test]
fn arrivals_per_second_fill_quiet_seconds_with_zeros() {
    let text = report(&["arrivals"]);
    let rows = rows(&text);
    assert_eq!(rows.len(), 1 + 66);
    assert_eq!(rows[1], ["2004-05-11T09:00:00Z", "3", "4"]);
    assert_eq!(rows[2], ["2004-05-11T09:00:01Z", "0", "1"]);
    assert_eq!(rows[3], ["2004-05-11T09:00:02Z", "0", "0"]);
    assert_eq!(rows[66], ["2004-05-11T09:01:05Z", "0", "1"]);
}

#[test]
fn arrivals_skip_long_quiet_spells() {
    let mut f = Fixture::new();
    f.batch(
        1,
        false,
        "11:00:00.000000",
        &[
            Msg::request(1, "08:00:00.000000", 0, "a@x.fr", &[]),
            Msg::request(2, "10:00:00.500000", 10, "a@x.fr", &[]),
        ],
    );
    let out = f.run(&["arrivals"]);
    assert_eq!(
        stdout(&out),
        "period,requests,messages\n\
         2004-05-11T08:00:00Z,1,1\n\
         2004-05-11T10:00:00Z,1,1\n"
    );
}

#[test]
fn stages_count_where_each_message_stands_now() {
    assert_eq!(
        report(&["stages"]),
        "stage,count,oldest_age_s\n\
         incoming,0,0\n\
         parsed,6,297\n\
         duplicate,1,229\n\
         auto,1,297\n\
         malformed,1,229\n\
         awaiting_ack,0,0\n\
         acknowledged,3,220\n\
         skipped,3,218\n\
         failed,0,0\n\
         deferred,0,0\n\
         pending,0,0\n\
         leased,1,139\n\
         held,0,0\n\
         completed,2,150\n"
    );
}

#[test]
fn expired_leases_count_as_pending_from_arrival() {
    let mut f = Fixture::new();
    f.batch(
        1,
        false,
        "09:00:03.000000",
        &[
            Msg::request(1, "09:00:00.000000", 0, "a@x.fr", &[]),
            Msg::request(2, "09:00:01.000000", 10, "a@x.fr", &[]),
            Msg::request(3, "09:00:02.000000", 20, "a@x.fr", &[]),
        ],
    );
    f.events("09:01:00.000000", vec![lease(1, "t1", "09:02:00.000000")]);
    f.events("09:01:00.000000", vec![lease(2, "t2", "09:02:00.000000")]);
    f.events(
        "09:01:30.000000",
        vec![spool::journal::Event::Hold {
            ticket: 2,
            token: "t2".into(),
            reason: "registrar unknown".into(),
        }],
    );
    std::fs::write(f.path("incoming/000000000002.mbox"), b"").unwrap();
    let out = f.run(&["stages"]);
    let text = stdout(&out);
    let rows = rows(&text);
    let get = |name: &str| {
        rows.iter().find(|r| r[0] == name).unwrap()[1..].join(",")
    };
    // Lease 1 expired at 09:02: pending since its arrival at 09:00:00.
    assert_eq!(get("pending"), "2,300");
    assert_eq!(get("leased"), "0,0");
    assert_eq!(get("held"), "1,210");
    assert_eq!(get("awaiting_ack"), "3,297");
    assert_eq!(get("incoming").split(',').next(), Some("1"));
}

#[test]
fn latency_percentiles_per_stage() {
    assert_eq!(
        report(&["latency"]),
        "measure,count,p50_s,p90_s,p99_s,max_s\n\
         arrival_to_parsed,6,2.900,70.800,70.800,70.800\n\
         arrival_to_acknowledged,3,80.700,81.800,81.800,81.800\n\
         arrival_to_handed_over,3,150.800,160.700,160.700,160.700\n\
         arrival_to_completed,2,149.900,159.800,159.800,159.800\n"
    );
}

#[test]
fn registrars_by_address() {
    assert_eq!(
        report(&["registrars"]),
        "registrar,messages,requests,duplicates,auto,malformed,\
         first_arrival,last_arrival,acknowledged,ack_p50_s,ack_max_s\n\
         a@reg-a.fr,2,1,0,1,0,2004-05-11T09:00:00.100000Z,\
         2004-05-11T09:00:01.200000Z,1,79.900,79.900\n\
         b@reg-b.fr,2,1,1,0,0,2004-05-11T09:00:00.300000Z,\
         2004-05-11T09:00:00.300000Z,1,80.700,80.700\n\
         c@reg-c.fr,1,1,0,0,0,2004-05-11T09:00:00.200000Z,\
         2004-05-11T09:00:00.200000Z,1,81.800,81.800\n\
         d@reg-d.fr,1,0,0,0,1,2004-05-11T09:01:05.000000Z,\
         2004-05-11T09:01:05.000000Z,0,,\n"
    );
}

#[test]
fn contested_names_list_claimants_in_arrival_order() {
    // Ticket 4 came in a later mailbox but arrived between 1 and 2; the
    // duplicate (5) is not a claimant.
    assert_eq!(
        report(&["contested"]),
        "domain,domain_unicode,claimants,rank,ticket,registrar,arrival,\
         rotation,position,gap_us,gap_s,same_second,outcome\n\
         exemple.fr,exemple.fr,3,1,1,a@reg-a.fr,\
         2004-05-11T09:00:00.100000Z,1,0,0,0.000000,yes,accepted\n\
         exemple.fr,exemple.fr,3,2,4,c@reg-c.fr,\
         2004-05-11T09:00:00.200000Z,2,0,100000,0.100000,yes,rejected\n\
         exemple.fr,exemple.fr,3,3,2,b@reg-b.fr,\
         2004-05-11T09:00:00.300000Z,1,900,200000,0.200000,yes,leased\n"
    );
}

#[test]
fn contested_idn_names_show_both_forms() {
    let mut f = Fixture::new();
    let cafe = ("café.fr", "xn--caf-dma.fr");
    f.batch(
        1,
        false,
        "09:00:03.000000",
        &[
            Msg::request(1, "09:00:00.999999", 0, "a@x.fr", &[cafe]),
            Msg::request(2, "09:00:01.000001", 10, "b@y.fr", &[cafe, cafe]),
        ],
    );
    let text = stdout(&f.run(&["contested"]));
    let rows = rows(&text);
    assert_eq!(rows.len(), 3, "a name twice in one request is one claim");
    assert_eq!(rows[2][0..4], ["xn--caf-dma.fr", "café.fr", "2", "2"]);
    assert_eq!(rows[2][9..13], ["2", "0.000002", "no", "pending"]);
}

#[test]
fn summary_names_counts_times_and_the_first_claimant() {
    let text = report(&["summary"]);
    for line in [
        "Messages: 6 (3 requests, 1 duplicates, 1 auto-replies, 1 \
         malformed) from 4 registrars",
        "Intake:   incoming 0, parsed 6",
        "Acks:     awaiting ack 0, acknowledged 3, skipped 3, failed 0, \
         deferred 0",
        "Hand-off: pending 0, leased 1, held 0, completed 2",
        "          lease     2004-05-11T09:02:00.000000Z  \
         2004-05-11T09:02:41.000000Z  41.000 s",
        "  exemple.fr  3 claimants; first: ticket 1 from a@reg-a.fr at \
         2004-05-11T09:00:00.100000Z (accepted)",
    ] {
        assert!(text.contains(line), "{line}\nnot in\n{text}");
    }
    assert!(text.contains("Journal:  23 lines, last seq 23, chain intact"));
}

#[test]
fn chart_is_an_svg_with_three_series() {
    let f = landrush();
    let file = f.dir.path().join("chart.svg");
    let out = f.run(&["chart", "--out", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let svg = std::fs::read_to_string(&file).unwrap();
    assert!(svg.starts_with("<svg"), "{}", &svg[..80]);
    for label in ["arrivals", "acknowledgements sent", "handed over"] {
        assert!(svg.contains(label), "{label}");
    }
    assert!(svg.contains("seconds since 2004-05-11T09:00:00Z"));
}

#[test]
fn all_writes_every_report_and_prints_the_summary() {
    let f = landrush();
    let dir = f.dir.path().join("out");
    let out = f.run(&["all", "--out", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
    assert!(stdout(&out).contains("Messages: 6 (3 requests"));
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "arrivals-minute.csv",
            "arrivals-second.csv",
            "chart.svg",
            "contested.csv",
            "journal.csv",
            "latency.csv",
            "reconcile.csv",
            "registrars.csv",
            "requests.csv",
            "stages.csv",
            "summary.txt",
        ]
    );
    let single = f.run(&["requests"]);
    let listed = std::fs::read(dir.join("requests.csv")).unwrap();
    assert_eq!(listed, single.stdout);
    assert_eq!(
        std::fs::read_to_string(dir.join("reconcile.csv")).unwrap(),
        "problem,ticket,detail\n"
    );
}
