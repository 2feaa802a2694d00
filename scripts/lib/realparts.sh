# shellcheck shell=bash
# Helpers shared by the scripts that start the real parts Suzanne meets in
# production (a private Postfix, smtp-sink) and by scripts/test. Sourced by
# them, never run.
#
# Conventions: errors are one line on stderr, `script: action 'object':
# cause`; exit codes follow sysexits (64 usage, 69 unavailable, 70 internal,
# 75 try later, 77 not permitted, 78 configuration).

# Postfix's commands live in /usr/sbin, which a non-login PATH may lack.
# Appended, so that the caller's python3 or cargo still come first.
export PATH=${PATH:+$PATH:}/usr/sbin:/usr/bin:/sbin:/bin
export LC_ALL=C

RP_ME=${RP_ME:-${0##*/}}
RP_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

rp_err() { printf '%s: %s\n' "$RP_ME" "$*" >&2; }

rp_die() {
	local code=$1
	shift
	rp_err "$@"
	exit "$code"
}

# Progress notes only when asked: the scripts are quiet on success.
rp_note() {
	if [ "${SUZ_VERBOSE:-0}" = 1 ]; then rp_err "$@"; fi
	return 0
}

rp_ms() {
	local ns
	ns=$(date +%s%N)
	echo $((ns / 1000000))
}

# rp_elapsed T0: seconds since T0 (from rp_ms), with milliseconds.
rp_elapsed() {
	local d
	d=$(($(rp_ms) - $1))
	printf '%d.%03d' $((d / 1000)) $((d % 1000))
}

rp_require_root() {
	[ "$(id -u)" = 0 ] || rp_die 77 "$1: must run as root"
}

# rp_port_arg PORT: validate a TCP port given on the command line (0 is
# handled by rp_auto_port before).
rp_port_arg() {
	case $1 in
	'' | *[!0-9]*) rp_die 64 "read port '$1': not a number" ;;
	esac
	if [ "$1" -lt 1024 ] || [ "$1" -gt 65535 ]; then
		rp_die 64 "read port '$1': must be 0 or 1024..65535"
	fi
}

# rp_free_ports COUNT: print COUNT distinct ports of 20000-29999 that
# nothing listens on, or fail after 200 tries.
rp_free_ports() {
	local found=() port i
	for ((i = 0; i < 200 && ${#found[@]} < $1; i++)); do
		port=$((20000 + RANDOM % 10000))
		rp_port_busy "$port" && continue
		case " ${found[*]} " in *" $port "*) continue ;; esac
		found+=("$port")
	done
	[ "${#found[@]}" -eq "$1" ] || return 1
	printf '%s\n' "${found[@]}"
}

# rp_auto_port SCRIPT DIR CURRENT: for PORT 0. Run SCRIPT DIR PORT on the
# port the instance in DIR already serves (CURRENT), else on a free one;
# a port taken by someone else between the check and the bind (exit 75)
# is replaced by another, three times at most.
rp_auto_port() {
	local script=$1 dir=$2 port=$3 i rc
	[ -z "$port" ] || exec "$script" "$dir" "$port"
	for ((i = 0; i < 3; i++)); do
		port=$(rp_free_ports 1) ||
			rp_die 75 "find a free port: none in 200 tries"
		rc=0
		"$script" "$dir" "$port" || rc=$?
		[ "$rc" -eq 75 ] || exit "$rc"
	done
	exit 75
}

# rp_dir_arg DIR: print the absolute form of a working directory given on
# the command line. It ends up in Postfix configuration and in eval'd
# output, so only plain characters are allowed, and system directories are
# refused outright.
rp_dir_arg() {
	local d
	d=$(realpath -m -- "$1")
	case $d in
	*[!A-Za-z0-9._/+-]*)
		rp_die 64 "use directory '$1': only A-Z a-z 0-9 . _ / + - allowed"
		;;
	/ | /bin* | /boot* | /dev* | /etc* | /home | /lib* | /proc* | /root | \
		/run | /sbin* | /sys* | /tmp | /usr* | /var | /var/lib | /var/mail* | \
		/var/spool | /var/spool/postfix*)
		rp_die 64 "use directory '$d': a system directory"
		;;
	esac
	printf '%s\n' "$d"
}

# rp_dir_ours DIR NAME...: true if DIR is absent, empty, or holds only the
# named entries, so a script never writes into someone else's directory.
rp_dir_ours() {
	local dir=$1 e name ok known
	shift
	[ -d "$dir" ] || return 0
	for e in "$dir"/* "$dir"/.[!.]* "$dir"/..?*; do
		[ -e "$e" ] || [ -L "$e" ] || continue
		name=${e##*/}
		ok=no
		for known in "$@"; do
			if [ "$name" = "$known" ]; then ok=yes; fi
		done
		[ "$ok" = yes ] || return 1
	done
	return 0
}

# rp_traversable USER PATH: true if USER can reach PATH. mktemp -d makes
# 0700 directories that the postfix and nobody users cannot enter.
rp_traversable() {
	runuser -u "$1" -- test -x "$2" 2>/dev/null
}

rp_port_busy() {
	ss -Hltn "sport = :$1" 2>/dev/null | grep -q .
}

# rp_port_pids PORT: pids of every process holding a listening socket on
# PORT (Postfix's master and its smtpd children share it).
rp_port_pids() {
	ss -Hltnp "sport = :$1" 2>/dev/null | grep -o 'pid=[0-9]*' |
		cut -d= -f2 | sort -u
}

# rp_wait_smtp PORT SECONDS: wait until 127.0.0.1:PORT greets with 220.
rp_wait_smtp() {
	local port=$1 tries=$(($2 * 10)) i
	for ((i = 0; i < tries; i++)); do
		if rp_smtp_greets "$port"; then return 0; fi
		sleep 0.1
	done
	return 1
}

rp_smtp_greets() {
	local line=''
	{
		exec 3<>"/dev/tcp/127.0.0.1/$1" || return 1
		read -r -t 2 line <&3 || true
		printf 'QUIT\r\n' >&3 || true
		exec 3>&- 3<&-
	} 2>/dev/null
	[[ $line == 220* ]]
}

# rp_proc_start PID: start time of PID in clock ticks since boot (field 22
# of /proc/PID/stat). With the pid it names one process for good, so a
# recycled pid is never signalled.
rp_proc_start() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	# shellcheck disable=SC2086 # split the fields on purpose
	set -- $stat
	echo "${20}"
}

rp_proc_state() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	echo "${stat%% *}"
}

# rp_proc_is PID START COMM: true if that very process still runs (a
# zombie waiting for its parent counts as gone).
rp_proc_is() {
	[ -n "$1" ] || return 1
	[ "$(cat "/proc/$1/comm" 2>/dev/null)" = "$3" ] || return 1
	[ "$(rp_proc_start "$1")" = "$2" ] || return 1
	[ "$(rp_proc_state "$1")" != Z ]
}

# rp_wait_gone PID START COMM TENTHS: bounded wait for a process to end.
rp_wait_gone() {
	local i
	for ((i = 0; i < $4; i++)); do
		rp_proc_is "$1" "$2" "$3" || return 0
		sleep 0.1
	done
	! rp_proc_is "$1" "$2" "$3"
}

# rp_stop PID START COMM: SIGTERM, up to 5 s, then SIGKILL, up to 5 s.
rp_stop() {
	rp_proc_is "$1" "$2" "$3" || return 0
	kill -TERM "$1" 2>/dev/null || true
	rp_wait_gone "$1" "$2" "$3" 50 && return 0
	rp_err "stop '$3' pid $1: still running after 5 s, sending SIGKILL"
	kill -KILL "$1" 2>/dev/null || true
	rp_wait_gone "$1" "$2" "$3" 50
}

# ---------------------------------------------------------------- packages

# rp_debs_missing PKG...: print the packages that are not installed.
rp_debs_missing() {
	local installed p
	installed=$(dpkg-query -W -f '${db:Status-Status} ${Package}\n' "$@" \
		2>/dev/null | awk '$1 == "installed" { print $2 }') || true
	for p in "$@"; do
		grep -qx -- "$p" <<<"$installed" || echo "$p"
	done
}

# rp_apt_ensure PKG...: install the packages that are missing. apt-get
# update runs first only when the package lists are absent, and at most
# once more if an install fails (stale lists name files the mirror no
# longer has). Concurrent callers are serialised on this file's flock.
rp_apt_ensure() {
	local missing
	missing=$(rp_debs_missing "$@" | paste -sd ' ')
	[ -n "$missing" ] || return 0
	[ "$(id -u)" = 0 ] || rp_die 77 "install '$missing': must run as root"
	(
		flock -w 600 9 || rp_die 75 "install: lock '$RP_LIB': busy 600 s"
		rp_apt_install_locked "$@"
	) 9<"$RP_LIB/realparts.sh"
}

rp_apt_install_locked() {
	local missing log t0
	missing=$(rp_debs_missing "$@")
	[ -n "$missing" ] || return 0
	# shellcheck disable=SC2086 # one package a word
	set -- $missing
	t0=$(rp_ms)
	log=$(mktemp /tmp/suzanne-apt.XXXXXX)
	rp_err "installing Debian packages: $* (log $log)"

	# "No configuration": no /etc/postfix/main.cf, so the package starts
	# no system Postfix; the private instances bring their own config.
	echo 'postfix postfix/main_mailer_type select No configuration' |
		debconf-set-selections

	if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
		rp_apt_update "$log"
		rp_apt_get_install "$log" "$@" || rp_apt_failed "$log" "$@"
	elif ! rp_apt_get_install "$log" "$@"; then
		rp_err "install '$*': failed; running apt-get update and retrying"
		rp_apt_update "$log"
		rp_apt_get_install "$log" "$@" || rp_apt_failed "$log" "$@"
	fi
	rm -f "$log"
	rp_err "installed $* in $(rp_elapsed "$t0") s"
}

rp_apt_update() {
	apt-get update -q -o DPkg::Lock::Timeout=300 >>"$1" 2>&1 ||
		rp_err "apt-get update: failed (see '$1'); trying anyway"
}

rp_apt_get_install() {
	local log=$1
	shift
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends -o DPkg::Lock::Timeout=300 "$@" \
		>>"$log" 2>&1
}

rp_apt_failed() {
	local log=$1
	shift
	tail -n 15 "$log" >&2
	rp_die 69 "install '$*': apt-get failed (log '$log')"
}

# rp_mail_user NAME: the system user that owns the test mailboxes.
# useradd is serialised like the installs: parallel tests may both find
# the user missing.
rp_mail_user() {
	getent passwd "$1" >/dev/null && return 0
	(
		flock -w 60 9 || rp_die 75 "add user '$1': lock busy 60 s"
		getent passwd "$1" >/dev/null && exit 0
		useradd --system --user-group --no-create-home \
			--home-dir /nonexistent --shell /usr/sbin/nologin "$1" ||
			rp_die 70 "add user '$1': useradd failed"
	) 9<"$RP_LIB/realparts.sh"
}

# rp_pf_master DIR: pid of the master of the private Postfix in DIR, or
# nothing. Cheaper and surer than `postfix status` (which takes 1.5 s on a
# stopped instance): the pid file, checked against /proc.
rp_pf_master() {
	local pid
	pid=$(awk 'NR == 1 { print $1 }' "$1/spool/pid/master.pid" \
		2>/dev/null) || pid=''
	case $pid in '' | *[!0-9]*) return 0 ;; esac
	[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = master ] || return 0
	[ "$(readlink "/proc/$pid/cwd" 2>/dev/null)" = "$1/spool" ] || return 0
	[ "$(rp_proc_state "$pid")" != Z ] || return 0
	echo "$pid"
}
