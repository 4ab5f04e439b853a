/* SPDX-License-Identifier: ISC */
/*
 * test_callerpath.c - lib/sq_callerpath.h in this process, both ways it
 * resolves on Linux (openat2, and the walk used without it): our own
 * descriptors, cwd and /proc entry refused with EXDEV by every spelling;
 * ordinary links, "..", nofollow, loops, ENOTDIR, ENOENT and EACCES as
 * open(2) has them.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sq_callerpath.h"

#ifdef __linux__

static char dir[64];

static void mk(const char *name, const char *text, mode_t mode)
{
	char p[128];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	cr_assert(fd >= 0, "%s: %s", p, strerror(errno));
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	chmod(p, mode);
}

static void ln(const char *target, const char *name)
{
	char p[128];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	cr_assert_eq(symlink(target, p), 0, "%s: %s", p, strerror(errno));
}

static void up(void)
{
	snprintf(dir, sizeof(dir), "/tmp/sysq-cp.XXXXXX");
	cr_assert(mkdtemp(dir));
	chmod(dir, 0755);
	mk("file", "content", 0644);
	mk("secret", "root's", 0600);
	char p[128];
	snprintf(p, sizeof(p), "%s/sub", dir);
	cr_assert_eq(mkdir(p, 0755), 0);
	ln("file", "rel-link");
	snprintf(p, sizeof(p), "%s/file", dir);
	ln(p, "abs-link");
	ln("loop-b", "loop-a");
	ln("loop-a", "loop-b");
	ln("/proc/self/fd/0", "to-fd");
	ln("/proc/self/status", "to-status");
}

static void down(void)
{
	sq_callerpath_force_walk(0);
	char cmd[96];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_expect_eq(system(cmd), 0);
}

TestSuite(callerpath, .init = up, .fini = down);

/* What opening path with flags gives: the file's first bytes, or -errno. */
static int try_open(const char *path, int flags, char *got, size_t size)
{
	int fd = sq_callerpath_open(path, flags);
	if (fd < 0)
		return fd;
	ssize_t n = (flags & O_PATH) ? 0 : read(fd, got, size - 1);
	got[n > 0 ? n : 0] = '\0';
	close(fd);
	return 0;
}

static int in_dir(const char *name, int flags, char *got, size_t size)
{
	char p[160];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return try_open(p, flags, got, size);
}

/* Both ways: with openat2 where the kernel has it, and the walk. */
ParameterizedTestParameters(callerpath, own_process_is_refused)
{
	static int modes[] = { 0, 1 };
	return cr_make_param_array(int, modes, 2);
}

ParameterizedTest(int *walk, callerpath, own_process_is_refused)
{
	sq_callerpath_force_walk(*walk);
	int fd = open("/etc/hostname", O_RDONLY | O_CLOEXEC);
	cr_assert(fd >= 0);
	char p[96], got[64];
	const char *spellings[] = { "/proc/self/fd/%d", "/proc/thread-self/fd/%d",
	                            "/dev/fd/%d", "/proc/%2$d/fd/%1$d", "/proc/%2$d/fdinfo/%1$d",
	                            "/proc/self/status", "/proc/%2$d/status", "/proc/%2$d/environ",
	                            "/proc/self/cwd/etc/hostname", "/proc/self/root/etc/hostname",
	                            "/proc/self/exe", "/dev/stdin", "/proc/mounts" };
	for (size_t i = 0; i < sizeof(spellings) / sizeof(spellings[0]); i++) {
		snprintf(p, sizeof(p), spellings[i], fd, (int)getpid());
		cr_expect_eq(try_open(p, O_RDONLY, got, sizeof(got)), -EXDEV, "%s (walk %d)", p, *walk);
		cr_expect_eq(try_open(p, O_PATH, got, sizeof(got)), -EXDEV, "%s O_PATH (walk %d)", p,
		             *walk);
	}
	cr_expect_eq(in_dir("to-fd", O_RDONLY, got, sizeof(got)), -EXDEV);
	cr_expect_eq(in_dir("to-status", O_RDONLY, got, sizeof(got)), -EXDEV);
	/* another process's /proc entry is its own business: the kernel decides */
	cr_expect_eq(try_open("/proc/1/stat", O_RDONLY, got, sizeof(got)), 0, "walk %d", *walk);
	close(fd);
}

ParameterizedTestParameters(callerpath, ordinary_paths_as_open_has_them)
{
	static int modes[] = { 0, 1 };
	return cr_make_param_array(int, modes, 2);
}

ParameterizedTest(int *walk, callerpath, ordinary_paths_as_open_has_them)
{
	sq_callerpath_force_walk(*walk);
	char got[64];
	cr_assert_eq(in_dir("file", O_RDONLY, got, sizeof(got)), 0);
	cr_assert_str_eq(got, "content");
	cr_assert_eq(in_dir("rel-link", O_RDONLY, got, sizeof(got)), 0);
	cr_assert_str_eq(got, "content");
	cr_assert_eq(in_dir("abs-link", O_RDONLY, got, sizeof(got)), 0);
	cr_assert_str_eq(got, "content");
	cr_assert_eq(in_dir("sub/../file", O_RDONLY, got, sizeof(got)), 0);
	cr_assert_str_eq(got, "content");
	cr_assert_eq(in_dir("sub/./../sub/../rel-link", O_RDONLY, got, sizeof(got)), 0);
	cr_assert_eq(in_dir("rel-link", O_RDONLY | O_NOFOLLOW, got, sizeof(got)), -ELOOP);
	cr_assert_eq(in_dir("loop-a", O_RDONLY, got, sizeof(got)), -ELOOP);
	cr_assert_eq(in_dir("file/", O_RDONLY, got, sizeof(got)), -ENOTDIR);
	cr_assert_eq(in_dir("file/x", O_PATH, got, sizeof(got)), -ENOTDIR);
	cr_assert_eq(in_dir("nothing", O_RDONLY, got, sizeof(got)), -ENOENT);
	/* a final link itself */
	char p[160];
	snprintf(p, sizeof(p), "%s/rel-link", dir);
	int fd = sq_callerpath_open(p, O_PATH | O_NOFOLLOW);
	cr_assert_geq(fd, 0);
	struct stat st;
	cr_assert_eq(fstat(fd, &st), 0);
	cr_assert(S_ISLNK(st.st_mode));
	close(fd);
	/* the root and a directory */
	fd = sq_callerpath_open("/", O_PATH);
	cr_assert_geq(fd, 0);
	close(fd);
}

/* As uid 65534: a 0600 file of root's is EACCES, its 0644 one readable. */
static int as_nobody(int walk)
{
	if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
		return 100;
	sq_callerpath_force_walk(walk);
	char got[64];
	int bad = 0;
	if (in_dir("secret", O_RDONLY, got, sizeof(got)) != -EACCES)
		bad |= 1;
	if (in_dir("file", O_RDONLY, got, sizeof(got)) != 0)
		bad |= 2;
	if (in_dir("secret", O_PATH, got, sizeof(got)) != 0) /* O_PATH asks no permission */
		bad |= 4;
	return bad;
}

Test(callerpath, the_kernel_decides_permission_both_ways)
{
	if (geteuid() != 0)
		cr_skip_test("SKIPPED: needs root (to become uid 65534)");
	for (int walk = 0; walk < 2; walk++) {
		pid_t pid = fork();
		cr_assert(pid >= 0);
		if (pid == 0)
			_exit(as_nobody(walk));
		int st;
		cr_assert_eq(waitpid(pid, &st, 0), pid);
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "walk %d: bits %d", walk,
		          WEXITSTATUS(st));
	}
}

#endif /* __linux__ */
