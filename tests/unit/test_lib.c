/* SPDX-License-Identifier: ISC */
/*
 * test_lib.c - lib/ in isolation: errno names both ways (signs, aliases,
 * unknown values), the default socket path for root, a user with and
 * without XDG_RUNTIME_DIR (pieces run in forked children that drop to uid
 * 65534), sq_prepare_socket_dir's refusal of directories it must not
 * trust, peer credentials read off a real connection, and the daemon's
 * own counters (sq_self_read) against /proc counted by hand.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <grp.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sq_errno.h"
#include "sq_os.h"
#include "sq_paths.h"
#include "sq_peer.h"
#include "sq_self.h"

#define NOBODY 65534

/* the system socket per OS */
#ifdef __linux__
#define SYSTEM_SOCKET "/run/sysq/sysqd.sock"
#else
#define SYSTEM_SOCKET "/var/run/sysqd.sock"
#endif

/* ---- running a piece as another user ------------------------------------------ */

/* A child reports failures as text through a pipe: empty means it passed. */
static int child_fd = -1;

static int child_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int child_fail(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n > 0 && write(child_fd, msg, strnlen(msg, sizeof(msg))) < 0)
		_exit(99);
	return 1;
}

#define CHECK(cond, ...) do { if (!(cond)) return child_fail(__VA_ARGS__); } while (0)

/* Run fn(arg) in a child as uid/gid (uid < 0: unchanged); assert it passed. */
static void in_child(int uid, int (*fn)(void *), void *arg)
{
	int p[2];
	cr_assert_eq(pipe(p), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		close(p[0]);
		child_fd = p[1];
		if (uid >= 0 && (setgroups(0, NULL) < 0 || setgid((gid_t)uid) < 0 ||
		                 setuid((uid_t)uid) < 0)) {
			child_fail("cannot become uid %d: %s", uid, strerror(errno));
			_exit(1);
		}
		_exit(fn(arg));
	}
	close(p[1]);
	char msg[512] = "";
	size_t n = 0;
	ssize_t r;
	while (n < sizeof(msg) - 1 && (r = read(p[0], msg + n, sizeof(msg) - 1 - n)) > 0)
		n += (size_t)r;
	msg[n] = '\0';
	close(p[0]);
	int st;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st), "child died of signal %d", WTERMSIG(st));
	cr_assert_eq(WEXITSTATUS(st), 0, "child failed: %s", msg);
	cr_assert_str_empty(msg);
}

static void need_root(void)
{
	if (geteuid() != 0)
		cr_skip_test("SKIPPED: needs root to switch to uid %d (run make test as root)", NOBODY);
}

/* ---- errno names --------------------------------------------------------------- */

#define KNOWN(x) { x, #x }
static const struct { int value; const char *name; } known[] = {
	KNOWN(EPERM), KNOWN(ENOENT), KNOWN(ESRCH), KNOWN(EINTR), KNOWN(EIO),
	KNOWN(E2BIG), KNOWN(EBADF), KNOWN(EAGAIN), KNOWN(ENOMEM), KNOWN(EACCES),
	KNOWN(EBUSY), KNOWN(EEXIST), KNOWN(EXDEV), KNOWN(ENOTDIR), KNOWN(EISDIR),
	KNOWN(EINVAL), KNOWN(EMFILE), KNOWN(ENOSPC), KNOWN(EROFS), KNOWN(EPIPE),
	KNOWN(ERANGE), KNOWN(ENAMETOOLONG), KNOWN(ENOSYS), KNOWN(ENOTEMPTY),
	KNOWN(ELOOP), KNOWN(EPROTO), KNOWN(EOVERFLOW), KNOWN(EILSEQ),
	KNOWN(ENOTSUP), KNOWN(EADDRINUSE), KNOWN(ECONNRESET), KNOWN(ENOBUFS),
	KNOWN(ETIMEDOUT), KNOWN(ECONNREFUSED), KNOWN(ESTALE), KNOWN(EDQUOT),
	KNOWN(ECANCELED),
};

Test(errno_names, known_values_have_their_names_either_sign)
{
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		int v = known[i].value;
		cr_assert_str_eq(sq_errno_name(v), known[i].name);
		cr_assert_str_eq(sq_errno_name(-v), known[i].name, "negative %s", known[i].name);
		cr_assert_eq(sq_errno_from_name(known[i].name), v, "%s", known[i].name);
	}
}

Test(errno_names, every_named_value_round_trips)
{
	int named = 0;
	for (int v = 1; v < 4096; v++) {
		const char *n = sq_errno_name(v);
		cr_assert_not_null(n);
		if (strcmp(n, "EUNKNOWN") == 0)
			continue;
		named++;
		cr_assert_eq(n[0], 'E', "%d -> %s", v, n);
		for (const char *p = n; *p; p++)
			cr_assert((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9'),
			          "%d -> %s: not an errno-style name", v, n);
		cr_assert_eq(sq_errno_from_name(n), v, "%d -> %s -> %d", v, n,
		             sq_errno_from_name(n));
		cr_assert_str_eq(sq_errno_name(-v), n);
	}
	cr_assert_geq(named, 60, "only %d errno values have names", named);
}

Test(errno_names, aliases_name_one_value)
{
	/* where two names share a value the first one is the wire name, and
	 * both names still map back to the value */
	cr_assert_eq(sq_errno_from_name("ENOTSUP"), ENOTSUP);
	cr_assert_eq(sq_errno_from_name("EOPNOTSUPP"), EOPNOTSUPP);
	cr_assert_str_eq(sq_errno_name(EWOULDBLOCK), "EAGAIN");
	if (ENOTSUP == EOPNOTSUPP)
		cr_assert_str_eq(sq_errno_name(EOPNOTSUPP), "ENOTSUP");
	else
		cr_assert_str_eq(sq_errno_name(EOPNOTSUPP), "EOPNOTSUPP");
#ifdef ENODATA
	cr_assert_eq(sq_errno_from_name("ENODATA"), ENODATA);
#endif
}

Test(errno_names, unknown_values_and_names)
{
	cr_assert_str_eq(sq_errno_name(0), "EUNKNOWN");
	cr_assert_str_eq(sq_errno_name(100000), "EUNKNOWN");
	cr_assert_str_eq(sq_errno_name(-100000), "EUNKNOWN");
	cr_assert_str_eq(sq_errno_name(INT_MAX), "EUNKNOWN");
	cr_assert_str_eq(sq_errno_name(INT_MIN), "EUNKNOWN"); /* no overflow on negation */
	cr_assert_eq(sq_errno_from_name(""), 0);
	cr_assert_eq(sq_errno_from_name("EUNKNOWN"), 0);
	cr_assert_eq(sq_errno_from_name("eacces"), 0, "names are case-sensitive");
	cr_assert_eq(sq_errno_from_name("EACCESS"), 0);
	cr_assert_eq(sq_errno_from_name("EACCE"), 0);
	cr_assert_eq(sq_errno_from_name("EACCES "), 0);
}

/* ---- default socket path ---------------------------------------------------------- */

struct pathcase {
	const char *xdg;      /* NULL: unset */
	const char *want;     /* NULL: computed /tmp/sysq-UID form */
};

static int check_default_path(void *arg)
{
	const struct pathcase *pc = arg;
	char buf[108], want[128];
	if (pc->xdg)
		setenv("XDG_RUNTIME_DIR", pc->xdg, 1);
	else
		unsetenv("XDG_RUNTIME_DIR");
	if (pc->want)
		snprintf(want, sizeof(want), "%s", pc->want);
	else
		snprintf(want, sizeof(want), "/tmp/sysq-%u/sysqd.sock", (unsigned)geteuid());
	int rc = sq_default_socket_path(buf, sizeof(buf));
	CHECK(rc == 0, "uid %u xdg %s: rc %d", (unsigned)geteuid(), pc->xdg ? pc->xdg : "(unset)", rc);
	CHECK(strcmp(buf, want) == 0, "uid %u xdg %s: got %s, want %s", (unsigned)geteuid(),
	      pc->xdg ? pc->xdg : "(unset)", buf, want);
	/* exactly fitting, one byte short, and tiny buffers */
	size_t n = strlen(want);
	char fit[128];
	CHECK(sq_default_socket_path(fit, n + 1) == 0, "exact fit refused");
	CHECK(strcmp(fit, want) == 0, "exact fit gave %s", fit);
	CHECK(sq_default_socket_path(fit, n) == -ENAMETOOLONG, "one short accepted");
	CHECK(sq_default_socket_path(fit, 1) == -ENAMETOOLONG, "size 1 accepted");
	return 0;
}

Test(paths, root_uses_the_system_socket_whatever_xdg_says)
{
	need_root();
	static const struct pathcase a = { "/run/user/0", SYSTEM_SOCKET };
	static const struct pathcase b = { NULL, SYSTEM_SOCKET };
	cr_assert_str_eq(sq_system_socket_path(), SYSTEM_SOCKET);
	in_child(-1, check_default_path, (void *)&a);
	in_child(-1, check_default_path, (void *)&b);
}

Test(paths, a_user_gets_xdg_runtime_dir_or_a_per_uid_tmp_dir)
{
	need_root();
	static const struct pathcase cases[] = {
		{ "/run/user/65534", "/run/user/65534/sysq/sysqd.sock" },
		{ "/x", "/x/sysq/sysqd.sock" },
		{ NULL, NULL },                 /* unset */
		{ "", NULL },                   /* empty: ignored */
		{ "run/user/65534", NULL },     /* relative: ignored */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		in_child(NOBODY, check_default_path, (void *)&cases[i]);
}

static int long_xdg(void *arg)
{
	(void)arg;
	char xdg[200], buf[108];
	memset(xdg, 'd', sizeof(xdg) - 1);
	xdg[0] = '/';
	xdg[sizeof(xdg) - 1] = '\0';
	setenv("XDG_RUNTIME_DIR", xdg, 1);
	CHECK(sq_default_socket_path(buf, sizeof(buf)) == -ENAMETOOLONG,
	      "a 200-byte XDG_RUNTIME_DIR fitted in 108 bytes");
	return 0;
}

Test(paths, an_overlong_xdg_runtime_dir_is_refused)
{
	need_root();
	in_child(NOBODY, long_xdg, NULL);
}

/* ---- preparing the socket directory ------------------------------------------------ */

struct tmp {
	char dir[64];
};

static void tmp_make(struct tmp *t)
{
	snprintf(t->dir, sizeof(t->dir), "/tmp/sysq-unit.XXXXXX");
	cr_assert_not_null(mkdtemp(t->dir));
	cr_assert_eq(chmod(t->dir, 01777), 0);
}

static void tmp_rm(struct tmp *t)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
	cr_expect_eq(system(cmd), 0);
}

static void pathf(char *buf, size_t size, const struct tmp *t, const char *rel)
{
	int n = snprintf(buf, size, "%s/%s", t->dir, rel);
	cr_assert(n > 0 && (size_t)n < size);
}

Test(sockdir, creates_a_private_dir_and_accepts_it_again)
{
	struct tmp t;
	char sock[128], dir[128];
	struct stat st;
	tmp_make(&t);
	mode_t old = umask(0);
	pathf(sock, sizeof(sock), &t, "new/sysqd.sock");
	pathf(dir, sizeof(dir), &t, "new");
	int rc = sq_prepare_socket_dir(sock);
	umask(old);
	cr_expect_eq(rc, 0, "rc %d", rc);
	cr_expect_eq(lstat(dir, &st), 0);
	cr_expect(S_ISDIR(st.st_mode));
	cr_expect_eq(st.st_mode & 07777, 0700, "mode %o", st.st_mode & 07777);
	cr_expect_eq(st.st_uid, geteuid());
	cr_expect_eq(sq_prepare_socket_dir(sock), 0, "an existing own dir is fine");
	tmp_rm(&t);
}

Test(sockdir, paths_without_a_directory_part_need_nothing)
{
	cr_assert_eq(sq_prepare_socket_dir("sysqd.sock"), 0);
	cr_assert_eq(sq_prepare_socket_dir("/sysqd.sock"), 0);
}

Test(sockdir, refuses_what_it_must_not_trust)
{
	struct tmp t;
	char p[128], q[128];
	tmp_make(&t);

	/* a regular file where the directory should be */
	pathf(p, sizeof(p), &t, "file");
	FILE *f = fopen(p, "w");
	cr_assert_not_null(f);
	fclose(f);
	pathf(p, sizeof(p), &t, "file/sysqd.sock");
	cr_expect_eq(sq_prepare_socket_dir(p), -ENOTDIR);

	/* a symlink to a directory we own: still refused (lstat, not stat) */
	pathf(p, sizeof(p), &t, "real");
	cr_assert_eq(mkdir(p, 0700), 0);
	pathf(q, sizeof(q), &t, "link");
	cr_assert_eq(symlink(p, q), 0);
	pathf(p, sizeof(p), &t, "link/sysqd.sock");
	cr_expect_eq(sq_prepare_socket_dir(p), -ENOTDIR);

	/* a missing parent is not created behind the caller's back */
	pathf(p, sizeof(p), &t, "a/b/sysqd.sock");
	cr_expect_eq(sq_prepare_socket_dir(p), -ENOENT);
	pathf(p, sizeof(p), &t, "a");
	cr_expect_neq(access(p, F_OK), 0);

	/* a directory longer than the path buffer */
	static char huge[5000];
	memset(huge, 'x', sizeof(huge) - 1);
	huge[0] = '/';
	memcpy(huge + sizeof(huge) - 10, "/sock", 6);
	cr_expect_eq(sq_prepare_socket_dir(huge), -ENAMETOOLONG);
	tmp_rm(&t);
}

Test(sockdir, refuses_a_dir_owned_by_someone_else)
{
	need_root();
	struct tmp t;
	char p[128];
	tmp_make(&t);
	pathf(p, sizeof(p), &t, "theirs");
	cr_assert_eq(mkdir(p, 0700), 0);
	cr_assert_eq(chown(p, NOBODY, NOBODY), 0);
	pathf(p, sizeof(p), &t, "theirs/sysqd.sock");
	cr_expect_eq(sq_prepare_socket_dir(p), -EPERM);
	tmp_rm(&t);
}

static int nobody_dirs(void *arg)
{
	const struct tmp *t = arg;
	char p[128];
	/* root's directory in a world-writable place: a trap for this user */
	snprintf(p, sizeof(p), "%s/roots/sysqd.sock", t->dir);
	int rc = sq_prepare_socket_dir(p);
	CHECK(rc == -EPERM, "root's dir accepted by uid %u: rc %d", (unsigned)geteuid(), rc);
	/* its own, freshly made, is fine */
	snprintf(p, sizeof(p), "%s/mine/sysqd.sock", t->dir);
	rc = sq_prepare_socket_dir(p);
	CHECK(rc == 0, "own new dir refused: rc %d", rc);
	struct stat st;
	snprintf(p, sizeof(p), "%s/mine", t->dir);
	CHECK(lstat(p, &st) == 0 && st.st_uid == NOBODY, "mine is not owned by %d", NOBODY);
	CHECK((st.st_mode & 077) == 0, "mine is open to others: %o", st.st_mode & 0777);
	return 0;
}

Test(sockdir, a_user_refuses_roots_dir_and_makes_its_own)
{
	need_root();
	struct tmp t;
	char p[128];
	tmp_make(&t);
	pathf(p, sizeof(p), &t, "roots");
	cr_assert_eq(mkdir(p, 0755), 0);
	in_child(NOBODY, nobody_dirs, &t);
	tmp_rm(&t);
}

/* ---- peer credentials --------------------------------------------------------------- */

struct peer_arg {
	char path[108];
};

static int connect_and_wait(void *arg)
{
	const struct peer_arg *pa = arg;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", pa->path);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(fd >= 0, "socket: %s", strerror(errno));
	CHECK(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "connect: %s", strerror(errno));
	char c;
	CHECK(read(fd, &c, 1) >= 0, "read: %s", strerror(errno)); /* until the parent is done */
	close(fd);
	return 0;
}

Test(peer, socketpair_reports_this_process)
{
	int sv[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	struct sq_cred c;
	cr_assert_eq(sq_peer_cred(sv[0], &c), 0);
	cr_expect_eq(c.uid, getuid());
	cr_expect_eq(c.gid, getgid());
	cr_expect_eq(c.pid, getpid());
	cr_expect(sq_cred_in_group(&c, getgid()));
	cr_expect_not(sq_cred_in_group(&c, 4242424));
	sq_cred_free(&c);
	cr_expect_null(c.groups);
	cr_expect_eq(c.ngroups, 0);
	close(sv[0]);
	close(sv[1]);

	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd >= 0) {
		cr_expect_lt(sq_peer_cred(fd, &c), 0, "not a UNIX socket");
		close(fd);
	}
	cr_expect_eq(sq_peer_cred(-1, &c), -EBADF);
}

Test(peer, a_user_with_supplementary_groups_is_seen_as_the_kernel_says)
{
	need_root();
	struct peer_arg pa;
	snprintf(pa.path, sizeof(pa.path), "/tmp/sysq-unit-peer.%d", (int)getpid());
	unlink(pa.path);
	int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", pa.path);
	cr_assert_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	chmod(pa.path, 0666);
	cr_assert_eq(listen(lfd, 4), 0);

	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		gid_t groups[] = { 100, 4242 };
		if (setgroups(2, groups) < 0 || setgid(NOBODY) < 0 || setuid(NOBODY) < 0)
			_exit(120);
		child_fd = 2;
		_exit(connect_and_wait(&pa));
	}
	int fd = accept(lfd, NULL, NULL);
	unlink(pa.path);
	close(lfd);
	cr_assert_geq(fd, 0);
	struct sq_cred c;
	int rc = sq_peer_cred(fd, &c);
	close(fd); /* lets the child finish */
	int st;
	waitpid(pid, &st, 0);
	cr_assert_eq(rc, 0);
	cr_expect_eq(c.uid, NOBODY);
	cr_expect_eq(c.gid, NOBODY);
	cr_expect_eq(c.pid, pid);
	cr_expect(sq_cred_in_group(&c, 100));
	cr_expect(sq_cred_in_group(&c, 4242));
	cr_expect(sq_cred_in_group(&c, NOBODY));
	cr_expect_not(sq_cred_in_group(&c, 0), "root's groups are not the peer's");
	sq_cred_free(&c);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %d", st);
}

/* ---- sq_self_read ------------------------------------------------------ */

static long long fds_by_hand(void)
{
	DIR *d = opendir("/proc/self/fd");
	cr_assert_not_null(d);
	long long n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the directory's own descriptor */
}

static long long status_field(const char *key)
{
	FILE *f = fopen("/proc/self/status", "re");
	cr_assert_not_null(f);
	char line[256];
	long long v = -1;
	size_t kl = strlen(key);
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, kl) == 0)
			v = atoll(line + kl);
	fclose(f);
	return v;
}

static void *park(void *arg)
{
	int *pipefd = arg;
	char c;
	cr_assert_eq(read(pipefd[0], &c, 1), 1);
	return NULL;
}

Test(self, counts_descriptors_threads_and_memory_as_proc_does)
{
	struct sq_self a, b;
	cr_assert_eq(sq_self_read(&a), 0);
	cr_assert_eq(a.open_fds, fds_by_hand());
	cr_assert_eq(a.threads, status_field("Threads:"));
	long long kb = status_field("VmRSS:");
	cr_assert_gt(a.rss_bytes, 0);
	/* two reads a moment apart: equal up to what the process touched */
	cr_assert_lt(llabs((long long)(a.rss_bytes / 1024) - kb), 4096,
	             "rss %llu B, VmRSS %lld kB", (unsigned long long)a.rss_bytes, kb);

	int fds[5], pipefd[2];
	for (int i = 0; i < 5; i++)
		cr_assert_geq(fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC), 0);
	cr_assert_eq(pipe(pipefd), 0);
	pthread_t th;
	cr_assert_eq(pthread_create(&th, NULL, park, pipefd), 0);
	cr_assert_eq(sq_self_read(&b), 0);
	cr_assert_eq(b.open_fds, a.open_fds + 7);
	cr_assert_eq(b.open_fds, fds_by_hand());
	cr_assert_eq(b.threads, a.threads + 1);
	cr_assert_eq(write(pipefd[1], "x", 1), 1);
	pthread_join(th, NULL);
	for (int i = 0; i < 5; i++)
		close(fds[i]);
	close(pipefd[0]);
	close(pipefd[1]);
}
