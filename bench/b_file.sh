#!/bin/sh
# SPDX-License-Identifier: ISC
# bench/b_file.sh BUILD_DIR - file.read speed and memory (issue: bulk transfer).
# A 1 GiB page-cached file goes to a client that discards it, through sysqd's
# file.read and through two raw baselines measured in the same run (best of
# ROUNDS, interleaved): sendfile(2) over an AF_UNIX socket pair (one call for
# the whole file), a plain read/write loop (64 KiB buffer), and raw sendfile
# driven exactly as sysqd does it (1 MiB calls after a small header write,
# non-blocking, 1 MiB SO_SNDBUF): that last ratio is sysqd's own overhead.  Also sysqd's RSS growth during a 1 GiB
# transfer.  And the CLI end to end, `sysq get FILE -o /dev/null` and
# `sysq get FILE -o OUT` (fork to exit), against the same raw sendfile, plus
# the output file's own cost alone in the same rounds (sendfile of the
# page-cached file into a new file on OUT's file system: what writing 1 GiB
# there takes, whoever does it).  OUT goes
# to /dev/shm when there is one (memory: the disk would measure the disk).
# Prints "  <name>: <figure> <unit>  ratio <x> (target <t>) OK|MISS".
# Env: SQ_BENCH_DIR (default $TMPDIR or /tmp), SQ_BENCH_ROUNDS (default 5).
set -u
b=${1:?usage: bench/b_file.sh BUILD_DIR}
case $b in /*) ;; *) b=$PWD/$b ;; esac
rounds=${SQ_BENCH_ROUNDS:-5}
tmp=$(mktemp -d "${SQ_BENCH_DIR:-${TMPDIR:-/tmp}}/sysq-bench-file.XXXXXX") || exit 1
outdir=$tmp
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
	outdir=$(mktemp -d /dev/shm/sysq-bench-file.XXXXXX) || exit 1
fi
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	[ "$outdir" = "$tmp" ] || rm -rf "$outdir"
	[ -n "${SQ_BENCH_KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# 1 GiB of incompressible bytes: 1 MiB of random data doubled ten times
head -c 1048576 /dev/urandom >"$tmp/f" || exit 1
i=0
while [ $i -lt 10 ]; do
	cat "$tmp/f" "$tmp/f" >"$tmp/g" && mv "$tmp/g" "$tmp/f" || exit 1
	i=$((i + 1))
done
cat "$tmp/f" >/dev/null # page-cached

"$b/sysqd" -s "$tmp/sysqd.sock" 2>"$tmp/sysqd.log" &
pid=$!
n=0
while [ ! -S "$tmp/sysqd.sock" ] && [ $n -lt 500 ]; do sleep 0.01; n=$((n + 1)); done
if [ ! -S "$tmp/sysqd.sock" ]; then
	echo "  file.read: sysqd did not start: $(cat "$tmp/sysqd.log")"
	exit 1
fi

if ! "$b/bench/file_bench" "$tmp/sysqd.sock" "$tmp/f" "$rounds" "$b/sysq" "$outdir/copy" \
	>"$tmp/out" 2>"$tmp/err"; then
	echo "  file.read: file_bench failed: $(cat "$tmp/err")"
	exit 1
fi
val() { sed -n "s/^$1 //p" "$tmp/out"; }
sf=$(val sendfile_mibs) sfb=$(val sendfile_chunked_mibs) rw=$(val readwrite_mibs)
d=$(val sysqd_mibs) rss=$(val rss_growth_bytes)
cn=$(val cli_null_mibs) cf=$(val cli_file_mibs)
cp=$(val raw_file_mibs)

awk -v sf="$sf" -v sfb="$sfb" -v rw="$rw" -v d="$d" -v rss="$rss" -v cn="$cn" -v cf="$cf" \
	-v cp="$cp" -v od="$outdir" 'BEGIN {
	show("file.read 1 GiB vs raw sendfile socketpair (" sf " MiB/s)", d, "MiB/s", d / sf, 0.8)
	show("file.read 1 GiB vs plain read/write loop (" rw " MiB/s)", d, "MiB/s", d / rw, 2)
	show("file.read 1 GiB vs raw sendfile driven as sysqd does (" sfb " MiB/s)", d, "MiB/s", d / sfb, 0.8)
	show("sysq get 1 GiB -o /dev/null vs raw sendfile socketpair (" sf " MiB/s)", cn, "MiB/s", cn / sf, 0.8)
	show("sysq get 1 GiB -o FILE in " od " vs raw sendfile socketpair (" sf " MiB/s)", cf, "MiB/s", cf / sf, 0.8)
	show("sysq get 1 GiB -o FILE vs raw sendfile of the file into a file there (" cp " MiB/s)", cf, "MiB/s", cf / cp, 0.8)
	r = rss / 1048576
	printf "  file.read daemon RSS growth during 1 GiB: %.2f MiB  ratio %.2f (target <1) %s\n", r, r, (r < 1 ? "OK" : "MISS")
}
function show(name, v, unit, ratio, target) {
	printf "  %s: %.0f %s  ratio %.2f (target %s) %s\n", name, v, unit, ratio, target, (ratio >= target ? "OK" : "MISS")
}'
