#!/bin/sh
# SPDX-License-Identifier: ISC
# bench/b_fs.sh BUILD_DIR - fs.list and `sysq df` speed against raw
# baselines measured in the same run (bench/fs_bench.c): a private sysqd
# on a temporary socket, removed again however the script ends.  First on
# this machine's own mount table; then, each in a private mount namespace
# (unshare -m, propagation private: nothing reaches the host's table) with
# its own sysqd started inside, on exactly 20 and 1,000 mounts: tmpfs
# mounts added under a temp dir, or, to come down to 20, mounts that are
# not /, /proc, /sys, /dev, /dev/pts, /dev/shm nor hold the build or the
# temp dir unmounted (lazily) in that namespace alone.  The namespace ends
# with its last process, and its mounts with it.
# Env: SQ_BENCH_FS_ROUNDS (default 2000 on the host's table, 500 at 20
# mounts, 200 at 1,000), SQ_BENCH_MOUNTS (default "20 1000").
# Internal: b_fs.sh --mounts N BUILD_DIR runs one count inside a namespace.
set -u
if [ "${1:-}" = --mounts ]; then
	want=$2
	shift 2
fi
out=${1:?usage: bench/b_fs.sh BUILD_DIR}
case $out in /*) ;; *) out=$PWD/$out ;; esac
bin=$out/bench/fs_bench
if [ ! -x "$bin" ] || [ ! -x "$out/sysqd" ] || [ ! -x "$out/sysq" ]; then
	echo "b_fs: build first (make bench builds $bin, $out/sysqd, $out/sysq)" >&2
	exit 1
fi
if ! command -v df >/dev/null 2>&1; then
	echo "b_fs: no df(1) to compare with" >&2
	exit 1
fi
here=$(cd "$(dirname "$0")" && pwd)
. "$here/private_sysqd.sh"

count() { wc -l </proc/self/mountinfo; }

# Inside a private namespace: bring the table to $want mounts, then measure.
if [ -n "${want:-}" ]; then
	private_sysqd fs "$out/sysqd" # sets dir (the socket's) and pid; stops it on exit
	kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null # started again once the table is set
	pid=
	keep="$out $dir"
	while [ "$(count)" -gt "$want" ]; do
		victim=$(awk '{ print $5 }' /proc/self/mountinfo | sed 's/\\040/ /g' | sort -r |
			while read -r m; do
				case $m in /|/proc|/sys|/dev|/dev/pts|/dev/shm) continue ;; esac
				held=
				for k in $keep; do
					case $k/ in "$m"/*) held=1 ;; esac
				done
				[ -z "$held" ] && { echo "$m"; break; }
			done)
		if [ -z "$victim" ] || ! umount -l "$victim" 2>/dev/null; then
			echo "  fs ($want mounts): not measured: cannot come down to $want mounts" \
				"($(count) left)"
			exit 1
		fi
	done
	# the added mounts sit on one tmpfs of their own (counted too), so one
	# umount -R takes them all away again before the dir is removed
	trap 'umount -R -l "$dir/m" 2>/dev/null; private_sysqd_stop' EXIT INT TERM
	added=0
	if [ "$(count)" -lt "$want" ]; then
		mkdir -p "$dir/m" && mount -t tmpfs -o size=1m sqbench "$dir/m" || exit 1
		added=1
	fi
	while [ "$(count)" -lt "$want" ]; do
		added=$((added + 1))
		mkdir -p "$dir/m/$added" && mount -t tmpfs -o size=64k "sq$added" "$dir/m/$added" || {
			echo "  fs ($want mounts): not measured: mount failed at $(count) mounts"
			exit 1
		}
	done
	private_sysqd_listen "fs ($want mounts)" "$out/sysqd"
	rounds=${SQ_BENCH_FS_ROUNDS:-$([ "$want" -ge 500 ] && echo 200 || echo 500)}
	echo "fs in a private mount namespace, $(count) mounts ($added tmpfs added):"
	SQ_BENCH_SYSQD_PID=$pid "$bin" "$dir/s" "$out/sysq" "$rounds" "$want mounts"
	exit $?
fi

private_sysqd fs "$out/sysqd"
echo "fs (mount table and statfs, hang-safe probes), this machine's $(count) mounts:"
SQ_BENCH_SYSQD_PID=$pid "$bin" "$dir/s" "$out/sysq" "${SQ_BENCH_FS_ROUNDS:-2000}" || exit 1
kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
pid=

rc=0
for n in ${SQ_BENCH_MOUNTS:-20 1000}; do
	if [ "$(id -u)" != 0 ] || ! unshare -m --propagation private true 2>/dev/null; then
		echo "  fs ($n mounts): not measured: needs root and unshare -m"
		rc=1
		continue
	fi
	unshare -m --propagation private sh "$here/b_fs.sh" --mounts "$n" "$out" || rc=1
done
exit $rc
