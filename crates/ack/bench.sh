#!/usr/bin/env bash
# crates/ack/bench.sh [N] - acknowledgements per second, against a local
# smtp-sink started here on 127.0.0.1 and stopped at the end
#
# Builds suzanne-ack (release) and a spool of N plain requests (default
# 5000), then times, each on a fresh copy of the spool:
#   suzanne-ack over 1 and 4 SMTP connections (and 16, for the curve)
#   suzanne-ack with the outbox transport (no network: the cost of the
#     journal, the templates and a synced file per letter)
# and, as the baseline, Postfix's smtp-source sending N messages of 1 KiB
# to the same sink over 1 and 4 sessions. Every suzanne-ack run is checked:
# N acknowledgements recorded as sent.
#
# The sink discards what it receives (no -d), so the figures measure the
# sender; SINK=capture keeps one file per message, as the tests do.
#
# Each acknowledgement waits for its journal record to be synced, so the
# disk under the spool matters: TMPDIR=/dev/shm puts the spool on tmpfs
# and shows what the sender does without sync costs.
#
# Environment: SINK=discard|capture, KEEP=1 keeps the work directory,
# TMPDIR where the work directory goes (default /tmp).
# Exit: 0 done, 64 usage, 69 smtp-sink or smtp-source missing, 70 failed.
set -euo pipefail
export PATH=/usr/sbin:$PATH:${HOME:-/root}/.cargo/bin
export LC_ALL=C

N=${1:-5000}
case $N in '' | *[!0-9]*) echo "usage: bench.sh [N]" >&2; exit 64 ;; esac
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
ME=bench.sh

die() { local c=$1; shift; echo "$ME: $*" >&2; exit "$c"; }
ms() { local ns; ns=$(date +%s%N); echo $((ns / 1000000)); }

for tool in smtp-sink smtp-source; do
	command -v $tool >/dev/null ||
		die 69 "run '$tool': not found (apt-get install postfix)"
done

cd "$ROOT"
cargo build -q --release -p suzanne-ack --bin suzanne-ack \
	--example bench-spool
ACK=$ROOT/target/release/suzanne-ack
GEN=$ROOT/target/release/examples/bench-spool

W=$(mktemp -d "${TMPDIR:-/tmp}/suzanne-ack-bench.XXXXXX")
chmod 755 "$W"
SINK_PID=''
cleanup() {
	if [ -n "$SINK_PID" ] && kill -0 "$SINK_PID" 2>/dev/null; then
		kill "$SINK_PID" 2>/dev/null || true
		wait "$SINK_PID" 2>/dev/null || true
	fi
	if [ "${KEEP:-0}" = 1 ]; then echo "kept $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT

PORT=$("$ROOT/scripts/free-port")
SINK_ARGS=(-4)
[ "$(id -u)" = 0 ] && SINK_ARGS+=(-u nobody)
if [ "${SINK:-discard}" = capture ]; then
	mkdir -p "$W/msgs" && chmod 777 "$W/msgs"
	SINK_ARGS+=(-d "$W/msgs/%Y%m%d%H%M%S.")
fi
smtp-sink "${SINK_ARGS[@]}" "127.0.0.1:$PORT" 256 </dev/null \
	>"$W/sink.log" 2>&1 &
SINK_PID=$!
for ((i = 0; i < 50; i++)); do
	if { exec 3<>"/dev/tcp/127.0.0.1/$PORT"; } 2>/dev/null; then
		exec 3>&- 3<&-
		break
	fi
	sleep 0.1
done
[ "$i" -lt 50 ] || die 70 "start smtp-sink on 127.0.0.1:$PORT: no answer"

"$GEN" "$W/base" "$N"
cat >"$W/suzanne.toml" <<CONF
spool = '$W/spool'
[ack]
from = 'Registre <accuse@nic.example>'
templates = '$ROOT/templates'
relay = '127.0.0.1'
port = $PORT
CONF

# run LABEL ARGS...: time suzanne-ack on a fresh copy of the spool.
run() {
	local label=$1 t0 t1 sent
	shift
	rm -rf "$W/spool" "$W/outbox"
	cp -a "$W/base" "$W/spool"
	sync
	t0=$(ms)
	"$ACK" --config "$W/suzanne.toml" "$@" ||
		die 70 "$label: suzanne-ack exited $?"
	t1=$(ms)
	sent=$(grep -c '"ev":"ack","ticket":[0-9]*,"status":"sent"' \
		"$W/spool/journal" || true)
	[ "$sent" = "$N" ] || die 70 "$label: $sent of $N recorded as sent"
	report "$label" "$t0" "$t1"
}

# source LABEL SESSIONS: time smtp-source to the same sink.
source_run() {
	local t0 t1
	t0=$(ms)
	smtp-source -4 -s "$2" -m "$N" -l 1024 -f bench@client.example \
		-t ack@registrar.example "127.0.0.1:$PORT"
	t1=$(ms)
	report "$1" "$t0" "$t1"
}

report() {
	local d=$(($3 - $2))
	[ "$d" -gt 0 ] || d=1
	printf '%-40s %6d msgs %8d ms %8d msg/s\n' "$1" "$N" "$d" \
		$((N * 1000 / d))
}

echo "N=$N, sink ${SINK:-discard} on 127.0.0.1:$PORT, $(nproc) cores," \
	"spool in $W"
run "suzanne-ack smtp, 1 connection" --connections 1
run "suzanne-ack smtp, 4 connections" --connections 4
run "suzanne-ack smtp, 16 connections" --connections 16
run "suzanne-ack outbox" --transport outbox --outbox "$W/outbox"
source_run "smtp-source, 1 session (baseline)" 1
source_run "smtp-source, 4 sessions (baseline)" 4
