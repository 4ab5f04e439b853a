# SPDX-License-Identifier: ISC
# bench/private_sysqd.sh - sourced by a bench/b_*.sh: private_sysqd NAME SYSQD
# starts SYSQD on a socket in a new temp dir ($dir/s), its stderr in
# $dir/log, and waits (5 s at most) until it listens; on exit or a signal
# the daemon is stopped and the dir removed.  Sets dir and pid.
# private_sysqd_listen NAME SYSQD starts it again in the same dir (after a
# bench stopped it to change what it serves).
private_sysqd() {
	dir=$(mktemp -d "/tmp/sysq-bench-$1.XXXXXX") || exit 1
	pid=
	trap 'private_sysqd_stop' EXIT INT TERM
	private_sysqd_listen "$@"
}

private_sysqd_listen() {
	rm -f "$dir/s"
	"$2" -s "$dir/s" 2>"$dir/log" &
	pid=$!
	i=0
	until [ -S "$dir/s" ]; do
		i=$((i + 1))
		if [ "$i" -gt 500 ] || ! kill -0 "$pid" 2>/dev/null; then
			echo "  $1: sysqd did not start: $(cat "$dir/log")" >&2
			exit 1
		fi
		sleep 0.01
	done
}

private_sysqd_stop() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$dir"
}
