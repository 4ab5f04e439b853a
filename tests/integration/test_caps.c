/* SPDX-License-Identifier: ISC */
/*
 * test_caps.c - least privilege as the kernel sees it: sysqd keeps only the
 * capabilities it uses (effective: the base set), and it starts and serves
 * inside a narrower bounding set such as systemd/sysqd.service grants,
 * doing without what it was not given.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "sq_proto.h"

/* CapEff/CapPrm/CapBnd of pid, as hex from /proc/PID/status. */
static unsigned long long cap_field(pid_t pid, const char *name)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "re");
	cr_assert(f, "%s", path);
	unsigned long long v = ~0ull;
	size_t n = strlen(name);
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, name, n) == 0 && line[n] == ':')
			v = strtoull(line + n + 1, NULL, 16);
	fclose(f);
	return v;
}

#define BASE_CAPS 0x10c4ull /* setuid setgid net_admin dac_read_search */

Test(caps, only_the_base_set_is_effective, .timeout = 60)
{
	SKIP_UNLESS_ROOT();
	struct sqd d;
	sqd_start(&d, NULL);
	cr_assert_eq(cap_field(d.pid, "CapEff"), BASE_CAPS, "effective set %llx",
	             cap_field(d.pid, "CapEff"));
	cr_assert_eq(cap_field(d.pid, "CapInh"), 0ull);
	/* nothing outside base + root-caller set is permitted or bounding */
	unsigned long long allowed = BASE_CAPS | (1ull << 1) | (1ull << 3) | (1ull << 21) |
	                             (1ull << 5) | (1ull << 19);
	cr_assert_eq(cap_field(d.pid, "CapPrm") & ~allowed, 0ull);
	cr_assert_eq(cap_field(d.pid, "CapBnd") & ~allowed, 0ull);
	sqd_stop_clean(&d);
}

Test(caps, starts_within_the_systemd_units_bounding_set, .timeout = 60)
{
	SKIP_UNLESS_ROOT();
	if (system("command -v setpriv >/dev/null 2>&1") != 0)
		cr_skip_test("SKIPPED: setpriv (util-linux) is not installed");
	char dir[] = "/tmp/sysq-caps.XXXXXX", sock[64], log[64], cmd[512];
	cr_assert(mkdtemp(dir));
	snprintf(sock, sizeof(sock), "%s/s.sock", dir);
	snprintf(log, sizeof(log), "%s/log", dir);
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		freopen(log, "w", stderr);
		execlp("setpriv", "setpriv", "--bounding-set",
		       "-all,+setuid,+setgid,+net_admin,+dac_read_search",
		       getenv("SQ_SYSQD"), "-s", sock, "-v", (char *)NULL);
		_exit(127);
	}
	int up = 0;
	for (int i = 0; i < 1000 && !up; i++) {
		snprintf(cmd, sizeof(cmd), "%s -s %s ping >/dev/null 2>&1", getenv("SQ_SYSQ"), sock);
		up = system(cmd) == 0;
		int st;
		if (!up && waitpid(pid, &st, WNOHANG) == pid) {
			char *text = slurp(log);
			cr_assert_fail("sysqd exited under the unit's bounding set:\n%s", text);
		}
		if (!up)
			usleep(10000);
	}
	cr_assert(up, "sysqd did not answer within 10 s");
	char *text = slurp(log);
	cr_expect(strstr(text, "for root callers: no more"), "log:\n%s", text);
	free(text);
	kill(pid, SIGTERM);
	int st;
	waitpid(pid, &st, 0);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d", st);
	unlink(log);
	rmdir(dir);
}
