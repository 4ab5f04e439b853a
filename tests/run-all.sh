#!/bin/sh
# tests/run-all.sh BUILD_DIR [unit|integration|interop] - run the suites
# against the binaries in BUILD_DIR and print one closing line:
#   sysq tests: N passed, N failed, N skipped
# Exits non-zero when anything failed or a suite could not run.
set -u
out=${1:?usage: tests/run-all.sh BUILD_DIR [suite]}
only=${2:-all}
top=$(cd "$(dirname "$0")/.." && pwd)
logdir=$top/$out/test-logs
mkdir -p "$logdir"

export SQ_SYSQD="${SQ_SYSQD_OVERRIDE:-$top/$out/sysqd}"
export SQ_SYSQ="$top/$out/sysq"

# Tests run pieces as uid 65534.  A checkout under a private home (/root is
# 0700) would hide the binaries from that user: then run copies of them from
# a world-readable directory (the build variant's name is kept, test_service
# reads it from the path).
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null 2>&1 &&
   ! setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$SQ_SYSQ" 2>/dev/null; then
	bindir=$(mktemp -d /tmp/sysq-bin.XXXXXX) || exit 1
	trap 'rm -rf "$bindir"' EXIT
	mkdir -p "$bindir/$(basename "$out")"
	cp "$SQ_SYSQ" "$top/$out/sysqd" "$bindir/$(basename "$out")/"
	chmod 755 "$bindir" "$bindir/$(basename "$out")"
	export SQ_SYSQ="$bindir/$(basename "$out")/sysq"
	[ -n "${SQ_SYSQD_OVERRIDE:-}" ] || export SQ_SYSQD="$bindir/$(basename "$out")/sysqd"
	echo "tests: $top is not reachable by uid 65534; running copies from $bindir"
fi
export SQ_TOP="$top"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:exitcode=86:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
export LSAN_OPTIONS="suppressions=$top/tests/lsan.supp:${LSAN_OPTIONS:-}"

passed=0 failed=0 skipped=0 broken=""

criterion_suite() { # name binary
	name=$1 bin=$2 log=$logdir/$1.log
	echo "== $name tests"
	"$bin" --jobs 2 --verbose=0 >"$log" 2>&1
	rc=$?
	cat "$log"
	syn=$(grep 'Synthesis:' "$log" | tail -n 1)
	if [ -z "$syn" ]; then
		broken="$broken $name"
		return
	fi
	t=$(echo "$syn" | sed -n 's/.*Tested: \([0-9]*\).*/\1/p')
	p=$(echo "$syn" | sed -n 's/.*Passing: \([0-9]*\).*/\1/p')
	f=$(echo "$syn" | sed -n 's/.*Failing: \([0-9]*\).*/\1/p')
	c=$(echo "$syn" | sed -n 's/.*Crashing: \([0-9]*\).*/\1/p')
	s=$(grep -c '\[SKIP\]' "$log")
	passed=$((passed + p)) failed=$((failed + f))
	skipped=$((skipped + s))
	[ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && broken="$broken $name(exit $rc)"
	: "$t" "$c"
}

python_suite() {
	log=$logdir/interop.log
	echo "== interop tests (python3-msgpack)"
	/usr/bin/python3 -m unittest discover -s "$top/tests/interop" -p 'test_*.py' -v >"$log" 2>&1
	rc=$?
	cat "$log"
	ran=$(sed -n 's/^Ran \([0-9]*\) tests\{0,1\}.*/\1/p' "$log" | tail -n 1)
	if [ -z "$ran" ]; then
		broken="$broken interop"
		return
	fi
	last=$(grep -E '^(OK|FAILED)' "$log" | tail -n 1)
	f=$(echo "$last" | sed -n 's/.*failures=\([0-9]*\).*/\1/p')
	e=$(echo "$last" | sed -n 's/.*errors=\([0-9]*\).*/\1/p')
	s=$(echo "$last" | sed -n 's/.*skipped=\([0-9]*\).*/\1/p')
	f=${f:-0} e=${e:-0} s=${s:-0}
	passed=$((passed + ran - f - e - s)) failed=$((failed + f + e)) skipped=$((skipped + s))
	[ "$rc" -ne 0 ] && [ $((f + e)) -eq 0 ] && broken="$broken interop(exit $rc)"
}

case $only in all|unit) criterion_suite unit "$top/$out/tests/unit-tests" ;; esac
case $only in all|integration) criterion_suite integration "$top/$out/tests/integration-tests" ;; esac
case $only in all|interop) python_suite ;; esac

echo
[ -n "$broken" ] && echo "suites that did not run cleanly:$broken"
echo "sysq tests: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ -z "$broken" ]
