#!/usr/bin/env bash
# landrush.sh - a landrush over SMTP, through a real Postfix, under cron
#
# The whole chain as production runs it. A private Postfix
# (scripts/postfix-up) receives a generated landrush from
# `suzanne-loadgen smtp` over several connections, most of it in the first
# seconds, and delivers it with local(8) - to the mbox in one run, to the
# Maildir in the other. Meanwhile every job of cron/crontab runs on its
# schedule, a cron minute lasting E2E_TICK seconds: as the crontab's user,
# through its SHELL, with its environment and the release binaries first
# in PATH. So the keep-alive line starts suzanne-soapd and then starts it
# again each minute, the burst line rotates and parses, the ack line
# acknowledges, the stats line reports; scripts/suzanne-registry.pl
# drains the queue over SOAP all along. The command lines are read from
# cron/crontab, production paths mapped into the test directory: a changed
# crontab is what gets tested. Two liberties, both said in the results:
# suzanne-rotate is run with -v (its lock hold times; its report goes to
# a log, not to cron), and Postfix treats the loopback sender as the
# remote client a registrar is (local_header_rewrite_clients empty).
#
# When Postfix's queue is empty and every message is parsed, acknowledged
# and (for requests) completed, the run checks that nothing was lost,
# duplicated or reordered: `suzanne-loadgen verify --order received`;
# every status=sent of the maillog in the spool once, by queue ID; arrival
# = the Received time, and the published queue in arrival-key order (the
# mailbox order is shown to differ, or said not to); one acknowledgement
# per request at smtp-sink; one completion per request; `suzanne-stats
# reconcile` clean; no delivery deferred by a held lock; contested names
# decided first come, first served in arrival order. The figures (time to
# the last completion, rotate lock hold, delivery-to-parse lag at the
# peak) go to BASE/RESULTS.md, and to E2E_RESULTS when set.
#
# Root only (Postfix, runuser): without root it prints "skipped: needs
# root" and exits 0, unless SUZANNE_REQUIRE_REALPARTS=1. Installs postfix
# and libsoap-lite-perl when missing (python3 must be there). Every wait
# is bounded; everything started is stopped on exit, by pid.
#
# Environment:
#   E2E_COUNT=12000        messages per run
#   E2E_CONNECTIONS=8      SMTP connections of the sender
#   E2E_RUNS="mbox maildir"
#   E2E_TICK=2             seconds between two cron rounds
#   E2E_DEADLINE=900       seconds a run may take, sending to the end
#   E2E_BUILD=1            cargo build --release --workspace first (0: use
#                          target/release as it is)
#   E2E_RESULTS=FILE       also write the results there (Markdown)
#   E2E_KEEP=1             keep the temporary directory even on success
#
# Last line: "N passed, M failed"; exit 0 only when nothing failed.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
S=$ROOT/scripts
HERE=$ROOT/tests/e2e
# shellcheck source=../../scripts/lib/realparts.sh
. "$S/lib/realparts.sh"
PATH=$PATH:${HOME:-/root}/.cargo/bin
REL=${CARGO_TARGET_DIR:-$ROOT/target}/release
CRONTAB=$ROOT/cron/crontab
BURST_LOCK=/run/lock/suzanne-cron-burst.lock

COUNT=${E2E_COUNT:-12000}
CONNECTIONS=${E2E_CONNECTIONS:-8}
RUNS=${E2E_RUNS:-mbox maildir}
TICK=${E2E_TICK:-2}
DEADLINE=${E2E_DEADLINE:-900}

PASS=0
FAIL=0
BASE=
PF_DIRS=()
SINK_DIRS=()
FIGURES=()
BURST_LOCK_OURS=no
# The current run's processes, stopped by its end or by cleanup.
SOAPD_PID=
LOOP_PID=
REG_PID=
W=

# Every verdict is also kept in BASE/checks for the results.
ok() {
	PASS=$((PASS + 1))
	echo "ok   $*"
	[ -z "$BASE" ] || echo "ok   $*" >>"$BASE/checks"
}

bad() {
	FAIL=$((FAIL + 1))
	echo "FAIL $*"
	[ -z "$BASE" ] || echo "FAIL $*" >>"$BASE/checks"
}

# check WHAT COMMAND...: one test; its status is the command's.
check() {
	local what=$1
	shift
	if "$@"; then
		ok "$what"
		return 0
	fi
	bad "$what"
	return 1
}

note() { echo "# $*"; }

have() { command -v "$1" >/dev/null; }

finish() {
	echo "$PASS passed, $FAIL failed"
	[ "$FAIL" -eq 0 ]
}

now_us() {
	local t=${EPOCHREALTIME/[.,]/}
	echo "$t"
}

# ------------------------------------------------------------- the crontab

# crontab_jobs: every active job of the crontab, one a line:
# "NAME<TAB>EVERY<TAB>USER<TAB>COMMAND", NAME the program, EVERY its
# period in cron minutes ("*" 1, "*/N" N; other schedules are refused).
crontab_jobs() {
	awk '
	    /^[ \t]*#/ || /^[ \t]*$/ || /^[A-Za-z_][A-Za-z0-9_]*=/ { next }
	    {
	        every = $1 == "*" ? 1 : ($1 ~ /^\*\/[0-9]+$/ ? substr($1, 3) : 0)
	        if ($2 != "*" || $3 != "*" || $4 != "*" || $5 != "*") every = 0
	        cmd = $0
	        for (i = 0; i < 6; i++) sub(/^[ \t]*[^ \t]+/, "", cmd)
	        sub(/^[ \t]+/, "", cmd)
	        print $7 "\t" every "\t" $6 "\t" cmd
	    }' "$CRONTAB"
}

# crontab_env: the crontab's NAME=value lines but MAILTO.
crontab_env() {
	grep -E '^[A-Za-z_][A-Za-z0-9_]*=' "$CRONTAB" | grep -v '^MAILTO=' || true
}

# mapped TEXT: the crontab's text with the production paths replaced by
# the run's own.
mapped() {
	local c=$1
	c=${c//\/etc\/suzanne\/suzanne.toml/$W/suzanne.toml}
	c=${c//\/var\/log\/suzanne/$W/log}
	c=${c//\/var\/lib\/suzanne\/reports/$W/reports}
	c=${c//\/var\/spool\/suzanne/$W/spool}
	printf '%s\n' "$c"
}

job_name() { printf '%s\n' "${1%%$'\t'*}"; }
job_every() { local j=${1#*$'\t'}; printf '%s\n' "${j%%$'\t'*}"; }
job_user() { local j=${1#*$'\t'*$'\t'}; printf '%s\n' "${j%%$'\t'*}"; }
job_cmd() { printf '%s\n' "${1#*$'\t'*$'\t'*$'\t'}"; }

# A background job (the soapd keep-alive) ends with "&".
job_background() {
	local c
	c=$(job_cmd "$1")
	c=${c%"${c##*[! ]}"}
	[ "${c: -1}" = '&' ]
}

# read_crontab: every job, checked: a schedule the loop can follow, the
# programs the chain needs, production paths all mapped.
read_crontab() {
	local job name
	mapfile -t JOBS < <(crontab_jobs)
	for job in "${JOBS[@]}"; do
		name=$(job_name "$job")
		note "crontab: every $(job_every "$job") min as $(job_user "$job"):" \
			"$(job_cmd "$job")"
		if [ "$(job_every "$job")" = 0 ]; then
			bad "cron/crontab: $name runs every minute or every N minutes"
			return 1
		fi
		case $name in
		suzanne-cron-burst) BURST_JOB=$job ;;
		suzanne-soapd) SOAPD_JOB=$job ;;
		esac
	done
	for name in suzanne-cron-burst suzanne-ack suzanne-soapd; do
		printf '%s\n' "${JOBS[@]}" | grep -q "^$name"$'\t' || {
			bad "cron/crontab has an active $name job"
			return 1
		}
	done
	job_background "$SOAPD_JOB" || {
		bad "cron/crontab: the soapd keep-alive line ends with '&'"
		return 1
	}
	JOBS_USER=$(job_user "$BURST_JOB")
}

# cron_env: the environment cron gives a job: the crontab's variables,
# our programs first in PATH, HOME and LOGNAME of the user.
cron_env() {
	local line
	printf '%s\n' "HOME=/nonexistent" "LOGNAME=$1" "USER=$1"
	while IFS= read -r line; do
		case $line in
		PATH=*) line="PATH=$W/bin:${line#PATH=}" ;;
		esac
		mapped "$line"
	done < <(crontab_env)
}

# cron_run JOB [SUFFIX]: run a crontab job as cron does - as its user,
# through the crontab's SHELL, with the crontab's environment - the run's
# paths mapped in. SUFFIX is shell text appended to the command (to learn
# a background job's pid).
cron_run() {
	local user cmd shell
	local -a env
	user=$(job_user "$1")
	cmd="$(mapped "$(job_cmd "$1")")${2:-}"
	mapfile -t env < <(cron_env "$user")
	shell=$(sed -n 's/^SHELL=//p' "$CRONTAB" | tail -n 1)
	runuser -u "$user" -- env -i "${env[@]}" "${shell:-/bin/sh}" -c "$cmd"
}

# cron_job JOB: one start by cron; its exit code to log/cron.log and
# whatever it printed - what cron would mail - to log/cron-mail.log. A
# background job's pid goes to log/soapd.pids instead.
cron_job() {
	local rc=0 said name
	name=$(job_name "$1")
	name=${name#suzanne-}
	if job_background "$1"; then
		said=$(cron_run "$1" ' echo $!' 2>&1) || rc=$?
		record_pid "$said"
	else
		said=$(cron_run "$1" 2>&1) || rc=$?
		if [ -n "$said" ]; then
			printf '%s\n' "$said" | sed "s/^/$name: /" \
				>>"$W/log/cron-mail.log"
		fi
	fi
	printf '%s %s rc=%d\n' "$(date +%T.%N)" "$name" "$rc" \
		>>"$W/log/cron.log"
	return 0
}

# cron_loop: every job of the crontab, a cron minute being TICK seconds,
# started whether or not the previous start ended (as cron does), until
# told to stop or the deadline passes. Minute 0 (the first soapd) was
# started before.
cron_loop() {
	local minute=1 end=$((SECONDS + DEADLINE)) job
	while [ ! -e "$W/stop" ] && [ "$SECONDS" -lt "$end" ]; do
		for job in "${JOBS[@]}"; do
			if [ $((minute % $(job_every "$job"))) -eq 0 ]; then
				cron_job "$job" &
			fi
		done
		minute=$((minute + 1))
		sleep "$TICK"
	done
	wait
}

# ------------------------------------------------------------- set-up

prepare() {
	check "python3 is installed" have python3 || return 1
	rp_apt_ensure postfix libsoap-lite-perl procps iproute2
	if [ "${E2E_BUILD:-1}" = 1 ]; then
		check "cargo build --release --workspace" \
			cargo build -q --release --workspace \
			--manifest-path "$ROOT/Cargo.toml" || return 1
	fi
	local p
	for p in rotate parse ack soapd stats loadgen; do
		[ -x "$REL/suzanne-$p" ] || {
			bad "release binary '$REL/suzanne-$p' exists"
			return 1
		}
	done
	read_crontab || return 1
	[ -e "$BURST_LOCK" ] || BURST_LOCK_OURS=yes
}

# make_bin: the programs first in the jobs' PATH. suzanne-rotate gets -v,
# its report appended to log/rotate.log: cron's line has no -v, and the
# lock hold times are printed only with it.
make_bin() {
	local p
	mkdir -p "$W/bin"
	for p in parse ack soapd stats loadgen; do
		ln -sf "$REL/suzanne-$p" "$W/bin/suzanne-$p"
	done
	ln -sf "$S/suzanne-cron-burst" "$W/bin/suzanne-cron-burst"
	cat >"$W/bin/suzanne-rotate" <<EOF
#!/bin/sh
exec '$REL/suzanne-rotate' -v "\$@" 2>>'$W/log/rotate.log'
EOF
	chmod 755 "$W/bin/suzanne-rotate"
}

write_config() {
	cat >"$W/suzanne.toml" <<EOF
spool = "$W/spool"

[mailbox]
mbox = "$SUZ_MBOX"
maildir = "$SUZ_MAILDIR"

[arrival]
trusted_hosts = ["$SUZ_TRUSTED_HOST"]

[ack]
relay = "127.0.0.1"
port = $SUZ_SINK_PORT
from = "Registre landrush <accuse@nic.landrush.example>"
hostname = "suzanne.landrush.example"
templates = "$ROOT/templates"

[soap]
port = $SOAP_PORT
EOF
	chmod 644 "$W/suzanne.toml"
}

# real_parts: Postfix, smtp-sink, and the directories the jobs' user owns.
# Postfix is told to treat the loopback sender as the remote client a
# registrar is: by default it completes the headers of mail from its own
# interfaces (local_header_rewrite_clients), and a Message-ID it invents
# for a request that had none is not what the registrar sent.
real_parts() {
	local env
	local postconf="${SUZ_PF_POSTCONF:-} local_header_rewrite_clients="
	PF_DIRS+=("$W/pf")
	env=$(SUZ_PF_POSTCONF=$postconf "$S/postfix-up" "$W/pf" 0) || {
		bad "postfix-up '$W/pf'"
		return 1
	}
	eval "$env"
	SINK_DIRS+=("$W/sink")
	env=$("$S/sink-up" "$W/sink" 0) || {
		bad "sink-up '$W/sink'"
		return 1
	}
	eval "$env"
	SOAP_PORT=$("$S/free-port") || {
		bad "free-port for suzanne-soapd"
		return 1
	}
	mkdir -p "$W/spool" "$W/log" "$W/reports"
	chown "$JOBS_USER:" "$W/spool" "$W/log" "$W/reports"
	make_bin
	write_config
	note "$1: Postfix 127.0.0.1:$SUZ_SMTP_PORT, smtp-sink" \
		"127.0.0.1:$SUZ_SINK_PORT, soapd 127.0.0.1:$SOAP_PORT, in $W"
}

# ------------------------------------------------------------- the daemons

soapd_listening() {
	local i
	for ((i = 0; i < 150; i++)); do
		ss -Hltn "sport = :$SOAP_PORT" | grep -q . && return 0
		sleep 0.1
	done
	return 1
}

# record_pid PID: a soapd the keep-alive line started, with its start
# time ("gone" when it left before we looked), so that it alone is ever
# signalled.
record_pid() {
	local pid=$1 start
	case $pid in '' | *[!0-9]*) return 0 ;; esac
	start=$(rp_proc_start "$pid") || start=gone
	echo "$pid $start" >>"$W/log/soapd.pids"
}

# start_soapd: cron's minute 0: the keep-alive line starts the daemon.
start_soapd() {
	cron_job "$SOAPD_JOB"
	read -r SOAPD_PID SOAPD_START <"$W/log/soapd.pids" || return 1
	[ "$SOAPD_START" != gone ] && soapd_listening
}

# soapd_alive: the recorded soapd pids still running, one a line.
soapd_alive() {
	local pid start
	[ -f "$W/log/soapd.pids" ] || return 0
	while read -r pid start; do
		[ "$start" != gone ] || continue
		if rp_proc_is "$pid" "$start" suzanne-soapd; then echo "$pid"; fi
	done <"$W/log/soapd.pids"
}

# one_soapd: every later start of the keep-alive line left at once (the
# last ones get 3 s), and the first soapd still serves.
one_soapd() {
	local i
	for ((i = 0; i < 30; i++)); do
		[ "$(soapd_alive)" != "$SOAPD_PID" ] || return 0
		sleep 0.1
	done
	return 1
}

stop_soapds() {
	local pid start
	[ -n "$W" ] && [ -f "$W/log/soapd.pids" ] || return 0
	while read -r pid start; do
		[ "$start" = gone ] || rp_stop "$pid" "$start" suzanne-soapd || true
	done <"$W/log/soapd.pids"
	SOAPD_PID=
}

# The registry decides until stopped: --idle-exit is long, for the queue
# runs dry between two cron rounds.
start_registry() {
	timeout "$DEADLINE" perl "$S/suzanne-registry.pl" \
		--url "http://127.0.0.1:$SOAP_PORT/soap" --batch 50 --keep-alive \
		--idle-exit 120 --out "$W/registry.jsonl" --verbose \
		2>>"$W/log/registry.log" &
	REG_PID=$!
}

stop_pid() {
	local pid=$1 i
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# stop_loop: no new cron round; the running ones end by themselves.
stop_loop() {
	local i
	[ -n "$LOOP_PID" ] || return 0
	touch "$W/stop"
	for ((i = 0; i < 1200; i++)); do
		kill -0 "$LOOP_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$LOOP_PID" 2>/dev/null; then
		bad "cron jobs still running 120 s after the last round"
		stop_pid "$LOOP_PID"
	fi
	wait "$LOOP_PID" 2>/dev/null || true
	LOOP_PID=
}

# ------------------------------------------------------------- progress

# progress: "parsed requests acked completed" from the journal.
progress() {
	local j=$W/spool/journal
	[ -f "$j" ] || {
		echo "0 0 0 0"
		return 0
	}
	awk '
	    /"ev":"parsed"/ { parsed++; if (/"kind":"request"/) req++ }
	    /"ev":"ack"/ && /"status":"(sent|skipped|failed)"/ {
	        match($0, /"ticket":[0-9]+/); acked[substr($0, RSTART, RLENGTH)] = 1
	    }
	    /"ev":"complete"/ {
	        match($0, /"ticket":[0-9]+/); done[substr($0, RSTART, RLENGTH)] = 1
	    }
	    END { printf "%d %d %d %d\n", parsed, req, length(acked), length(done) }
	' "$j"
}

postfix_queue_empty() {
	postqueue -c "$SUZ_PF_CONF" -p 2>/dev/null | grep -q '^Mail queue is empty'
}

mailboxes_empty() {
	[ ! -s "$SUZ_MBOX" ] &&
		[ -z "$(find "$SUZ_MAILDIR/new" "$SUZ_MAILDIR/cur" -type f | head -n 1)" ]
}

incoming_empty() {
	[ -z "$(ls -A "$W/spool/incoming" 2>/dev/null)" ]
}

# drained ACCEPTED: everything through every stage.
wait_drained() {
	local accepted=$1 end=$((SECONDS + DEADLINE)) next=0
	local parsed=0 req=0 acked=0 completed=0
	while [ "$SECONDS" -lt "$end" ]; do
		read -r parsed req acked completed <<<"$(progress)"
		if [ "$SECONDS" -ge "$next" ]; then
			note "$(date +%T) parsed=$parsed requests=$req acked=$acked" \
				"completed=$completed"
			next=$((SECONDS + 15))
		fi
		if [ "$parsed" -eq "$accepted" ] && [ "$acked" -eq "$parsed" ] &&
			[ "$completed" -eq "$req" ] && postfix_queue_empty &&
			mailboxes_empty && incoming_empty; then
			return 0
		fi
		if ! kill -0 "$REG_PID" 2>/dev/null; then
			bad "suzanne-registry.pl ran until the queue was drained" \
				"(see $W/log/registry.log)"
			return 1
		fi
		sleep 2
	done
	bad "drained within ${DEADLINE} s: parsed=$parsed of $accepted," \
		"acked=$acked, completed=$completed of $req requests"
	return 1
}

# ------------------------------------------------------------- checks

# cron_failures: the starts that ended neither 0 nor 75 (try later).
cron_failures() {
	grep -v ' rc=0$' "$W/log/cron.log" | grep -v ' rc=75$' || true
}

cron_exit_codes_ok() { [ -z "$(cron_failures)" ]; }

# cron_mail JOB: what cron would have mailed for that job; the burst's
# includes suzanne-rotate's, which the test sends to rotate.log.
cron_mail() {
	grep "^$1: " "$W/log/cron-mail.log" 2>/dev/null || true
	if [ "$1" = cron-burst ]; then
		grep -v ' rotated batch=' "$W/log/rotate.log" 2>/dev/null || true
	fi
}

quiet() { [ -z "$(cron_mail "$1")" ]; }

as_jobs_user() {
	runuser -u "$JOBS_USER" -- "$@"
}

verify_received() {
	as_jobs_user "$REL/suzanne-loadgen" verify --config "$W/suzanne.toml" \
		--truth "$W/smtp.log.truth.jsonl" --order received \
		--log "$W/smtp.log" >"$W/verify.txt" 2>&1
}

reconcile_clean() {
	as_jobs_user "$REL/suzanne-stats" reconcile --config "$W/suzanne.toml" \
		>"$W/reconcile.csv" 2>"$W/reconcile.err"
}

publish_requests() {
	as_jobs_user "$REL/suzanne-stats" requests --config "$W/suzanne.toml" \
		>"$W/requests.csv" 2>"$W/requests.err"
}

show() {
	local f=$1 n=${2:-10}
	[ -s "$f" ] || return 0
	sed -n "1,${n}p" "$f" | sed 's/^/#   /'
}

final_checks() {
	local kind=$1 rcpt=$2 line job name
	check "$kind: cron jobs exited 0 or 75 ($(wc -l <"$W/log/cron.log") starts)" \
		cron_exit_codes_ok || cron_failures | awk '{ print $2, $3 }' |
		sort | uniq -c | sed 's/^/#   /'
	for job in "${JOBS[@]}"; do
		! job_background "$job" || continue
		name=$(job_name "$job")
		name=${name#suzanne-}
		check "$kind: the $name job printed nothing (cron mails nothing)" \
			quiet "$name" || cron_mail "$name" | sort | uniq -c |
			sort -rn | head -n 5 | sed 's/^/#   /'
	done
	check "$kind: suzanne-loadgen verify --order received" \
		verify_received || true
	show "$W/verify.txt" 12
	check "$kind: suzanne-stats reconcile is clean" reconcile_clean ||
		{ show "$W/reconcile.err"; show "$W/reconcile.csv"; }
	check "$kind: suzanne-stats requests" publish_requests ||
		show "$W/requests.err"
	while IFS= read -r line; do
		case $line in
		ok\ *) ok "$kind: ${line#ok   }" ;;
		FAIL\ *) bad "$kind: ${line#FAIL }" ;;
		*) echo "$line" ;;
		esac
	done < <(python3 "$HERE/analyse.py" check --work "$W" --name "$kind" \
		--rcpt "$rcpt" --trusted "$SUZ_TRUSTED_HOST" \
		--sink-msgs "$SUZ_SINK_MSGS" --registry "$W/registry.jsonl" \
		--rotate-log "$W/log/rotate.log" --t0-us "$T0_US" 2>&1 ||
		echo "FAIL analyse.py check ended in error")
	[ ! -f "$W/figures.json" ] || FIGURES+=("$W/figures.json")
}

# ------------------------------------------------------------- one run

send_landrush() {
	"$REL/suzanne-loadgen" smtp --config "$W/suzanne.toml" \
		--to "127.0.0.1:$SUZ_SMTP_PORT" --count "$COUNT" \
		--connections "$CONNECTIONS" --rcpt "$1" \
		--trusted-host "$SUZ_TRUSTED_HOST" --log "$W/smtp.log" -v \
		2>"$W/log/loadgen.log"
}

accepted_count() {
	grep -c '"accepted_at"' "$W/smtp.log" 2>/dev/null || echo 0
}

run_case() {
	local kind=$1 rcpt accepted what
	W=$BASE/$kind
	mkdir -p "$W"
	real_parts "$kind" || return 1
	case $kind in
	mbox) rcpt=$SUZ_MBOX_RCPT ;;
	maildir) rcpt=$SUZ_MAILDIR_RCPT ;;
	*) rp_die 64 "E2E_RUNS: unknown run '$kind' (mbox, maildir)" ;;
	esac

	check "$kind: suzanne-soapd started by the crontab's keep-alive line" \
		start_soapd || return 1
	cron_loop &
	LOOP_PID=$!
	start_registry

	T0_US=$(now_us)
	check "$kind: suzanne-loadgen smtp: $COUNT requests sent to $rcpt" \
		send_landrush "$rcpt" || true
	show "$W/log/loadgen.log" 6
	accepted=$(accepted_count)
	wait_drained "$accepted" || true

	stop_loop
	stop_pid "$REG_PID"
	REG_PID=
	what="$kind: the keep-alive line, started $(wc -l <"$W/log/soapd.pids")"
	check "$what times: only the first soapd stayed" one_soapd || true
	stop_soapds
	final_checks "$kind" "$rcpt"
	down_parts
}

down_parts() {
	local d
	for d in "${SINK_DIRS[@]}"; do "$S/sink-down" "$d" || true; done
	for d in "${PF_DIRS[@]}"; do "$S/postfix-down" "$d" || true; done
	SINK_DIRS=()
	PF_DIRS=()
}

write_results() {
	local machine command
	[ "${#FIGURES[@]}" -gt 0 ] || return 0
	machine="$(nproc) cores, $(uname -sr)"
	command="E2E_COUNT=$COUNT E2E_RUNS=\"$RUNS\" E2E_TICK=$TICK"
	command+=" bash tests/e2e/landrush.sh"
	python3 "$HERE/analyse.py" report --command "$command" \
		--date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --machine "$machine" \
		--tick "$TICK" --checks "$BASE/checks" "${FIGURES[@]}" \
		>"$BASE/RESULTS.md" || {
		bad "write RESULTS.md"
		return 0
	}
	if [ -n "${E2E_RESULTS:-}" ]; then
		cp "$BASE/RESULTS.md" "$E2E_RESULTS"
	fi
	note "results: $BASE/RESULTS.md"
}

cleanup() {
	local rc=$?
	if [ -n "$W" ] && [ -d "$W" ]; then touch "$W/stop" 2>/dev/null || true; fi
	[ -z "$LOOP_PID" ] || stop_loop
	[ -z "$REG_PID" ] || stop_pid "$REG_PID"
	stop_soapds
	down_parts
	if [ "$BURST_LOCK_OURS" = yes ]; then rm -f "$BURST_LOCK"; fi
	if [ -n "$BASE" ]; then
		if [ "$FAIL" -eq 0 ] && [ "$rc" -eq 0 ] && [ "${E2E_KEEP:-0}" != 1 ]; then
			rm -rf --one-file-system -- "$BASE"
		else
			echo "# kept for inspection: $BASE"
		fi
	fi
}

main() {
	if [ "$(id -u)" != 0 ]; then
		if [ "${SUZANNE_REQUIRE_REALPARTS:-0}" = 1 ]; then
			bad "run as root (SUZANNE_REQUIRE_REALPARTS=1)"
			finish
			return
		fi
		echo "skipped: needs root"
		echo "0 passed, 0 failed, 1 skipped"
		return 0
	fi
	BASE=$(mktemp -d /tmp/suzanne-landrush.XXXXXX)
	chmod 755 "$BASE"
	trap cleanup EXIT
	trap 'exit 130' INT TERM
	if prepare; then
		local kind
		for kind in $RUNS; do
			run_case "$kind" || true
		done
		write_results
	fi
	finish
}

main "$@"
