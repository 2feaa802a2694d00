#!/usr/bin/env bash
# registry.sh - test scripts/suzanne-registry.pl against mock-soapd.pl
#
# The mock serves seven requests: two contested names (alpha.fr, gamma.fr),
# an IDN (café.fr), and two requests for hold.fr. The registry must decide
# first come, first served in every SOAP::Lite call style, hold what it is
# told to hold, and stop with one line and the documented exit code on a
# bad SHA-256, a SOAP fault, or a server that is not there.
# Needs perl with SOAP::Lite (Debian libsoap-lite-perl); skipped without
# it, unless SUZANNE_REQUIRE_REALPARTS=1. Bounded: the mock
# exits after 60 s at most, each registry run after 30 s.
# Last line: "N passed, M failed"; exit 0 only when nothing failed.
set -euo pipefail
export PATH=${PATH:+$PATH:}/usr/sbin:/usr/bin:/sbin:/bin
export LC_ALL=C.UTF-8
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
REGISTRY=$ROOT/scripts/suzanne-registry.pl
PASS=0
FAIL=0
MOCK_PID=

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

cleanup() {
	stop_mock
	rm -rf -- "$WORK"
}

write_requests() {
	cat >"$WORK/requests.jsonl" <<'EOF'
{"id":1,"domains":["alpha.fr"],"domainsAscii":["alpha.fr"],"raw":"From: a@client.test\nSubject: 1\n\ndomain: alpha.fr\n"}
{"id":2,"domains":["beta.fr"],"domainsAscii":["beta.fr"],"raw":"From: b@client.test\n\ndomain: beta.fr <&> ]]>\n"}
{"id":3,"domains":["alpha.fr"],"domainsAscii":["alpha.fr"],"raw":"From: c@client.test\n\ndomain: alpha.fr\n"}
{"id":4,"domains":["café.fr","gamma.fr"],"domainsAscii":["xn--caf-dma.fr","gamma.fr"],"raw":"From: d@client.test\n\ndomain: café.fr\ndomain: gamma.fr\n"}
{"id":5,"domains":["gamma.fr"],"domainsAscii":["gamma.fr"],"raw":"From: e@client.test\n\ndomain: gamma.fr\n"}
{"id":6,"domains":["hold.fr"],"domainsAscii":["hold.fr"],"raw":"From: f@client.test\n\ndomain: hold.fr\n"}
{"id":7,"domains":["hold.fr"],"domainsAscii":["hold.fr"],"raw":"From: g@client.test\n\ndomain: hold.fr\n"}
EOF
}

# start_mock [MOCK-OPTIONS...]: a fresh mock (fresh queue) on a free port.
start_mock() {
	local i
	stop_mock
	PORT=$("$ROOT/scripts/free-port")
	perl "$HERE/mock-soapd.pl" --port "$PORT" --seconds 60 \
		--requests "$WORK/requests.jsonl" --log "$WORK/mock.log" "$@" \
		</dev/null >>"$WORK/mock.out" 2>&1 &
	MOCK_PID=$!
	for ((i = 0; i < 50; i++)); do
		ss -Hltn "sport = :$PORT" | grep -q . && return 0
		sleep 0.1
	done
	echo "# mock-soapd did not listen on $PORT" >&2
	return 1
}

stop_mock() {
	[ -n "$MOCK_PID" ] || return 0
	kill "$MOCK_PID" 2>/dev/null || true
	wait "$MOCK_PID" 2>/dev/null || true
	MOCK_PID=
}

# registry [OPTIONS...]: run the registry against the mock; its exit code
# in RC, its stderr in $WORK/err. The mock plays the one-at-a-time
# CompleteRequest; batch completion is tested against the real daemon
# (crates/soapd/tests/registry.rs).
registry() {
	RC=0
	timeout 30 perl "$REGISTRY" --url "http://127.0.0.1:$PORT/soap" \
		--out "$WORK/out.jsonl" --idle-exit 0.3 --complete one "$@" \
		2>"$WORK/err" || RC=$?
}

# outcomes: "id:outcome" for each line of the out file, in order.
outcomes() {
	perl -MJSON::PP -ne \
		'$r = decode_json($_); print "$r->{id}:$r->{outcome} "' \
		"$WORK/out.jsonl"
}

# log_all KEY VALUE: every call logged by the mock has KEY == VALUE.
log_all() {
	K=$1 V=$2 perl -MJSON::PP -ne \
		'$r = decode_json($_); $bad++ if $r->{$ENV{K}} ne $ENV{V};
		 END { exit($bad || !$. ? 1 : 0) }' "$WORK/mock.log"
}

max_conn() {
	perl -MJSON::PP -ne \
		'$r = decode_json($_); $m = $r->{conn} if $r->{conn} > $m;
		 END { print $m }' "$WORK/mock.log"
}

rc_is() { [ "$RC" -eq "$1" ]; }

one_line_with() {
	[ "$(wc -l <"$WORK/err")" -eq 1 ] && grep -q -- "$1" "$WORK/err"
}

outcomes_are() { [ "$(outcomes)" = "$1" ]; }

positional_typed() { log_all gensym 1 && log_all typed 1; }

named_typed() { log_all gensym 0 && log_all typed 1; }

ids_long() {
	grep -v '"op":"GetRequests"' "$WORK/mock.log" | grep -q '"long":1'
}

idn_kept() {
	grep -q '"domains":\["café.fr","gamma.fr"\]' "$WORK/out.jsonl" &&
		grep -q '"domainsAscii":\["xn--caf-dma.fr","gamma.fr"\]' \
			"$WORK/out.jsonl"
}

one_connection() { rc_is 0 && [ "$(max_conn)" -eq 1 ]; }

first_two() { rc_is 0 && outcomes_are "1:accepted 2:accepted "; }

# took_ms_at_least T0 MS: at least MS milliseconds since T0 (date +%s%N).
took_ms_at_least() {
	local now
	now=$(date +%s%N)
	rc_is 0 && [ $(((now - $1) / 1000000)) -ge "$2" ]
}

failed_with() { rc_is "$1" && one_line_with "$2"; }

test_styles() {
	local style
	local want='1:accepted 2:accepted 4:accepted 6:held 3:rejected 5:rejected '
	for style in default named typed doc; do
		start_mock || return 1
		registry --style "$style" --hold-domain '^hold\.'
		check "--style $style: exit 0" rc_is 0
		check "--style $style: first come, first served; held; 7 waits" \
			outcomes_are "$want"
		case $style in
		default) check "default: positional, typed" positional_typed ;;
		named) check "named: named, autotyped" named_typed ;;
		typed) check "typed: ids sent as xsd:long" ids_long ;;
		doc) check "doc: untyped" log_all typed 0 ;;
		esac
	done
	check "IDN kept in Unicode and A-label" idn_kept
}

test_options() {
	local t0
	start_mock
	registry --keep-alive
	check "--keep-alive: exit 0, one connection" one_connection

	start_mock
	registry --max 2 --batch 1
	check "--max 2 --batch 1: two requests" first_two

	start_mock
	t0=$(date +%s%N)
	registry --max 3 --delay-ms 150
	check "--delay-ms 150: three requests take 450 ms or more" \
		took_ms_at_least "$t0" 450
}

# one_challenge: the credentials were asked for once, then sent unasked.
one_challenge() {
	rc_is 0 && [ "$(grep -c '"ok":0,"op":"auth"' "$WORK/mock.log")" -eq 1 ]
}

test_auth() {
	printf 'registry:s3cret\n' >"$WORK/auth"
	printf 'registry:wrong\n' >"$WORK/auth.bad"
	start_mock --auth registry:s3cret
	registry --keep-alive --auth-file "$WORK/auth"
	check "--auth-file: exit 0, one 401 challenge" one_challenge
	start_mock --auth registry:s3cret
	registry --auth-file "$WORK/auth.bad"
	check "wrong password: exit 77, one line" failed_with 77 "401"
	start_mock --auth registry:s3cret
	registry
	check "no credentials: exit 77" rc_is 77
}

test_failures() {
	start_mock --bad-sha 2
	registry
	check "bad sha256: exit 65, one line" failed_with 65 "verify request 2"

	start_mock --stale 1
	registry
	check "stale-lease fault: exit 76, one line naming it" \
		failed_with 76 "stale-lease ticket 1"

	stop_mock
	registry
	check "no server: exit 69, one line" failed_with 69 "call 'GetRequests'"

	registry --batch 0
	check "--batch 0: exit 64" rc_is 64
	registry --style soap
	check "--style soap: exit 64" rc_is 64
}

main() {
	if ! perl -MSOAP::Lite -e 1 2>/dev/null; then
		if [ "${SUZANNE_REQUIRE_REALPARTS:-0}" = 1 ]; then
			bad "SOAP::Lite installed (libsoap-lite-perl)"
			echo "$PASS passed, $FAIL failed"
			return 1
		fi
		echo "# registry.sh: skipped, SOAP::Lite missing (libsoap-lite-perl)"
		echo "0 passed, 0 failed, 1 skipped"
		return 0
	fi
	WORK=$(mktemp -d /tmp/suzanne-registry.XXXXXX)
	trap cleanup EXIT
	write_requests

	test_styles
	test_options
	test_auth
	test_failures
	echo "$PASS passed, $FAIL failed"
	[ "$FAIL" -eq 0 ]
}

main "$@"
