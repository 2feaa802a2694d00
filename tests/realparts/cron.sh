#!/usr/bin/env bash
# cron.sh - test scripts/suzanne-cron-burst, cron/crontab and systemd/
#
# The burst runs stand-in programs (suzanne-rotate and suzanne-parse that
# log their calls and exit as told) from a temporary PATH: one round by
# default, a round a second with --every 1, quiet on 75, one line and
# the exit code on a failure, nothing at all while another burst holds
# the lock. The crontab and the unit files are checked for shape: every
# job names a program of ours with --config, every timer has its service.
# Bounded: the longest case takes about 3 s.
# Last line: "N passed, M failed"; exit 0 only when nothing failed.
set -euo pipefail
export LC_ALL=C
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BURST=$ROOT/scripts/suzanne-cron-burst
PASS=0
FAIL=0

ok() {
	PASS=$((PASS + 1))
	echo "ok   $*"
}

bad() {
	FAIL=$((FAIL + 1))
	echo "FAIL $*"
}

check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else bad "$what"; fi
}

# fake NAME: a stand-in that logs "NAME ARGS" and exits $<NAME>_RC.
fake() {
	local var=${1#suzanne-}_RC
	cat >"$WORK/bin/$1" <<EOF
#!/bin/sh
echo "$1 \$*" >>"$WORK/calls"
exit \${$var:-0}
EOF
	chmod +x "$WORK/bin/$1"
}

# burst [OPTIONS...]: run the burst; exit code in RC, stdout and stderr
# in $WORK/out, calls in $WORK/calls.
burst() {
	RC=0
	: >"$WORK/calls"
	PATH=$WORK/bin:$PATH timeout 20 "$BURST" --lock "$WORK/burst.lock" \
		--config /etc/suzanne/test.toml "$@" >"$WORK/out" 2>&1 || RC=$?
}

calls() { [ "$(paste -sd '|' "$WORK/calls")" = "$1" ]; }

rounds_are() { [ "$(grep -c '^suzanne-rotate ' "$WORK/calls")" -eq "$1" ]; }

quiet_rc() { [ "$RC" -eq "$1" ] && [ ! -s "$WORK/out" ]; }

said_once() {
	[ "$RC" -eq "$1" ] && [ "$(wc -l <"$WORK/out")" -eq 1 ] &&
		grep -q -- "$2" "$WORK/out"
}

ONE='suzanne-rotate --config /etc/suzanne/test.toml'
ONE+='|suzanne-parse --config /etc/suzanne/test.toml'

test_burst() {
	local t0 t1
	burst
	check "one round by default, --config passed on" calls "$ONE"
	check "quiet, exit 0" quiet_rc 0

	t0=$(date +%s%N)
	burst --every 1 --window 3
	t1=$(date +%s%N)
	check "--every 1 --window 3: three rounds" rounds_are 3
	check "--every 1 --window 3: 2 to 4 s" \
		test $(((t1 - t0) / 1000000)) -ge 2000 -a \
		$(((t1 - t0) / 1000000)) -lt 4000
	check "--every 1: quiet, exit 0" quiet_rc 0

	rotate_RC=75 burst
	check "rotate busy (75): parse still runs" calls "$ONE"
	check "rotate busy (75): quiet, exit 0" quiet_rc 0

	parse_RC=70 burst --every 1 --window 3
	check "parse fails: one line, its exit code" \
		said_once 70 "run 'suzanne-parse': exit 70"
	check "parse fails: no further rounds" rounds_are 1
}

test_lock() {
	local holder
	flock "$WORK/burst.lock" sleep 5 &
	holder=$!
	sleep 0.3
	burst
	check "another burst holds the lock: nothing runs" calls ""
	check "another burst holds the lock: quiet, exit 0" quiet_rc 0
	kill "$holder" 2>/dev/null || true
	wait "$holder" 2>/dev/null || true
}

test_usage() {
	burst --every 0
	check "--every 0: exit 64" test "$RC" -eq 64
	burst --window 56
	check "--window 56: exit 64" test "$RC" -eq 64
	burst --often 1
	check "unknown option: exit 64" test "$RC" -eq 64
}

# Every job line: five time fields, user suzanne, one of our programs,
# and its configuration.
crontab_ok() {
	awk '/^#/ || /^$/ || /^[A-Z_]+=/ { next }
	     NF < 7 || $6 != "suzanne" || $7 !~ /^suzanne-/ { bad = 1 }
	     $0 !~ /--config \/etc\/suzanne\/suzanne.toml/ { bad = 1 }
	     { jobs++ }
	     END { exit(bad || jobs < 4) }' "$ROOT/cron/crontab"
}

crontab_names() {
	local p
	for p in suzanne-cron-burst suzanne-ack suzanne-stats suzanne-soapd; do
		grep -q "^[^#].* $p " "$ROOT/cron/crontab" || return 1
	done
}

timers_have_services() {
	local t
	for t in "$ROOT"/systemd/*.timer; do
		[ -f "${t%.timer}.service" ] || return 1
		grep -q '^OnCalendar=' "$t" || return 1
	done
}

services_ok() {
	local s
	for s in "$ROOT"/systemd/*.service; do
		grep -q '^ExecStart=.*suzanne-' "$s" || return 1
		grep -q '^User=suzanne$' "$s" || return 1
	done
}

test_files() {
	check "cron/crontab: every job is ours, with its config" crontab_ok
	check "cron/crontab: burst, ack, stats, soapd keep-alive" crontab_names
	check "systemd: every timer has its service" timers_have_services
	check "systemd: every service runs one of ours as suzanne" services_ok
	if command -v systemd-analyze >/dev/null 2>&1; then
		check "systemd-analyze verify" units_verify
	fi
}

# units_verify: systemd's own check, in a scratch root where the programs
# exist (it refuses an ExecStart that is not there).
units_verify() {
	local r=$WORK/root p
	mkdir -p "$r/usr/local/bin" "$r/bin" "$r/etc/systemd/system" \
		"$r/lib/systemd"
	for p in ack parse rotate soapd stats; do
		printf '#!/bin/sh\n' >"$r/usr/local/bin/suzanne-$p"
		chmod +x "$r/usr/local/bin/suzanne-$p"
	done
	cp /bin/sh "$r/bin/sh"
	cp -a /lib/systemd/system "$r/lib/systemd/"
	cp "$ROOT"/systemd/* "$r/etc/systemd/system/"
	systemd-analyze verify --root="$r" --man=no \
		"$r"/etc/systemd/system/suzanne-*
}

main() {
	WORK=$(mktemp -d /tmp/suzanne-cron.XXXXXX)
	trap 'rm -rf -- "$WORK"' EXIT
	mkdir "$WORK/bin"
	fake suzanne-rotate
	fake suzanne-parse

	test_burst
	test_lock
	test_usage
	test_files
	echo "$PASS passed, $FAIL failed"
	[ "$FAIL" -eq 0 ]
}

main "$@"
