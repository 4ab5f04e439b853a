#!/bin/sh
# SPDX-License-Identifier: ISC
# bench/b_fs.sh BUILD_DIR - fs.list and `sysq df` speed against raw
# baselines measured in the same run (bench/fs_bench.c): a private sysqd
# on a temporary socket, removed again however the script ends.
set -u
out=${1:?usage: bench/b_fs.sh BUILD_DIR}
rounds=${SQ_BENCH_FS_ROUNDS:-2000}
bin=$out/bench/fs_bench
if [ ! -x "$bin" ] || [ ! -x "$out/sysqd" ] || [ ! -x "$out/sysq" ]; then
	echo "b_fs: build first (make bench builds $bin, $out/sysqd, $out/sysq)" >&2
	exit 1
fi
if ! command -v df >/dev/null 2>&1; then
	echo "b_fs: no df(1) to compare with" >&2
	exit 1
fi

dir=$(mktemp -d /tmp/sysq-bench-fs.XXXXXX) || exit 1
pid=
cleanup() {
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	rm -f "$dir/sysqd.sock" "$dir/sysqd.log"
	rmdir "$dir" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$out/sysqd" -s "$dir/sysqd.sock" 2>"$dir/sysqd.log" &
pid=$!
i=0
while [ ! -S "$dir/sysqd.sock" ]; do
	i=$((i + 1))
	if [ "$i" -gt 500 ] || ! kill -0 "$pid" 2>/dev/null; then
		echo "b_fs: sysqd did not start:" >&2
		cat "$dir/sysqd.log" >&2
		exit 1
	fi
	sleep 0.01
done

echo "fs (mount table and statfs, hang-safe probes):"
"$bin" "$dir/sysqd.sock" "$out/sysq" "$rounds"
