#!/usr/bin/env bash
# crates/stats/bench.sh [N] - time suzanne-stats on a synthetic spool of N
# messages (default 1000000) and compare with plain reads of the same files.
#
# The spool is built through the spool API (examples/synth_spool.rs):
# records, raw messages and a journal of about four lines a message. It is
# built on a fresh file system: a loop-mounted ext4 image when run as root,
# else a new temporary directory. A spool of a million files deleted on the
# shared file system would slow every file creation there for minutes (the
# allocator skips recently freed inodes), so the image is unmounted and
# removed as one file.
#
# Each command runs RUNS times (default 3); the table gives the median wall
# time and the largest peak RSS (/usr/bin/time). Caches are warm: the spool
# was just written.
#
# Environment:
#   RUNS=N              runs per command (default 3)
#   BENCH_SPOOL=DIR     use (or build once and keep) the spool in DIR
set -euo pipefail

N=${1:-1000000}
RUNS=${RUNS:-3}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$ROOT/target/release
WORK=
MNT=
SPOOL=

cleanup() {
	if [ -n "$MNT" ] && mountpoint -q "$MNT"; then
		umount "$MNT"
	fi
	if [ -n "$WORK" ]; then
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT

need_time() {
	if [ ! -x /usr/bin/time ]; then
		if [ "$(id -u)" = 0 ]; then
			apt-get install -y time >/dev/null 2>&1 ||
				{ apt-get update >/dev/null && apt-get install -y time >/dev/null; }
		else
			echo "bench.sh: /usr/bin/time is missing (apt-get install time)" >&2
			exit 69
		fi
	fi
}

# A fresh file system for the spool; sets SPOOL (and WORK, MNT for the
# cleanup: so not in a subshell).
make_spool_dir() {
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/stats-bench.XXXXXX")
	if [ "$(id -u)" = 0 ]; then
		# Room for the files (two 4 KiB blocks a message) and the journal.
		local gib=$(((N * 10240 + 1073741823) / 1073741824 + 2))
		local inodes=$((N * 2 + 100000))
		truncate -s "${gib}G" "$WORK/fs.img"
		if mkfs.ext4 -q -F -N "$inodes" "$WORK/fs.img" &&
			mkdir "$WORK/mnt" && mount -o loop "$WORK/fs.img" "$WORK/mnt"; then
			MNT=$WORK/mnt
			SPOOL=$MNT/spool
			return
		fi
		echo "bench.sh: no loop mount; using $WORK" >&2
	fi
	SPOOL=$WORK/spool
}

# run LABEL CMD... : median wall seconds and peak RSS (KiB) of RUNS runs.
run() {
	local label=$1
	shift
	local walls=() rss=0 i out
	for ((i = 0; i < RUNS; i++)); do
		out=$(/usr/bin/time -f '%e %M' "$@" 2>&1 >/dev/null | tail -1)
		walls+=("${out% *}")
		if [ "${out#* }" -gt "$rss" ]; then rss=${out#* }; fi
	done
	local median
	median=$(printf '%s\n' "${walls[@]}" | sort -n | sed -n "$(((RUNS + 1) / 2))p")
	printf '%-34s %9s %10s\n' "$label" "$median" "$((rss / 1024))"
}

main() {
	need_time
	cd "$ROOT"
	cargo build --release -q -p suzanne-stats --bin suzanne-stats \
		--example synth_spool
	if [ -n "${BENCH_SPOOL:-}" ]; then
		SPOOL=$BENCH_SPOOL
		WORK=$(mktemp -d "${TMPDIR:-/tmp}/stats-bench.XXXXXX")
	else
		make_spool_dir
	fi
	local spool=$SPOOL
	if [ ! -s "$spool/journal" ]; then
		echo "building a spool of $N messages in $spool"
		/usr/bin/time -f 'built in %e s' "$BIN/examples/synth_spool" "$spool" "$N"
	fi
	local lines
	lines=$(wc -l <"$spool/journal")
	echo "journal: $lines lines, $(du -h "$spool/journal" | cut -f1)"
	echo
	local stats=("$BIN/suzanne-stats" --config /dev/null --spool "$spool")
	local out=$WORK/reports
	printf '%-34s %9s %10s\n' "command" "wall s" "peak MiB"
	echo "-- baselines"
	run "wc -l journal" wc -l "$spool/journal"
	run "cat journal" cat "$spool/journal"
	run "sha256sum journal" sha256sum "$spool/journal"
	run "cat every record (find|xargs cat)" \
		sh -c "find '$spool/msg' -type f -print0 | xargs -0 cat"
	echo "-- suzanne-stats"
	local r
	for r in arrivals stages latency registrars contested verify-journal \
		summary requests reconcile; do
		run "$r" "${stats[@]}" "$r"
	done
	run "chart" "${stats[@]}" chart --out "$out.svg"
	run "all --out DIR" "${stats[@]}" all --out "$out"
}

main "$@"
