#!/usr/bin/env bash
# selftest.sh - prove scripts/postfix-up, postfix-down, sink-up, sink-down
#
# Starts a private Postfix and an smtp-sink in a temporary directory on free
# loopback ports, sends mail with swaks to the mbox and to the Maildir,
# checks that it arrived with microsecond (long) queue IDs in Received,
# sends to the sink with and without an injected fault, and stops both.
# Needs root (the scripts install packages and start servers); skipped
# otherwise, unless SUZANNE_REQUIRE_REALPARTS=1. Every wait is bounded; the
# whole run takes a few seconds.
# Last line: "N passed, M failed"; exit 0 only when nothing failed.
set -euo pipefail
export PATH=${PATH:+$PATH:}/usr/sbin:/usr/bin:/sbin:/bin
export LC_ALL=C
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
S=$ROOT/scripts
PASS=0
FAIL=0
# Postfix's base-52 alphabet for long queue IDs: digits and consonants.
B52=0123456789BCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz

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

finish() {
	echo "$PASS passed, $FAIL failed"
	[ "$FAIL" -eq 0 ]
}

cleanup() {
	local d
	for d in sink sink0; do
		"$S/sink-down" "$BASE/$d" >/dev/null 2>&1 || true
	done
	for d in pf pf0; do
		"$S/postfix-down" "$BASE/$d" >/dev/null 2>&1 || true
	done
	if [ "$FAIL" -eq 0 ]; then
		rm -rf --one-file-system -- "$BASE"
	else
		echo "# kept for inspection: $BASE"
	fi
}

# timed CMD...: run CMD; say how long it took on stderr.
timed() {
	local t0 t1 rc=0
	t0=$(date +%s%N)
	"$@" || rc=$?
	t1=$(date +%s%N)
	echo "# ${1##*/} ${2##*/}: $(((t1 - t0) / 1000000)) ms" >&2
	return "$rc"
}

send() {
	swaks --server 127.0.0.1 --port "$1" --helo client.test \
		--from registrar@client.test --to "$2" \
		--header "Subject: $3" --silent 2 >/dev/null 2>&1
}

mbox_count() {
	if [ -f "$SUZ_MBOX" ]; then
		grep -c '^From ' "$SUZ_MBOX" || true
	else
		echo 0
	fi
}

maildir_count() {
	find "$SUZ_MAILDIR/new" "$SUZ_MAILDIR/cur" -type f | wc -l
}

# wait_count FUNC N: up to 15 s for FUNC to reach N.
wait_count() {
	local i
	for ((i = 0; i < 150; i++)); do
		[ "$("$1")" -ge "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

b52() {
	local s=$1 n=0 i c head
	for ((i = 0; i < ${#s}; i++)); do
		c=${s:i:1}
		head=${B52%%"$c"*}
		n=$((n * 52 + ${#head}))
	done
	echo "$n"
}

# long_ids FILE...: the queue ID of the Received header Postfix added to
# each message, one a line.
long_ids() {
	awk '/^Received: / { r = 1; next }
	     r && /by mx\.landrush\.example \(Postfix\) with E?SMTP id / {
	         for (i = 1; i <= NF; i++) if ($i == "id") print $(i + 1); r = 0
	     }
	     /^[^ \t]/ { r = 0 }' "$@"
}

# id_time_ok ID T0 T1: ID is a long queue ID whose time (seconds and
# microseconds) lies between T0 and T1 (epoch seconds).
id_time_ok() {
	local id=$1 sec usec
	# Ten base-52 digits (seconds, then microseconds), "z", the inode in
	# base 51 (no "z").
	local b52='0-9B-DF-HJ-NP-TV-Zb-df-hj-np-tv-z'
	local b51='0-9B-DF-HJ-NP-TV-Zb-df-hj-np-tv-y'
	[[ $id =~ ^[$b52]{10}z[$b51]+$ ]] || return 1
	sec=$(b52 "${id:0:6}")
	usec=$(b52 "${id:6:4}")
	[ "$usec" -lt 1000000 ] && [ "$sec" -ge "$2" ] && [ "$sec" -le "$3" ]
}

# all_ids_ok EXPECTED T0 T1 FILE...
all_ids_ok() {
	local want=$1 t0=$2 t1=$3 id n=0
	shift 3
	while read -r id; do
		id_time_ok "$id" "$t0" "$t1" || {
			echo "# bad queue id: $id" >&2
			return 1
		}
		n=$((n + 1))
	done < <(long_ids "$@")
	[ "$n" -eq "$want" ]
}

loopback_only() {
	local addrs
	addrs=$(ss -Hltn "sport = :$1" | awk '{ print $4 }' | sort -u)
	[ "$addrs" = "127.0.0.1:$1" ]
}

port_closed() { ! ss -Hltn "sport = :$1" | grep -q .; }

# proc_gone PID COMM: PID is no longer COMM (a zombie waiting for PID 1
# to reap it counts as gone).
proc_gone() {
	local stat
	[ "$(cat "/proc/$1/comm" 2>/dev/null)" = "$2" ] || return 0
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	stat=${stat##*) }
	[ "${stat%% *}" = Z ]
}

rc_is() {
	local want=$1 rc=0
	shift
	"$@" >/dev/null 2>&1 || rc=$?
	[ "$rc" -eq "$want" ]
}

same_master() {
	[ "$("$S/postfix-up" "$BASE/pf" "$PF_PORT" | grep MASTER_PID)" = \
		"SUZ_PF_MASTER_PID=$1" ]
}

send_mbox() {
	send "$PF_PORT" "$SUZ_MBOX_RCPT" "mbox 1" &&
		send "$PF_PORT" "suzanne+tag@$SUZ_DOMAIN" "mbox 2" &&
		send "$PF_PORT" "$SUZ_MBOX_RCPT" "mbox 3"
}

send_maildir() {
	send "$PF_PORT" "$SUZ_MAILDIR_RCPT" "maildir 1" &&
		send "$PF_PORT" "$SUZ_MAILDIR_RCPT" "maildir 2"
}

mbox_private() {
	[ "$(stat -c '%U %a' "$SUZ_MBOX")" = "suzanne 600" ]
}

no_dotlock() { [ ! -e "$SUZ_MBOX.lock" ]; }

maillog_sent() {
	[ "$(grep -c 'status=sent' "$SUZ_MAILLOG")" -ge "$1" ]
}

refused() { ! send "$PF_PORT" "$1" refused; }

test_postfix() {
	local t0 t1 env
	if ! env=$(timed "$S/postfix-up" "$BASE/pf" "$PF_PORT"); then
		bad "postfix-up DIR PORT"
		return 1
	fi
	ok "postfix-up DIR PORT"
	eval "$env"
	check "postfix-up again: same master" same_master "$SUZ_PF_MASTER_PID"
	check "listens on 127.0.0.1:$PF_PORT only" loopback_only "$PF_PORT"

	t0=$(date +%s)
	check "swaks -> mbox (3)" send_mbox
	check "swaks -> maildir (2)" send_maildir
	check "3 messages in mbox" wait_count mbox_count 3
	check "2 messages in Maildir" wait_count maildir_count 2
	t1=$(date +%s)
	check "mbox: long queue IDs, time decodes to now" \
		all_ids_ok 3 "$t0" "$t1" "$SUZ_MBOX"
	check "Maildir: long queue IDs, time decodes to now" \
		all_ids_ok 2 "$t0" "$t1" "$SUZ_MAILDIR"/new/*
	check "mbox owned by suzanne, mode 600" mbox_private
	check "no dotlock left" no_dotlock
	check "maillog records the deliveries" maillog_sent 5
	check "unknown local user refused" refused "nobody-here@$SUZ_DOMAIN"
	check "other domain refused (nothing leaves)" refused someone@else.test
}

captured() {
	local file
	file=$(grep -l "^Subject: $1\$" "$SUZ_SINK_MSGS"/* 2>/dev/null) ||
		return 1
	grep -qx "X-Rcpt-Args: <$2>" "$file"
}

sink_with() {
	SUZ_SINK_ARGS=$1 "$S/sink-up" "$BASE/sink" "$SINK_PORT" >/dev/null
}

rcpt_refused_4xx() {
	local out
	out=$(swaks --server 127.0.0.1 --port "$SINK_PORT" --helo client.test \
		--from a@client.test --to ack@client.test 2>&1) || true
	grep -q '^<\*\* 4[0-9][0-9] ' <<<"$out"
}

test_sink() {
	local env
	if ! env=$(timed "$S/sink-up" "$BASE/sink" "$SINK_PORT"); then
		bad "sink-up DIR PORT"
		return 1
	fi
	ok "sink-up DIR PORT"
	eval "$env"
	check "sink listens on 127.0.0.1:$SINK_PORT only" \
		loopback_only "$SINK_PORT"
	check "swaks -> sink" send "$SINK_PORT" ack@client.test "ack 1"
	check "sink captured the message with its envelope" \
		captured "ack 1" ack@client.test
	check "sink-up with SUZ_SINK_ARGS='-r RCPT': restarted" \
		sink_with "-r RCPT"
	check "injected fault: RCPT answered 4xx" rcpt_refused_4xx
	check "sink-up without fault: restarted" sink_with ""
	check "swaks -> sink again" send "$SINK_PORT" ack@client.test "ack 2"
	check "sink captured it" captured "ack 2" ack@client.test
}

test_errors() {
	check "postfix-up without arguments: exit 64" rc_is 64 "$S/postfix-up"
	check "postfix-up PORT not a number: exit 64" \
		rc_is 64 "$S/postfix-up" "$BASE/pf2" 25x
	check "postfix-up on a busy port: exit 75" \
		rc_is 75 "$S/postfix-up" "$BASE/pf2" "$SINK_PORT"
	check "sink-up on a busy port: exit 75" \
		rc_is 75 "$S/sink-up" "$BASE/sink2" "$PF_PORT"
	check "postfix-up refuses a foreign directory: exit 64" \
		rc_is 64 "$S/postfix-up" "$ROOT/tests" "$SINK_PORT"
}

# up_twice SCRIPT DIR KEY: SCRIPT DIR 0 twice gives the same port (and
# the same KEY line: the same process).
up_twice() {
	local first second port
	first=$("$S/$1" "$2" 0) || return 1
	second=$("$S/$1" "$2" 0) || return 1
	port=$(grep -E '^SUZ_(SMTP|SINK)_PORT=[0-9]+$' <<<"$first") || return 1
	grep -qx "$port" <<<"$second" &&
		[ "$(grep "^$3=" <<<"$first")" = "$(grep "^$3=" <<<"$second")" ]
}

down_auto() {
	"$S/postfix-down" "$BASE/pf0" && "$S/sink-down" "$BASE/sink0"
}

test_auto_port() {
	check "postfix-up DIR 0: a free port, the same one again" \
		up_twice postfix-up "$BASE/pf0" SUZ_PF_MASTER_PID
	check "sink-up DIR 0: a free port, the same one again" \
		up_twice sink-up "$BASE/sink0" SUZ_SINK_PID
	check "postfix-down, sink-down after port 0" down_auto
}

test_down() {
	check "sink-down" timed "$S/sink-down" "$BASE/sink"
	check "postfix-down" timed "$S/postfix-down" "$BASE/pf"
	check "master gone" proc_gone "$SUZ_PF_MASTER_PID" master
	check "sink gone" proc_gone "$SUZ_SINK_PID" smtp-sink
	check "port $PF_PORT closed" port_closed "$PF_PORT"
	check "port $SINK_PORT closed" port_closed "$SINK_PORT"
	check "sink-down again: nothing to do" "$S/sink-down" "$BASE/sink"
	check "postfix-down again: nothing to do" "$S/postfix-down" "$BASE/pf"
	check "mail kept after down" wait_count mbox_count 3
}

main() {
	if [ "$(id -u)" != 0 ]; then
		if [ "${SUZANNE_REQUIRE_REALPARTS:-0}" = 1 ]; then
			bad "run as root (SUZANNE_REQUIRE_REALPARTS=1)"
			finish
			return
		fi
		echo "# selftest.sh: skipped, real parts need root"
		echo "0 passed, 0 failed, 1 skipped"
		return 0
	fi
	BASE=$(mktemp -d /tmp/suzanne-selftest.XXXXXX)
	chmod 755 "$BASE"
	trap cleanup EXIT
	read -r PF_PORT SINK_PORT < <("$S/free-port" 2 | paste -sd ' ')

	test_postfix && test_sink && test_errors && test_auto_port
	test_down
	finish
}

main "$@"
