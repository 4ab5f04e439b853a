/* SPDX-License-Identifier: ISC */
/*
 * sysctl_linux.c - kernel parameters on Linux: the files of /proc/sys,
 * opened as the calling thread (whose identity decides access, exactly as
 * for the caller reading the file itself).  Values are the file's text,
 * typed by sysctl.c; a subtree is walked in name order.
 *
 * A key is opened beneath a kept descriptor of /proc/sys with openat2's
 * RESOLVE_BENEATH | RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS: nothing
 * beneath /proc/sys on its own mount is a link or a process's directory, so
 * what lib/sq_callerpath.h guards against cannot be reached, and the
 * lookup costs one syscall instead of its checks (about half the cost of a
 * key).  Anything else (no openat2, a mount below /proc/sys such as
 * binfmt_misc, an error other than the kernel's answer for the key) goes
 * through lib/sq_callerpath.h as before.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sq_callerpath.h"
#include "sq_sysctl.h"

#define ROOT "/proc/sys"
#define PATH_CAP (sizeof(ROOT) + SQ_SYSCTL_NAME_MAX + 1)

/* "/proc/sys/" and the canonical name with its separators as slashes */
static void to_path(const char *canon, char *path)
{
	size_t n = strlen(ROOT);
	memcpy(path, ROOT, n);
	if (*canon)
		path[n++] = '/';
	for (; *canon; canon++)
		path[n++] = *canon == '.' ? '/' : *canon == '/' ? '.' : *canon;
	path[n] = '\0';
}

#ifndef SYS_openat2
#define SYS_openat2 437
#endif
/* linux/openat2.h */
#define SQ_RESOLVE_NO_XDEV       0x01u
#define SQ_RESOLVE_NO_MAGICLINKS 0x02u
#define SQ_RESOLVE_NO_SYMLINKS   0x04u
#define SQ_RESOLVE_BENEATH       0x08u

struct beneath_how { uint64_t flags, mode, resolve; }; /* linux/openat2.h's open_how */

/* The kept /proc/sys descriptor (O_PATH, opened on first use); -1 when
 * there is none to be had (no openat2: the slow way for good). */
static atomic_int sys_dir = -2;

static int sys_dir_fd(void)
{
	int fd = atomic_load(&sys_dir);
	if (fd != -2)
		return fd;
	fd = open(ROOT, O_PATH | O_DIRECTORY | O_CLOEXEC);
	int unset = -2;
	if (fd >= 0 && !atomic_compare_exchange_strong(&sys_dir, &unset, fd)) {
		close(fd);
		return unset;
	}
	if (fd < 0) /* EMFILE and the like: the slow way this time */
		return -1;
	return fd;
}

/* canon opened read-only beneath /proc/sys as the calling thread, or
 * -EAGAIN when the slow way is to decide (then nothing is open). */
static int open_beneath(const char *canon)
{
	int dir = sys_dir_fd();
	if (dir < 0 || !*canon)
		return -EAGAIN;
	char rel[SQ_SYSCTL_NAME_MAX + 1];
	size_t n = 0;
	for (const char *c = canon; *c && n < sizeof(rel) - 1; c++)
		rel[n++] = *c == '.' ? '/' : *c == '/' ? '.' : *c;
	rel[n] = '\0';
	struct beneath_how how = { .flags = O_RDONLY | O_NONBLOCK | O_CLOEXEC,
	                           .resolve = SQ_RESOLVE_NO_XDEV | SQ_RESOLVE_NO_MAGICLINKS |
	                                      SQ_RESOLVE_NO_SYMLINKS | SQ_RESOLVE_BENEATH };
	int fd = (int)syscall(SYS_openat2, dir, rel, &how, sizeof(how));
	if (fd >= 0)
		return fd;
	int e = errno;
	if (e == ENOSYS) { /* no openat2 in this kernel: never again */
		int was = dir;
		if (atomic_compare_exchange_strong(&sys_dir, &was, -1))
			close(dir);
		return -EAGAIN;
	}
	/* the kernel's answer for the key itself; a crossing or a link: the
	 * slow way says what it is */
	return e == ENOENT || e == EACCES || e == EPERM || e == ENOTDIR ? -e : -EAGAIN;
}

/* One read, whole when shorter than asked (a /proc/sys handler writes the
 * value at once: the second read(2) of the slow way would say 0). */
static int read_fd(int fd, struct sq_sysctl_value *v, bool one_read)
{
	char *buf = malloc(SQ_SYSCTL_VALUE_MAX + 1);
	size_t len = 0;
	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n = read(fd, buf + len, SQ_SYSCTL_VALUE_MAX + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			free(buf);
			return -e;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > SQ_SYSCTL_VALUE_MAX) {
			free(buf);
			return -E2BIG;
		}
		if (one_read && len < SQ_SYSCTL_VALUE_MAX)
			break;
	}
	if (len && buf[len - 1] == '\n')
		len--;
	buf[len] = '\0';
	int rc = sq_sysctl_type_text(v, buf, len);
	if (rc < 0)
		free(buf);
	return rc;
}

int sq_sysctl_read(const char *canon, struct sq_sysctl_value *v)
{
	char path[PATH_CAP];
	memset(v, 0, sizeof(*v));
	int fd = open_beneath(canon);
	if (fd >= 0) { /* a directory: read(2) says EISDIR */
		int rc = read_fd(fd, v, true);
		close(fd);
		return rc;
	}
	if (fd != -EAGAIN)
		return fd;
	to_path(canon, path);
	fd = sq_callerpath_open(path, O_RDONLY | O_NONBLOCK);
	if (fd < 0)
		return fd;
	struct stat st;
	int rc = fstat(fd, &st) < 0 ? -errno : S_ISDIR(st.st_mode) ? -EISDIR
	         : !S_ISREG(st.st_mode) ? -EINVAL : 0;
	if (rc < 0) {
		close(fd);
		return rc;
	}
	rc = read_fd(fd, v, false);
	close(fd);
	return rc;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int walk(char *canon, size_t clen, sq_sysctl_cb cb, void *arg, int depth)
{
	char path[PATH_CAP];
	to_path(canon, path);
	int fd = sq_callerpath_open(path, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return fd;
	DIR *dir = fdopendir(fd);
	if (!dir) {
		close(fd);
		return -errno;
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;
	for (struct dirent *e; (e = readdir(dir));) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			char **nn = realloc(names, cap * sizeof(*nn));
			if (!nn) {
				rc = -ENOMEM;
				break;
			}
			names = nn;
		}
		/* the type in the first byte, the name after it */
		size_t len = strlen(e->d_name);
		if (!(names[n] = malloc(len + 2))) {
			rc = -ENOMEM;
			break;
		}
		names[n][0] = e->d_type == DT_DIR ? 'd' : 'f';
		memcpy(names[n] + 1, e->d_name, len + 1);
		n++;
	}
	closedir(dir);
	if (rc == 0 && n)
		qsort(names, n, sizeof(*names), by_name);
	for (size_t i = 0; i < n && rc == 0; i++) {
		const char *nm = names[i] + 1;
		size_t len = strlen(nm), at = clen ? clen + 1 : 0;
		if (at + len >= SQ_SYSCTL_NAME_MAX)
			continue; /* deeper than a name can say */
		if (clen)
			canon[clen] = '.';
		for (size_t k = 0; k <= len; k++) /* a dot inside a component: '/' */
			canon[at + k] = nm[k] == '.' ? '/' : nm[k];
		if (names[i][0] == 'd') {
			rc = depth < 16 ? walk(canon, at + len, cb, arg, depth + 1) : 0;
			if (rc < 0 && rc != -ENOMEM) /* a subtree gone or refused */
				rc = cb(canon, NULL, rc, arg);
		} else {
			struct sq_sysctl_value v;
			int e = sq_sysctl_read(canon, &v);
			rc = e == 0 ? cb(canon, &v, 0, arg) : cb(canon, NULL, e, arg);
			if (e == 0)
				sq_sysctl_value_free(&v);
		}
		canon[clen] = '\0';
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

int sq_sysctl_walk(const char *prefix, sq_sysctl_cb cb, void *arg)
{
	char canon[SQ_SYSCTL_NAME_MAX];
	snprintf(canon, sizeof(canon), "%s", prefix);
	struct sq_sysctl_value v;
	int rc = sq_sysctl_read(canon, &v);
	if (rc == 0) {
		rc = cb(canon, &v, 0, arg);
		sq_sysctl_value_free(&v);
		return rc;
	}
	if (rc != -EISDIR && *prefix)
		return rc == -ENOENT ? rc : cb(canon, NULL, rc, arg);
	return walk(canon, strlen(canon), cb, arg, 0);
}

int sq_sysctl_write(const char *canon, const char *text, size_t len)
{
	char path[PATH_CAP];
	to_path(canon, path);
	int fd = sq_callerpath_open(path, O_WRONLY | O_NONBLOCK);
	if (fd < 0)
		return fd;
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EISDIR;
	}
	ssize_t n;
	do
		n = write(fd, text, len);
	while (n < 0 && errno == EINTR);
	int rc = n < 0 ? -errno : 0;
	close(fd);
	return rc;
}
