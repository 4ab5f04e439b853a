/* SPDX-License-Identifier: ISC */
/*
 * harness.c - starting, reaching and stopping a real sysqd for the
 * integration tests (see harness.h).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "json.h"
#include "sq_fs.h"
#include "sq_proto.h"

bool have_root(void)
{
	return geteuid() == 0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static int try_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

bool sqd_connectable(const char *sock)
{
	int fd = try_connect(sock);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

#ifdef __linux__
void ns_private_tmpfs(char *top, size_t size, const char *prefix)
{
	SKIP_UNLESS_ROOT();
	if (unshare(CLONE_NEWNS) < 0)
		cr_skip_test("SKIPPED: unshare(CLONE_NEWNS): %s", strerror(errno));
	cr_assert_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0,
	             "making / private: %s", strerror(errno));
	snprintf(top, size, "/tmp/%s.XXXXXX", prefix);
	cr_assert(mkdtemp(top), "mkdtemp: %s", strerror(errno));
	if (mount("sysq-test-top", top, "tmpfs", 0, "size=64m,mode=0755") < 0) {
		int err = errno;
		rmdir(top);
		top[0] = '\0';
		cr_skip_test("SKIPPED: cannot mount a tmpfs (%s): no mount privilege here",
		             strerror(err));
	}
}
#endif

#ifdef __linux__
int ns_net_enter(bool lo_up, char *why, size_t size)
{
	if (unshare(CLONE_NEWNET) < 0) {
		snprintf(why, size, "unshare(CLONE_NEWNET): %s", strerror(errno));
		return -1;
	}
	if (!lo_up)
		return 0;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) {
		snprintf(why, size, "SIOCGIFFLAGS lo failed");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0) {
		snprintf(why, size, "cannot bring lo up");
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

void ns_private_net(bool lo_up)
{
	SKIP_UNLESS_ROOT();
	char why[128];
	if (ns_net_enter(lo_up, why, sizeof(why)) < 0)
		cr_skip_test("SKIPPED: %s", why);
}
#endif

void fuse_need(void)
{
	if (access("/dev/fuse", R_OK | W_OK) < 0)
		cr_skip_test("SKIPPED: no usable /dev/fuse (%s)", strerror(errno));
	char *fss = slurp("/proc/filesystems");
	bool ok = strstr(fss, "\tfuse\n") != NULL;
	free(fss);
	if (!ok)
		cr_skip_test("SKIPPED: the kernel has no fuse file system (modprobe fuse)");
	if (system("/usr/bin/python3 -c 'import fusepy' >/dev/null 2>&1") != 0)
		cr_skip_test("SKIPPED: /usr/bin/python3 cannot import fusepy "
		             "(apt-get install python3-fusepy)");
}

static bool fuse_mounted(const char *mp)
{
	struct sq_mount_table *t = NULL;
	cr_assert_eq(sq_fs_mounts(&t), 0);
	bool up = false;
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->m[i].mountpoint, mp) == 0 && strncmp(t->m[i].fstype, "fuse", 4) == 0)
			up = true;
	sq_fs_mounts_release(t);
	return up;
}

pid_t fuse_hang_start(const char *mp, const char *release, const char *log)
{
	fuse_need();
	const char *src = getenv("SQ_TOP");
	cr_assert(src, "SQ_TOP must name the source tree (tests/run-all.sh sets it)");
	char script[256];
	snprintf(script, sizeof(script), "%s/tests/integration/fuse_hang.py", src);
	cr_assert_eq(mkdir(mp, 0755), 0, "mkdir %s: %s", mp, strerror(errno));
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		die_with_parent();
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		execl("/usr/bin/python3", "python3", script, mp, release, (char *)NULL);
		_exit(127);
	}
	/* wait for the mount to appear (reading the table never touches it) */
	for (int i = 0; i < 1000; i++) {
		if (fuse_mounted(mp))
			return pid;
		if (waitpid(pid, NULL, WNOHANG) == pid)
			cr_assert_fail("fuse_hang.py exited before mounting: %s", slurp(log));
		sleep_ms(10);
	}
	cr_assert_fail("the FUSE mount did not appear within 10 s: %s", slurp(log));
	return -1;
}

void fuse_hang_kill(pid_t *pid)
{
	if (*pid > 0) {
		kill(*pid, SIGKILL);
		waitpid(*pid, NULL, 0);
		*pid = 0;
	}
}

void sqd_start(struct sqd *d, const char *const *args)
{
	sqd_start_nofile(d, args, 0);
}

void sqd_start_nofile(struct sqd *d, const char *const *args, unsigned nofile)
{
	sqd_start_prepared(d, args, nofile, NULL, NULL);
}

#define PREPARE_FAILED 77 /* the daemon's child's exit status when prepare failed */

void sqd_start_prepared(struct sqd *d, const char *const *args, unsigned nofile,
                        int (*prepare)(const struct sqd *d, void *arg, char *why, size_t size),
                        void *arg)
{
	const char *bin = getenv("SQ_SYSQD");
	cr_assert(bin, "SQ_SYSQD must name the sysqd binary (tests/run-all.sh sets it)");
	snprintf(d->dir, sizeof(d->dir), "/tmp/sysq-test.XXXXXX");
	cr_assert(mkdtemp(d->dir), "mkdtemp: %s", strerror(errno));
	chmod(d->dir, 0755); /* other test users must reach the socket */
	snprintf(d->sock, sizeof(d->sock), "%s/sysqd.sock", d->dir);
	snprintf(d->log, sizeof(d->log), "%s/sysqd.log", d->dir);

	const char *argv[32];
	int n = 0;
	argv[n++] = bin;
	argv[n++] = "-s";
	argv[n++] = d->sock;
	argv[n++] = "-vv";
	for (int i = 0; args && args[i] && n < 31; i++)
		argv[n++] = args[i];
	argv[n] = NULL;

	d->pid = fork();
	cr_assert(d->pid >= 0);
	if (d->pid == 0) {
		die_with_parent();
		struct rlimit rl = { nofile, nofile };
		if (nofile && setrlimit(RLIMIT_NOFILE, &rl) < 0)
			_exit(126);
		char why[256] = "";
		if (prepare && prepare(d, arg, why, sizeof(why)) != 0) {
			char path[sizeof(d->dir) + 16];
			snprintf(path, sizeof(path), "%s/prepare-error", d->dir);
			int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
			if (fd >= 0) {
				ssize_t w = write(fd, why, strlen(why));
				(void)w;
				close(fd);
			}
			_exit(PREPARE_FAILED);
		}
		int fd = open(d->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0) {
			dup2(fd, 2);
			close(fd);
		}
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	for (int i = 0; i < 1000; i++) { /* up to 10 s under sanitizers */
		int fd = try_connect(d->sock);
		if (fd >= 0) {
			close(fd);
			return;
		}
		int st;
		if (waitpid(d->pid, &st, WNOHANG) == d->pid) {
			d->pid = 0;
			if (prepare && WIFEXITED(st) && WEXITSTATUS(st) == PREPARE_FAILED) {
				char path[sizeof(d->dir) + 16];
				snprintf(path, sizeof(path), "%s/prepare-error", d->dir);
				char *why = slurp(path);
				unlink(path);
				rmdir(d->dir); /* a suite's .fini does not run after its .init skipped */
				d->dir[0] = '\0';
				cr_skip_test("SKIPPED: %s", why);
			}
			char *log = slurp(d->log);
			cr_assert_fail("sysqd exited at start (status %d): %s", st, log);
		}
		sleep_ms(10);
	}
	cr_assert_fail("sysqd did not listen on %s within 10 s", d->sock);
}

int sqd_stop(struct sqd *d)
{
	int st = 0;
	if (d->pid <= 0)
		return 0;
	kill(d->pid, SIGTERM);
	for (int i = 0; i < 2000; i++) { /* 20 s */
		pid_t p = waitpid(d->pid, &st, WNOHANG);
		if (p == d->pid)
			break;
		if (i == 1999) {
			kill(d->pid, SIGKILL);
			waitpid(d->pid, &st, 0);
		}
		sleep_ms(10);
	}
	d->pid = 0;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

void sqd_stop_clean(struct sqd *d)
{
	int st = sqd_stop(d);
	char *log = slurp(d->log);
	cr_expect_eq(st, 0, "sysqd exit status %d; its log:\n%s", st, log);
	free(log);
	unlink(d->log);
	unlink(d->sock);
	rmdir(d->dir);
}

struct sysq *sqd_connect(const struct sqd *d)
{
	char err[256];
	struct sysq *c = sysq_connect(d->sock, err, sizeof(err));
	cr_assert(c, "connect: %s", err);
	return c;
}

int sqd_raw_connect(const struct sqd *d)
{
	int fd = try_connect(d->sock);
	cr_assert(fd >= 0, "raw connect to %s: %s", d->sock, strerror(errno));
	return fd;
}

int sq_call(struct sysq *c, const char *method, const char *json, struct sysq_reply *r)
{
	char err[200];
	msgpack_packer *pk = sysq_begin(c, method, NULL);
	if (!json) {
		msgpack_pack_array(pk, 0);
	} else {
		msgpack_pack_array(pk, 1);
		cr_assert_eq(sq_json_pack(pk, json, err, sizeof(err)), 0, "%s", err);
	}
	return sysq_call_end(c, r);
}

void become_or_exit(uid_t uid, gid_t gid)
{
	pid_t parent = getppid();
	if (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
		_exit(120);
	/* a change of credentials clears the parent-death signal: set it again,
	 * so a test that times out leaves no attacker behind */
	die_with_parent();
	if (getppid() != parent)
		_exit(121);
}

int send_path_call(struct sysq *c, const char *method, const char *path)
{
	msgpack_packer *pk = sysq_begin(c, method, NULL);
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 1);
	sq_pack_kv_str(pk, "path", path);
	return sysq_flush(c);
}

int run_as(uid_t uid, gid_t gid, int (*fn)(void *), void *arg)
{
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		become_or_exit(uid, gid);
		_exit(fn(arg));
	}
	int st;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

long long sqd_stat(const struct sqd *d, const char *field)
{
	struct sysq *c = sqd_connect(d);
	struct sysq_reply r;
	cr_assert_eq(sq_call(c, "sys.stats", NULL, &r), 0, "sys.stats: %s", r.message);
	const msgpack_object *o = r.result;
	char key[64];
	for (const char *p = field; o && *p;) {
		size_t n = strcspn(p, "/");
		cr_assert_lt(n, sizeof(key));
		memcpy(key, p, n);
		key[n] = '\0';
		o = sq_map_get(o, key);
		p += n + (p[n] == '/');
	}
	cr_assert(o, "sys.stats has no field %s", field);
	long long v = o->type == MSGPACK_OBJECT_BOOLEAN ? o->via.boolean
	            : o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER ? o->via.i64 : (long long)o->via.u64;
	sysq_reply_free(&r);
	sysq_close(c);
	return v;
}

int shell_out(const char *cmd, char *out, size_t size)
{
	FILE *p = popen(cmd, "r");
	cr_assert(p, "popen %s", cmd);
	size_t n = 0, k;
	while (n < size - 1 && (k = fread(out + n, 1, size - 1 - n, p)) > 0)
		n += k;
	out[n] = '\0';
	char rest[4096];
	while (fread(rest, 1, sizeof(rest), p) > 0)
		; /* what did not fit: read, so that the command is not stopped by SIGPIPE */
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

int sqd_cli(const struct sqd *d, char *out, size_t size, const char *fmt, ...)
{
	const char *bin = getenv("SQ_SYSQ");
	cr_assert(bin, "SQ_SYSQ must name the sysq binary (tests/run-all.sh sets it)");
	char args[1024], cmd[1400];
	va_list ap;
	va_start(ap, fmt);
	int len = vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	cr_assert(len >= 0 && (size_t)len < sizeof(args), "sysq's arguments are too long");
	len = snprintf(cmd, sizeof(cmd), "'%s' -s '%s' %s", bin, d->sock, args);
	cr_assert(len >= 0 && (size_t)len < sizeof(cmd), "the sysq command is too long");
	return shell_out(cmd, out, size);
}

char *slurp(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t len = 0;
	if (!f)
		return strdup("");
	FILE *m = open_memstream(&buf, &len);
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		fwrite(chunk, 1, n, m);
	fclose(f);
	fclose(m);
	return buf;
}
