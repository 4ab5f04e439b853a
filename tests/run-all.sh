#!/bin/sh
# SPDX-License-Identifier: ISC
# tests/run-all.sh BUILD_DIR [unit|integration|interop] - run the suites
# against the binaries in BUILD_DIR and print one closing line:
#   sysq tests: N passed, N failed, N skipped
# Exits non-zero when anything failed, a suite could not run or ran no test,
# a tear-down (.fini) failed an assertion, a log holds a sanitizer report,
# or (as root, as CI runs it) a test skipped that tests/allowed-skips does
# not list.  SQ_TEST_FILTER (a Criterion --filter glob) runs only some tests.
set -u
out=${1:?usage: tests/run-all.sh BUILD_DIR [suite]}
only=${2:-all}
top=$(cd "$(dirname "$0")/.." && pwd)
logdir=$top/$out/test-logs
mkdir -p "$logdir"

export SQ_SYSQD="${SQ_SYSQD_OVERRIDE:-$top/$out/sysqd}"
export SQ_SYSQ="$top/$out/sysq"

# Tests run pieces as uid 65534.  A checkout under a private home (/root is
# 0700) would hide the binaries and the Python package from that user: then
# run copies of them from a world-readable directory (the build variant's
# name is kept, test_service reads it from the path).
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null 2>&1 &&
   ! setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$SQ_SYSQ" 2>/dev/null; then
	bindir=$(mktemp -d /tmp/sysq-bin.XXXXXX) || exit 1
	trap 'rm -rf "$bindir"' EXIT
	mkdir -p "$bindir/$(basename "$out")"
	cp "$SQ_SYSQ" "$top/$out/sysqd" "$bindir/$(basename "$out")/"
	cp -R "$top/python" "$bindir/python" # the Python package, for tests run as 65534
	chmod -R go+rX "$bindir"
	export SQ_PYTHON_DIR="$bindir/python"
	export SQ_SYSQ="$bindir/$(basename "$out")/sysq"
	[ -n "${SQ_SYSQD_OVERRIDE:-}" ] || export SQ_SYSQD="$bindir/$(basename "$out")/sysqd"
	echo "tests: $top is not reachable by uid 65534; running copies from $bindir"
fi
export SQ_TOP="$top"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:exitcode=86:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
export LSAN_OPTIONS="suppressions=$top/tests/lsan.supp:${LSAN_OPTIONS:-}"

passed=0 failed=0 skipped=0 broken=""
allowed=$top/tests/allowed-skips
strict_skips=false
[ "$(id -u)" -eq 0 ] && strict_skips=true
refused_skips=""
tab=$(printf '\t')

# Whether a skip (name, reason) is on tests/allowed-skips: a glob for the
# name, then the prefix its reason must have.
skip_allowed() {
	grep -v '^[[:space:]]*#' "$allowed" | grep . | while read -r glob why; do
		# shellcheck disable=SC2254
		case $1 in $glob) case $2 in "$why"*) echo yes; break ;; esac ;; esac
	done
}

# Count the skips listed in a file ("NAME<TAB>REASON" lines); as root, one
# that is not on the list is refused and counts as a failure at the end.
check_skips() { # file
	while IFS=$tab read -r skip_name skip_why; do
		[ -n "$skip_name" ] || continue
		skipped=$((skipped + 1))
		if $strict_skips && [ -z "$(skip_allowed "$skip_name" "$skip_why")" ]; then
			refused_skips="$refused_skips
  $skip_name: $skip_why"
		fi
	done <"$1"
}

# A report to a sanitizer or valgrind, from sysqd (its log is quoted in the
# failure message) or from a test binary itself.
has_sanitizer_report() { # log
	grep -qE 'ERROR: (Address|Leak|Thread|Memory)Sanitizer|runtime error:|definitely lost in' "$1"
}

criterion_suite() { # name binary
	name=$1 bin=$2 log=$logdir/$1.log
	echo "== $name tests"
	"$bin" --jobs 2 --verbose=0 ${SQ_TEST_FILTER:+--filter "$SQ_TEST_FILTER"} >"$log" 2>&1
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
	# Criterion prints [PASS] before .fini runs and counts a failure there
	# nowhere: tests/common/teardown.c says it on a line of its own
	late=$(grep -c '^\[FAIL\] .*: in tear-down (.fini)' "$log")
	passed=$((passed + p - late)) failed=$((failed + f + late))
	# a test SQ_TEST_FILTER leaves out is reported as "disabled": not a skip
	sed -n "s/^\[SKIP\] \([^:]*::[^:]*\): \(.*\)\$/\1$tab\2/p" "$log" |
		if [ -n "${SQ_TEST_FILTER:-}" ]; then grep -v "${tab}Test is disabled\$"; else cat; fi \
		>"$log.skips"
	check_skips "$log.skips"
	[ "$t" -eq 0 ] && broken="$broken $name(ran no test)"
	[ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && [ "$late" -eq 0 ] && broken="$broken $name(exit $rc)"
	has_sanitizer_report "$log" && broken="$broken $name(sanitizer report)"
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
	passed=$((passed + ran - f - e - s)) failed=$((failed + f + e))
	sed -n "s/^test[^ ]* (\([^)]*\)) \.\.\. skipped '\(.*\)'\$/interop::\1$tab\2/p" "$log" >"$log.skips"
	check_skips "$log.skips"
	[ "$ran" -eq "$s" ] && broken="$broken interop(ran no test)"
	[ "$rc" -ne 0 ] && [ $((f + e)) -eq 0 ] && broken="$broken interop(exit $rc)"
	has_sanitizer_report "$log" && broken="$broken interop(sanitizer report)"
}

case $only in all|unit) criterion_suite unit "$top/$out/tests/unit-tests" ;; esac
case $only in all|integration) criterion_suite integration "$top/$out/tests/integration-tests" ;; esac
case $only in all|interop) python_suite ;; esac

echo
if $strict_skips; then
	echo "skips allowed as root (tests/allowed-skips):"
	grep -v '^[[:space:]]*#' "$allowed" | grep . | sed 's/^/  /'
	if [ -n "$refused_skips" ]; then
		n=$(printf '%s\n' "$refused_skips" | grep -c .)
		echo "skipped as root but not on tests/allowed-skips (each counts as failed):$refused_skips"
		failed=$((failed + n)) skipped=$((skipped - n))
	fi
fi
[ -n "$broken" ] && echo "suites that did not run cleanly:$broken"
echo "sysq tests: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ -z "$broken" ]
