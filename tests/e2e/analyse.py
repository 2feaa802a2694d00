#!/usr/bin/env python3
"""analyse.py - the checks and the figures of tests/e2e/landrush.sh

  analyse.py check --work DIR --rcpt ADDR --trusted HOST [--registry FILE]...
      Reads what one landrush run left in DIR (spool/, pf/log/maillog,
      sink/msgs/, smtp.log, requests.csv, log/rotate.log, registry
      outputs) and prints one line per check, "ok   WHAT" or
      "FAIL WHAT: why", lines starting with "#" for information, and
      writes the run's figures to DIR/figures.json.

  analyse.py report --command CMD FIGURES.json...
      Prints RESULTS.md (Markdown) from the figures of one or more runs.

Everything is matched by Postfix queue ID (the `id` of the Received header
our own Postfix added), by ticket, or by Message-ID, never by position.
Times: a queue ID gives the Postfix receive time to the microsecond; the
delivery time is that plus the `delay=` of the local(8) log line (two
significant digits), kept inside the one-second stamp of that line.
Standard library only: the checks must run on a bare Debian.
"""

import argparse
import calendar
import collections
import csv
import datetime
import email.utils
import json
import os
import re
import sys
import time

B52 = "0123456789BCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz"

LOCAL_RE = re.compile(
    r"^(\w{3} +\d+ \d\d:\d\d:\d\d)\S* \S+ postfix/local\[\d+\]: "
    r"([0-9A-Za-z]+): to=<([^>]*)>, (?:orig_to=<[^>]*>, )?relay=local, "
    r"delay=([\d.]+), .*?dsn=([\d.]+), status=(\w+)"
)
TROUBLE_RE = re.compile(
    r"dsn=4\.2\.0|unable to lock|File exists|status=deferred|"
    r"status=bounced|status=expired"
)


def out(line):
    print(line, flush=True)


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, what, good, why=""):
        if good:
            self.passed += 1
            out(f"ok   {what}")
        else:
            self.failed += 1
            out(f"FAIL {what}: {why}" if why else f"FAIL {what}")


def qid_us(qid):
    """The receive time a Postfix long queue ID encodes, or None."""
    if len(qid) < 11 or qid[10] != "z":
        return None
    n_sec = n_usec = 0
    try:
        for c in qid[:6]:
            n_sec = n_sec * 52 + B52.index(c)
        for c in qid[6:10]:
            n_usec = n_usec * 52 + B52.index(c)
    except ValueError:
        return None
    return n_sec * 1_000_000 + n_usec


def rfc3339_us(text):
    m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,6}))?Z$", text)
    if not m:
        raise ValueError(f"not RFC 3339 UTC: {text!r}")
    base = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")
    frac = int((m.group(2) or "0").ljust(6, "0"))
    return calendar.timegm(base.timetuple()) * 1_000_000 + frac


def iso(us):
    if us is None:
        return "-"
    d = datetime.datetime.fromtimestamp(us / 1e6, datetime.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def pct(values, p):
    """The p-th percentile (nearest rank) of values, or None."""
    if not values:
        return None
    v = sorted(values)
    k = max(0, min(len(v) - 1, -(-len(v) * p // 100) - 1))
    return v[int(k)]


def secs(us):
    return None if us is None else round(us / 1e6, 3)


def spread(values_us):
    return {
        "n": len(values_us),
        "p50_s": secs(pct(values_us, 50)),
        "p99_s": secs(pct(values_us, 99)),
        "max_s": secs(max(values_us)) if values_us else None,
    }


# ------------------------------------------------------------ the inputs


def read_maillog(path, rcpt, year):
    """Local deliveries to rcpt: {qid: [delivered_us, ...]} for
    status=sent, and every line that tells of a deferral or bounce."""
    sent = collections.defaultdict(list)
    trouble = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if TROUBLE_RE.search(line):
                trouble.append(line.rstrip("\n"))
            m = LOCAL_RE.match(line)
            if not m or m.group(3).lower() != rcpt.lower():
                continue
            if m.group(6) != "sent":
                continue
            stamp, qid, delay = m.group(1), m.group(2), float(m.group(4))
            logged = time.mktime(
                time.strptime(f"{year} {stamp}", "%Y %b %d %H:%M:%S")
            )
            logged_us = int(logged) * 1_000_000
            at = qid_us(qid)
            at = logged_us if at is None else at + int(delay * 1e6)
            # delay= has two significant digits; the log line's own
            # second bounds the truth.
            at = min(max(at, logged_us), logged_us + 999_999)
            sent[qid].append((at, int(delay * 1e6)))
    return sent, trouble


def read_journal(path):
    events = collections.defaultdict(list)
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.endswith("\n"):
                break
            e = json.loads(line)
            e["t_us"] = rfc3339_us(e["t"])
            events[e["ev"]].append(e)
    return events


def unfolded_headers(raw):
    """(name, value) of the header block of raw bytes, unfolded."""
    head = re.split(rb"\r?\n\r?\n", raw, maxsplit=1)[0]
    fields = []
    for line in re.split(rb"\r?\n", head):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1][1] += b" " + line.strip()
        elif b":" in line:
            name, value = line.split(b":", 1)
            fields.append([name.strip(), value.strip()])
    return [
        (n.decode("ascii", "replace").lower(), v.decode("utf-8", "replace"))
        for n, v in fields
    ]


def trusted_received(raw, trusted):
    """(queue ID, date in Unix seconds) of the topmost Received header a
    trusted host added, or None."""
    for name, value in unfolded_headers(raw):
        if name != "received":
            continue
        by = re.search(r"\bby\s+([^\s;()]+)", value, re.I)
        if not by or by.group(1).lower() not in trusted:
            continue
        head, _, date = value.rpartition(";")
        m = re.search(r"\bid\s+([0-9A-Za-z]+)", head)
        when = email.utils.parsedate_tz(date.strip())
        return (
            m.group(1) if m else None,
            email.utils.mktime_tz(when) if when else None,
        )
    return None


def expected_arrival(qid, date_s):
    """The arrival the spool contract gives: the Received date's second,
    plus the queue ID's microseconds when the queue file was made in that
    second; at the end of the second when it was made later (the date is
    MAIL FROM's, the queue file comes at the first RCPT); whole seconds
    otherwise."""
    q = qid_us(qid) if qid else None
    if q is None:
        return date_s * 1_000_000
    if q // 1_000_000 == date_s:
        return q
    if q // 1_000_000 > date_s:
        return date_s * 1_000_000 + 999_999
    return date_s * 1_000_000


def read_sink(msgs_dir):
    """Captured messages: list of {message_id, in_reply_to, rcpt}."""
    found = []
    if not os.path.isdir(msgs_dir):
        return found
    for name in sorted(os.listdir(msgs_dir)):
        with open(os.path.join(msgs_dir, name), "rb") as f:
            raw = f.read(65536)
        h = dict()
        for n, v in unfolded_headers(raw):
            h.setdefault(n, v)
        found.append(
            {
                "file": name,
                "message_id": h.get("message-id", ""),
                "in_reply_to": h.get("in-reply-to", ""),
                "rcpt": h.get("x-rcpt-args", ""),
            }
        )
    return found


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(l) for l in f if l.strip()]


# ------------------------------------------------------------ the checks


def check(args):
    w = args.work
    c = Checks()
    fig = {"run": args.name, "rcpt": args.rcpt}
    trusted = {h.lower() for h in args.trusted}
    spool = os.path.join(w, "spool")

    smtp = read_jsonl(os.path.join(w, "smtp.log"))
    accepted = [l for l in smtp if l.get("accepted_at")]
    acc_us = sorted(rfc3339_us(l["accepted_at"]) for l in accepted)
    fig["accepted"] = len(accepted)
    fig["smtp_first_accept"] = iso(acc_us[0] if acc_us else None)
    fig["smtp_last_accept"] = iso(acc_us[-1] if acc_us else None)
    if len(acc_us) > 1:
        span = (acc_us[-1] - acc_us[0]) / 1e6
        fig["accept_s"] = round(span, 3)
        fig["accept_rate"] = round(len(acc_us) / max(span, 1e-6))
        fig["accepted_first_10s"] = sum(
            1 for a in acc_us if a - acc_us[0] < 10_000_000
        )

    year = time.gmtime(acc_us[0] / 1e6).tm_year if acc_us else 2000
    sent, trouble = read_maillog(os.path.join(w, "pf/log/maillog"),
                                 args.rcpt, year)
    twice = [q for q, v in sent.items() if len(v) > 1]
    c.check(
        f"Postfix delivered every accepted message to {args.rcpt} once"
        f" ({len(sent)} status=sent)",
        len(sent) == len(accepted) and not twice,
        f"{len(sent)} delivered for {len(accepted)} accepted,"
        f" {len(twice)} delivered twice",
    )
    c.check(
        "maillog: no deferral or bounce (4.2.0, 'unable to lock',"
        " 'File exists')",
        not trouble,
        f"{len(trouble)} lines, first: {trouble[0] if trouble else ''}",
    )
    fig["maillog_trouble"] = len(trouble)

    ev = read_journal(os.path.join(spool, "journal"))
    parsed = {e["ticket"]: e for e in ev["parsed"]}
    kinds = collections.Counter(e["kind"] for e in parsed.values())
    fig["kinds"] = dict(kinds)
    fig["tickets"] = len(parsed)
    requests = sorted(t for t, e in parsed.items() if e["kind"] == "request")

    # Every delivered message in the spool once, by queue ID.
    qid_of = {}
    want_arrival = {}
    no_qid = []
    for t in parsed:
        with open(os.path.join(spool, "raw", f"T{t:012d}.eml"), "rb") as f:
            raw = f.read(262144)
        found = trusted_received(raw, trusted)
        if found is None or found[0] is None or found[1] is None:
            no_qid.append(t)
            continue
        qid_of[t] = found[0]
        want_arrival[t] = expected_arrival(*found)
    by_qid = collections.defaultdict(list)
    for t, q in qid_of.items():
        by_qid[q].append(t)
    missing = [q for q in sent if q not in by_qid]
    extra = [q for q in by_qid if q not in sent]
    dup = {q: ts for q, ts in by_qid.items() if len(ts) > 1}
    c.check(
        f"every delivered message is in the spool exactly once"
        f" ({len(parsed)} tickets)",
        not missing and not extra and not dup and not no_qid,
        f"{len(missing)} missing (e.g. {missing[:3]}), {len(extra)} not"
        f" delivered, {len(dup)} twice (e.g. {list(dup.items())[:2]}),"
        f" {len(no_qid)} without a trusted Received",
    )

    # Arrival = Received time; queue = (arrival, rotation, position).
    wrong = [
        t for t, a in want_arrival.items() if a != parsed[t]["arrival_us"]
    ]
    ends = sum(1 for a in want_arrival.values() if a % 1_000_000 == 999_999)
    c.check(
        "every arrival is the trusted Received time, microseconds from"
        " the queue ID",
        not wrong,
        f"{len(wrong)} differ, e.g. ticket {wrong[:1]}",
    )
    fig["arrival_end_of_second"] = ends
    out(f"# {ends} messages whose queue file was made in the second after"
        " MAIL FROM: placed at the end of the Received second")
    key = {
        t: (e["arrival_us"], e["rotation"], e["position"])
        for t, e in parsed.items()
    }
    queue = sorted(parsed, key=lambda t: key[t])
    published = []
    with open(os.path.join(w, "requests.csv"), newline="",
              encoding="utf-8") as f:
        for row in csv.DictReader(f):
            published.append(int(row["ticket"]))
    first_diff = next(
        (i for i, (a, b) in enumerate(zip(published, queue)) if a != b),
        None,
    )
    c.check(
        "suzanne-stats requests publishes the queue in (Received time,"
        " rotation, position) order",
        published == queue,
        f"{len(published)} rows for {len(queue)} tickets; first"
        f" difference at row {first_diff}",
    )

    # The mailbox order (rotation, then position) against arrival.
    mailbox = sorted(parsed, key=lambda t: (key[t][1], key[t][2]))
    inversions = sum(
        1 for a, b in zip(mailbox, mailbox[1:]) if key[a][0] > key[b][0]
    )
    crossed = 0
    seen_max = collections.defaultdict(int)
    max_before = 0
    for rot in sorted({k[1] for k in key.values()}):
        in_rot = [t for t in mailbox if key[t][1] == rot]
        crossed += sum(1 for t in in_rot if key[t][0] < max_before)
        seen_max[rot] = max(key[t][0] for t in in_rot)
        max_before = max(max_before, seen_max[rot])
    moved = sum(1 for a, b in zip(mailbox, queue) if a != b)
    fig["mailbox_vs_arrival"] = {
        "adjacent_inversions": inversions,
        "tickets_in_another_place": moved,
        "earlier_than_a_previous_rotation": crossed,
    }
    out(
        f"# mailbox order vs arrival order: {inversions} adjacent"
        f" inversions, {moved} of {len(queue)} tickets in another place,"
        f" {crossed} arrived before a message of an earlier rotation"
    )

    # Rotations while mail arrived.
    deliveries = sorted(v[0][0] for v in sent.values())
    rotated = ev["rotated"]
    during = [
        e for e in rotated
        if deliveries and deliveries[0] <= e["t_us"] <= deliveries[-1]
    ]
    fig["rotations"] = len(rotated)
    fig["rotations_during_delivery"] = len(during)
    c.check(
        "the mailbox was rotated while Postfix delivered (3 times or"
        " more)",
        len(during) >= 3,
        f"{len(during)} rotations during delivery",
    )

    check_acks(c, fig, args, ev, parsed)
    check_completions(c, fig, args, ev, parsed, requests, key)
    figures(fig, args, ev, parsed, sent, qid_of, acc_us)

    with open(os.path.join(w, "figures.json"), "w") as f:
        json.dump(fig, f, indent=1, sort_keys=True)
    out(f"# figures: {os.path.join(w, 'figures.json')}")
    return 0


def check_acks(c, fig, args, ev, parsed):
    sink = read_sink(args.sink_msgs)
    by_mid = collections.Counter(m["message_id"] for m in sink)
    twice = [m for m, n in by_mid.items() if n > 1]
    c.check(
        f"smtp-sink: no acknowledgement captured twice ({len(sink)}"
        " captured)",
        not twice,
        f"{len(twice)} Message-IDs twice, e.g. {twice[:2]}",
    )
    captured = collections.Counter()
    stray = []
    reply_wrong = []
    for m in sink:
        mt = re.match(r"<ack-T(\d+)@", m["message_id"])
        if not mt or int(mt.group(1)) not in parsed:
            stray.append(m["file"])
            continue
        t = int(mt.group(1))
        captured[t] += 1
        want = parsed[t].get("message_id") or ""
        if want and m["in_reply_to"] != want:
            reply_wrong.append(t)
    sent = collections.Counter(
        e["ticket"] for e in ev["ack"] if e["status"] == "sent"
    )
    final = {
        e["ticket"] for e in ev["ack"]
        if e["status"] in ("sent", "skipped", "failed")
    }
    requests = [t for t, e in parsed.items() if e["kind"] == "request"]
    not_once = [t for t in requests if captured[t] != 1 or sent[t] != 1]
    c.check(
        f"every request acknowledged exactly once at smtp-sink"
        f" ({len(requests)} requests)",
        not not_once,
        f"{len(not_once)} not once, e.g. "
        + ", ".join(
            f"T{t}: captured {captured[t]}, journal sent {sent[t]}"
            for t in not_once[:3]
        ),
    )
    silent = [t for t, e in parsed.items()
              if e["kind"] in ("auto", "malformed") and captured[t]]
    dups = [t for t, e in parsed.items() if e["kind"] == "duplicate"]
    dup_wrong = [t for t in dups if captured[t] != sent[t] or sent[t] > 1]
    c.check(
        "auto-replies and malformed mail got nothing; each duplicate at"
        " most one note",
        not silent and not dup_wrong and not stray,
        f"{len(silent)} answered, {len(dup_wrong)} duplicates wrong,"
        f" {len(stray)} captured messages not ours",
    )
    c.check(
        "every acknowledgement's In-Reply-To is its request's Message-ID",
        not reply_wrong,
        f"{len(reply_wrong)} wrong, e.g. {reply_wrong[:3]}",
    )
    c.check(
        "journal: every message has its final acknowledgement outcome,"
        " 'sent' at most once",
        len(final) == len(parsed) and max(sent.values(), default=0) <= 1,
        f"{len(parsed) - len(final)} without an outcome",
    )
    fig["acks_captured"] = len(sink)
    fig["acks_sent"] = sum(sent.values())


def check_completions(c, fig, args, ev, parsed, requests, key):
    lines = []
    for path in args.registry:
        if os.path.exists(path):
            lines.extend(read_jsonl(path))
    done = collections.Counter(int(l["id"]) for l in lines)
    outcome = {int(l["id"]): l["outcome"] for l in lines}
    not_once = [t for t in requests if done[t] != 1]
    others = [t for t in done if t not in parsed
              or parsed[t]["kind"] != "request"]
    c.check(
        f"every request completed exactly once by the registry"
        f" ({len(lines)} decisions)",
        not not_once and not others,
        f"{len(not_once)} not once (e.g. "
        + ", ".join(f"T{t}: {done[t]}" for t in not_once[:3])
        + f"), {len(others)} not requests",
    )
    journal = collections.Counter(e["ticket"] for e in ev["complete"])
    j_wrong = [t for t in requests if journal[t] != 1]
    j_other = [t for t in journal if parsed.get(t, {}).get("kind")
               != "request"]
    c.check(
        "journal: one 'complete' per request, none for anything else",
        not j_wrong and not j_other,
        f"{len(j_wrong)} requests not once, {len(j_other)} others",
    )

    # First come, first served over the published queue, by A-label:
    # what the registry would have decided had it seen every request in
    # arrival order.
    taken = set()
    late = []
    for t in sorted(requests, key=lambda t: key[t]):
        names = {d.lower() for d in parsed[t].get("domains", [])}
        want = "rejected" if names & taken else "accepted"
        if want == "accepted":
            taken |= names
        if t in outcome and outcome[t] != want:
            late.append(t)
    contested = collections.Counter(
        d.lower() for t in requests for d in set(parsed[t].get("domains", []))
    )
    fig["contested_names"] = sum(1 for n in contested.values() if n > 1)
    fig["registry_out_of_order"] = len(late)
    c.check(
        f"every contested name went to its first claimant in arrival"
        f" order ({fig['contested_names']} contested names)",
        not late,
        f"{len(late)} decisions differ from first come, first served"
        f" in arrival order, e.g. tickets {late[:5]}",
    )


def figures(fig, args, ev, parsed, sent, qid_of, acc_us):
    delivered = {q: v[0][0] for q, v in sent.items()}
    fig["postfix_delay"] = spread([v[0][1] for v in sent.values()])
    parsed_t = {t: e["t_us"] for t, e in parsed.items()}
    lag = []
    per_second = collections.defaultdict(list)
    for t, q in qid_of.items():
        if q in delivered:
            d = delivered[q]
            lag.append(parsed_t[t] - d)
            per_second[d // 1_000_000].append(parsed_t[t] - d)
    fig["lag_delivery_to_parse"] = spread(lag)
    if per_second:
        peak = max(per_second, key=lambda s: (len(per_second[s]), -s))
        fig["peak_second"] = iso(peak * 1_000_000)
        fig["peak_deliveries"] = len(per_second[peak])
        fig["lag_at_peak"] = spread(per_second[peak])
    received = [qid_us(q) for q in qid_of.values() if qid_us(q)]
    deliveries = sorted(delivered.values())
    completes = [e["t_us"] for e in ev["complete"]]
    acks = {e["ticket"]: e["t_us"] for e in ev["ack"]
            if e["status"] == "sent"}
    complete_t = {}
    for e in ev["complete"]:
        complete_t.setdefault(e["ticket"], e["t_us"])
    first = min(received) if received else None
    fig["first_received"] = iso(first)
    fig["last_delivered"] = iso(deliveries[-1] if deliveries else None)
    fig["last_parsed"] = iso(max(parsed_t.values(), default=None))
    fig["last_ack"] = iso(max(acks.values(), default=None))
    fig["last_complete"] = iso(max(completes, default=None))
    if first and completes:
        fig["first_received_to_last_complete_s"] = secs(max(completes) - first)
    if args.t0_us and completes:
        fig["loadgen_start_to_last_complete_s"] = secs(
            max(completes) - args.t0_us
        )
    if first and deliveries:
        fig["first_received_to_last_delivered_s"] = secs(
            deliveries[-1] - first
        )
    fig["lag_parse_to_ack"] = spread(
        [acks[t] - parsed_t[t] for t in acks if t in parsed_t]
    )
    fig["lag_parse_to_complete"] = spread(
        [complete_t[t] - parsed_t[t] for t in complete_t if t in parsed_t]
    )
    holds = []
    if args.rotate_log and os.path.exists(args.rotate_log):
        with open(args.rotate_log, encoding="utf-8", errors="replace") as f:
            for line in f:
                m = re.search(r"\bhold_us=(\d+)", line)
                if m:
                    holds.append(int(m.group(1)))
    fig["rotate_hold_us"] = {
        "n": len(holds),
        "p50": pct(holds, 50),
        "p99": pct(holds, 99),
        "max": max(holds) if holds else None,
    }
    for name in ("lag_delivery_to_parse", "lag_at_peak"):
        if name in fig:
            s = fig[name]
            out(f"# {name}: n={s['n']} p50={s['p50_s']} s"
                f" p99={s['p99_s']} s max={s['max_s']} s")
    h = fig["rotate_hold_us"]
    out(f"# rotate lock hold: n={h['n']} p50={h['p50']} us"
        f" p99={h['p99']} us max={h['max']} us")
    out(f"# first received {fig['first_received']}, last complete"
        f" {fig['last_complete']}:"
        f" {fig.get('first_received_to_last_complete_s')} s")


# ------------------------------------------------------------ the report


def report(args):
    runs = []
    for path in args.figures:
        with open(path) as f:
            runs.append(json.load(f))
    w = sys.stdout.write
    w("# End-to-end landrush through a real Postfix: results\n\n")
    w(f"Run on {args.date} ({args.machine}) with:\n\n")
    w(f"    {args.command}\n\n")
    w("Each run: a private Postfix (`scripts/postfix-up`), smtp-sink for"
      " the acknowledgements, `suzanne-loadgen smtp` sending the landrush"
      " over several connections, and every job of `cron/crontab` run on"
      f" its schedule with a cron minute of {args.tick} s, as the"
      " crontab's user with its environment, while"
      " `scripts/suzanne-registry.pl` drained the queue through"
      " suzanne-soapd. Release binaries.\n\n")
    if args.checks:
        with open(args.checks, encoding="utf-8") as f:
            lines = [l.rstrip("\n") for l in f if l.strip()]
        failed = [l for l in lines if l.startswith("FAIL ")]
        w(f"Checks: {len(lines) - len(failed)} passed, {len(failed)}"
          " failed.\n\n")
        for l in failed:
            w(f"- {l}\n")
        w("\n")
    rows = [
        ("messages accepted by Postfix", lambda r: r.get("accepted")),
        ("kinds in the spool", lambda r: ", ".join(
            f"{k} {v}" for k, v in sorted(r.get("kinds", {}).items()))),
        ("accepted in the first 10 s", lambda r: r.get("accepted_first_10s")),
        ("SMTP accept span, rate",
         lambda r: f"{r.get('accept_s')} s, {r.get('accept_rate')} msg/s"),
        ("first received (queue ID)", lambda r: r.get("first_received")),
        ("last delivered by Postfix", lambda r: r.get("last_delivered")),
        ("last parsed", lambda r: r.get("last_parsed")),
        ("last acknowledged", lambda r: r.get("last_ack")),
        ("last completed", lambda r: r.get("last_complete")),
        ("**first received to last completion**",
         lambda r: f"**{r.get('first_received_to_last_complete_s')} s**"),
        ("loadgen start to last completion",
         lambda r: f"{r.get('loadgen_start_to_last_complete_s')} s"),
        ("first received to last delivery",
         lambda r: f"{r.get('first_received_to_last_delivered_s')} s"),
        ("Postfix receive to delivery (`delay=`), p50 / p99 / max",
         lambda r: trio(r.get("postfix_delay"))),
        ("rotations (during delivery)", lambda r: (
            f"{r.get('rotations')} ({r.get('rotations_during_delivery')})")),
        ("**rotate lock hold, max / p99 / p50**", hold),
        ("delivery to parse lag, p50 / p99 / max", lambda r: trio(
            r.get("lag_delivery_to_parse"))),
        ("peak second of delivery (deliveries)", lambda r: (
            f"{r.get('peak_second')} ({r.get('peak_deliveries')})")),
        ("**delivery to parse lag at the peak, p50 / p99 / max**",
         lambda r: trio(r.get("lag_at_peak"))),
        ("parse to acknowledgement, p50 / p99 / max",
         lambda r: trio(r.get("lag_parse_to_ack"))),
        ("parse to completion, p50 / p99 / max",
         lambda r: trio(r.get("lag_parse_to_complete"))),
        ("mailbox order vs arrival: adjacent inversions / tickets in"
         " another place / received before a message of an earlier"
         " rotation", lambda r: " / ".join(
             str(r.get("mailbox_vs_arrival", {}).get(k)) for k in (
                 "adjacent_inversions", "tickets_in_another_place",
                 "earlier_than_a_previous_rotation"))),
        ("contested names; registry decisions out of arrival order",
         lambda r: f"{r.get('contested_names')}; "
                   f"{r.get('registry_out_of_order')}"),
        ("maillog deferrals (4.2.0, lock)", lambda r: r.get("maillog_trouble")),
    ]
    w("| | " + " | ".join(r["run"] for r in runs) + " |\n")
    w("|---|" + "---|" * len(runs) + "\n")
    for label, get in rows:
        w(f"| {label} | " + " | ".join(str(get(r)) for r in runs) + " |\n")
    w("\nDelivery time: the queue ID's receive time plus local(8)'s"
      " `delay=` (two significant digits), kept within the log line's"
      " second. Parse time: the journal `parsed` line's `t`. Lock hold:"
      " `hold_us=` of `suzanne-rotate -v` (the test's PATH runs"
      " suzanne-rotate with -v added, its stderr to a log); a Maildir"
      " takes no lock, so a Maildir run has none.\n")
    return 0


def hold(r):
    h = r.get("rotate_hold_us") or {}
    if not h.get("n"):
        return "no mbox rotation"
    return f"{h['max']} / {h['p99']} / {h['p50']} µs ({h['n']} rotations)"


def trio(s):
    if not s or not s.get("n"):
        return "-"
    return f"{s['p50_s']} / {s['p99_s']} / {s['max_s']} s"


def main():
    p = argparse.ArgumentParser(prog="analyse.py")
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check")
    c.add_argument("--work", required=True)
    c.add_argument("--name", default="run")
    c.add_argument("--rcpt", required=True)
    c.add_argument("--trusted", action="append", required=True)
    c.add_argument("--sink-msgs", required=True)
    c.add_argument("--registry", action="append", default=[])
    c.add_argument("--rotate-log")
    c.add_argument("--t0-us", type=int, default=0)
    r = sub.add_parser("report")
    r.add_argument("--command", required=True)
    r.add_argument("--date", required=True)
    r.add_argument("--machine", default="")
    r.add_argument("--tick", default="2")
    r.add_argument("--checks", help="the ok/FAIL lines of the run")
    r.add_argument("figures", nargs="+")
    args = p.parse_args()
    return check(args) if args.cmd == "check" else report(args)


if __name__ == "__main__":
    sys.exit(main())
