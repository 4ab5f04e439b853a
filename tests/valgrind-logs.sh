#!/bin/sh
# SPDX-License-Identifier: ISC
# tests/valgrind-logs.sh DIR - fail (and show them) when the valgrind logs
# in DIR (sysqd.PID.log, written by `make valgrind`) report a memory error or
# a definite leak.  valgrind runs with -q, so a log holds only what it
# reports; warnings about system calls it does not know are not errors.
set -u
dir=${1:?usage: tests/valgrind-logs.sh DIR}
bad=0 n=0
for f in "$dir"/sysqd.*.log; do
	[ -e "$f" ] || continue
	n=$((n + 1))
	if grep -qE '== (Invalid (read|write|free)|Conditional jump|Use of uninitialised|Syscall param|Mismatched free|Source and destination overlap|Jump to the invalid address|Process terminating)|definitely lost in|Argument .* of function .* has a fishy' "$f"; then
		echo "valgrind reports in $f:"
		cat "$f"
		bad=$((bad + 1))
	fi
done
echo "valgrind logs: $n read, $bad with errors or definite leaks"
[ "$n" -gt 0 ] || { echo "valgrind logs: none in $dir: did sysqd run under valgrind?"; exit 1; }
[ "$bad" -eq 0 ]
