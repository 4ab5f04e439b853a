/* SPDX-License-Identifier: ISC */
/*
 * test_callerpath.c - no path a caller names reaches sysqd's own process:
 * with a root sysqd, uid 65534 tries every method that takes a path on
 * every spelling of sysqd's descriptors (/proc/self/fd/N while uid 1000's
 * transfer holds N, /dev/fd, /dev/stderr, /proc/PID/task/TID/fd, a symlink
 * of its own to them), its cwd, and its /proc entry; each is EXDEV.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "harness.h"
#include "kids.h"
#include "sq_proto.h"

#ifdef __linux__

#define VICTIM_UID 1000
#define VICTIM_GID 1000

static struct sqd d;
static char home[200];        /* uid 1000's 0700 directory */
static char secret[220];      /* a 0644 file in it, 32 MiB */

static void up(void)
{
	sqd_start(&d, NULL);
	snprintf(home, sizeof(home), "%s/home", d.dir);
	cr_assert_eq(mkdir(home, 0700), 0);
	cr_assert_eq(chown(home, VICTIM_UID, VICTIM_GID), 0);
	snprintf(secret, sizeof(secret), "%s/secret", home);
	int fd = open(secret, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	cr_assert(fd >= 0);
	cr_assert_eq(ftruncate(fd, 32 << 20), 0);
	cr_assert_eq(fsetxattr(fd, "user.secret", "1000's", 6, 0), 0, "user xattrs: %s",
	             strerror(errno));
	close(fd);
	cr_assert_eq(chown(secret, VICTIM_UID, VICTIM_GID), 0);
}

static void down(void)
{
	kid_reap_all();
	if (secret[0])
		unlink(secret);
	if (home[0])
		rmdir(home);
	sqd_stop_clean(&d);
}

TestSuite(callerpath, .init = up, .fini = down, .timeout = 60);

/* uid 1000: start a file.read of its secret and never read the data, so
 * sysqd holds the file open; then sleep. */
static void victim(void *arg)
{
	(void)arg;
	become_or_exit(VICTIM_UID, VICTIM_GID);
	char err[200];
	struct sysq *c = sysq_connect(d.sock, err, sizeof(err));
	if (!c || send_path_call(c, "file.read", secret) < 0)
		_exit(5);
	kid_ready();
	for (;;)
		pause();
}

/* sysqd's descriptor for path, waiting (10 s) for it to be opened. */
static int sysqd_fd_of(const char *path)
{
	char dir[64], link[PATH_MAX + 64], target[PATH_MAX];
	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)d.pid);
	for (int tries = 0; tries < 1000; tries++) {
		DIR *fds = opendir(dir);
		cr_assert(fds);
		struct dirent *e;
		while ((e = readdir(fds)) != NULL) {
			snprintf(link, sizeof(link), "%s/%s", dir, e->d_name);
			ssize_t n = readlink(link, target, sizeof(target) - 1);
			if (n > 0 && (target[n] = '\0', strcmp(target, path) == 0)) {
				int fd = atoi(e->d_name);
				closedir(fds);
				return fd;
			}
		}
		closedir(fds);
		usleep(10000);
	}
	cr_assert_fail("sysqd never opened %s", path);
	return -1;
}

/* One of sysqd's thread ids other than its pid (a worker thread, started
 * by a request that runs as the caller). */
static int sysqd_tid(void)
{
	struct sysq *c = sqd_connect(&d);
	struct sysq_reply r;
	cr_assert_eq(sq_call(c, "xattr.list", "{\"path\": \"/\"}", &r), 0, "%s", r.message);
	sysq_reply_free(&r);
	sysq_close(c);
	char dir[64];
	snprintf(dir, sizeof(dir), "/proc/%d/task", (int)d.pid);
	DIR *t = opendir(dir);
	cr_assert(t);
	struct dirent *e;
	int tid = -1;
	while ((e = readdir(t)) != NULL)
		if (e->d_name[0] != '.' && atoi(e->d_name) != d.pid)
			tid = atoi(e->d_name);
	closedir(t);
	cr_assert_gt(tid, 0, "sysqd has threads");
	return tid;
}

#define MAXP 40
struct attack {
	char paths[MAXP][PATH_MAX];
	bool plain_link[MAXP]; /* an ordinary symlink: nofollow acts on it */
	int n;
};

static const char *const methods[][2] = {
	{ "file.read", "" },
	{ "file.read", ", \"nofollow\": true" },
	{ "fs.stat", "" },
	{ "xattr.list", "" },
	{ "xattr.list", ", \"nofollow\": true" },
	{ "xattr.get", ", \"name\": \"user.secret\"" },
	{ "xattr.set", ", \"name\": \"user.evil\", \"value\": \"65534\"" },
	{ "xattr.remove", ", \"name\": \"user.secret\"" },
};

/* As uid 65534: every method on every path must be refused with EXDEV
 * (a path sysqd does not have open may be ENOENT).  Returns how many were
 * not; each is told on stderr (the test's log). */
static int attack(void *arg)
{
	const struct attack *a = arg;
	int bad = 0;
	for (int i = 0; i < a->n; i++)
		for (size_t m = 0; m < sizeof(methods) / sizeof(methods[0]); m++) {
			char json[PATH_MAX + 200], err[200];
			if (a->plain_link[i] && strstr(methods[m][1], "nofollow"))
				continue;
			snprintf(json, sizeof(json), "{\"path\": \"%s\"%s}", a->paths[i], methods[m][1]);
			struct sysq *c = sysq_connect(d.sock, err, sizeof(err));
			if (!c)
				return 100;
			struct sysq_reply r;
			int rc = sq_call(c, methods[m][0], json, &r);
			bool ok = rc == SYSQ_REMOTE_ERROR && (strcmp(r.code, "EXDEV") == 0 ||
			                                      (strcmp(r.code, "ENOENT") == 0 &&
			                                       strstr(a->paths[i], "/fd/9")));
			bool names = rc != SYSQ_REMOTE_ERROR || strcmp(r.code, "EXDEV") != 0 ||
			             strstr(r.message, "sysqd never follows");
			if (!ok || !names) {
				fprintf(stderr, "uid 65534: %s %s: %s %s\n", methods[m][0], json,
				        rc == 0 ? "SUCCEEDED" : r.code, rc == 0 ? "" : r.message);
				bad++;
			}
			sysq_reply_free(&r);
			sysq_close(c);
		}
	return bad > 99 ? 99 : bad;
}

static void add(struct attack *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(struct attack *a, const char *fmt, ...)
{
	cr_assert_lt(a->n, MAXP);
	a->plain_link[a->n] = false;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(a->paths[a->n++], PATH_MAX, fmt, ap);
	va_end(ap);
}

/* The last path added is an ordinary symlink (/dev/stderr -> /proc/self/fd/2,
 * /proc/self -> PID): with nofollow a method acts on the link itself. */
static void plain_link(struct attack *a)
{
	a->plain_link[a->n - 1] = true;
}

Test(callerpath, sysqds_descriptors_are_never_a_callers_path)
{
	SKIP_UNLESS_ROOT();
	/* uid 65534 cannot reach the file itself */
	cr_assert_neq(access(home, X_OK), -1);
	kid_spawn(victim, NULL);
	int n = sysqd_fd_of(secret);
	int tid = sysqd_tid();

	static struct attack a;
	a.n = 0;
	add(&a, "/proc/self/fd/%d", n);
	add(&a, "/proc/thread-self/fd/%d", n);
	add(&a, "/proc/%d/fd/%d", (int)d.pid, n);
	add(&a, "/proc/%d/task/%d/fd/%d", (int)d.pid, tid, n);
	add(&a, "/proc/%d/fd/%d", tid, n);
	add(&a, "/dev/fd/%d", n);
	add(&a, "/proc/self/fd/2");   /* sysqd's log */
	add(&a, "/dev/stderr");
	plain_link(&a);
	add(&a, "/dev/stdin");
	plain_link(&a);
	add(&a, "/proc/self/fd/%d/", n);
	add(&a, "/proc/self/fd/9%d", n); /* not open: ENOENT or EXDEV, never more */
	/* a symlink of the attacker's own to them */
	char link[PATH_MAX];
	snprintf(link, sizeof(link), "%s/to-fd", d.dir);
	unlink(link);
	char to[64];
	snprintf(to, sizeof(to), "/proc/self/fd/%d", n);
	cr_assert_eq(symlink(to, link), 0);
	add(&a, "%s", link);
	plain_link(&a);
	int bad = run_as(NOBODY_UID, NOBODY_GID, attack, &a);
	unlink(link);
	cr_assert_eq(bad, 0, "%d calls as uid 65534 reached sysqd's descriptor of uid 1000's file "
	             "or were not refused with EXDEV (see the test log)", bad);

	/* and the file is as it was */
	char v[16];
	cr_assert_eq(getxattr(secret, "user.secret", v, sizeof(v)), 6);
	cr_assert_eq(getxattr(secret, "user.evil", v, sizeof(v)), -1);
}

Test(callerpath, sysqds_cwd_root_exe_and_proc_entry_are_refused)
{
	SKIP_UNLESS_ROOT();
	int tid = sysqd_tid();
	static struct attack a;
	a.n = 0;
	add(&a, "/proc/self/cwd/etc/hostname");
	add(&a, "/proc/self/root/etc/hostname");
	add(&a, "/proc/self/exe");
	add(&a, "/proc/self/environ");
	add(&a, "/proc/self/maps");
	add(&a, "/proc/self/status");
	add(&a, "/proc/self/mountinfo");
	add(&a, "/proc/self/fdinfo/2");
	add(&a, "/proc/self");
	plain_link(&a);
	add(&a, "/proc/thread-self/status");
	add(&a, "/proc/%d/status", (int)d.pid);
	add(&a, "/proc/%d/environ", (int)d.pid);
	add(&a, "/proc/%d/task/%d/status", (int)d.pid, tid);
	add(&a, "/proc/%d/status", tid);
	add(&a, "/proc/%d/cwd/", (int)d.pid);
	int bad = run_as(NOBODY_UID, NOBODY_GID, attack, &a);
	cr_assert_eq(bad, 0, "%d calls as uid 65534 reached into sysqd's own process or were "
	             "not refused with EXDEV (see the test log)", bad);
}

/* As uid 65534: proc.get of sysqd has no exe (the kernel would not show
 * uid 65534 a root process's exe link). */
static int sysqd_exe_hidden(void *arg)
{
	(void)arg;
	char err[200], json[64];
	struct sysq *c = sysq_connect(d.sock, err, sizeof(err));
	if (!c)
		return 10;
	struct sysq_reply r;
	snprintf(json, sizeof(json), "{\"pid\": %d}", (int)d.pid);
	int bad = sq_call(c, "proc.get", json, &r) != 0 ? 1 : sq_map_get(r.result, "exe") ? 2 : 0;
	sysq_reply_free(&r);
	sysq_close(c);
	return bad;
}

Test(callerpath, sysqds_exe_is_not_shown_to_other_users)
{
	SKIP_UNLESS_ROOT();
	struct sysq *c = sqd_connect(&d);
	struct sysq_reply r;
	char json[64];
	snprintf(json, sizeof(json), "{\"pid\": %d}", (int)d.pid);
	cr_assert_eq(sq_call(c, "proc.get", json, &r), 0, "%s", r.message);
	cr_assert(sq_map_get(r.result, "exe"), "root sees sysqd's exe");
	sysq_reply_free(&r);
	sysq_close(c);
	cr_assert_eq(run_as(NOBODY_UID, NOBODY_GID, sysqd_exe_hidden, NULL), 0,
	             "uid 65534 sees sysqd's exe (1: no answer, 2: exe shown)");
}

/* What the rule must not take away: ordinary links, /proc of another
 * process (the caller's own), and real permission errors stay as they are. */
static int ordinary(void *arg)
{
	(void)arg;
	char err[200], json[400];
	struct sysq *c = sysq_connect(d.sock, err, sizeof(err));
	if (!c)
		return 10;
	struct sysq_reply r;
	int bad = 0;
	snprintf(json, sizeof(json), "{\"path\": \"%s/to-hostname\"}", d.dir);
	if (sq_call(c, "fs.stat", json, &r) != 0)
		bad |= 1, fprintf(stderr, "fs.stat through a plain link: %s %s\n", r.code, r.message);
	sysq_reply_free(&r);
	snprintf(json, sizeof(json), "{\"path\": \"/proc/%d/status\"}", (int)getpid());
	if (sq_call(c, "fs.stat", json, &r) != 0)
		bad |= 2, fprintf(stderr, "fs.stat of our own /proc: %s %s\n", r.code, r.message);
	sysq_reply_free(&r);
	snprintf(json, sizeof(json), "{\"path\": \"%s\"}", secret);
	if (sq_call(c, "xattr.list", json, &r) != SYSQ_REMOTE_ERROR || strcmp(r.code, "EACCES"))
		bad |= 4, fprintf(stderr, "uid 1000's 0700 home: %s %s\n", r.code, r.message);
	sysq_reply_free(&r);
	sysq_close(c);
	return bad;
}

Test(callerpath, ordinary_paths_still_work)
{
	SKIP_UNLESS_ROOT();
	char link[PATH_MAX];
	snprintf(link, sizeof(link), "%s/to-hostname", d.dir);
	cr_assert_eq(symlink("/etc/hostname", link), 0);
	int bad = run_as(NOBODY_UID, NOBODY_GID, ordinary, NULL);
	unlink(link);
	cr_assert_eq(bad, 0, "failures (bits): %d (see the test log)", bad);
}

#endif /* __linux__ */
