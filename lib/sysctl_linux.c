/* SPDX-License-Identifier: ISC */
/*
 * sysctl_linux.c - kernel parameters on Linux: the files of /proc/sys,
 * opened through lib/sq_callerpath.h (the calling thread's identity decides
 * access, exactly as for the caller reading the file itself).  Values are
 * the file's text, typed by sysctl.c; a subtree is walked in name order.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

static int read_fd(int fd, struct sq_sysctl_value *v)
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
	to_path(canon, path);
	int fd = sq_callerpath_open(path, O_RDONLY | O_NONBLOCK);
	if (fd < 0)
		return fd;
	struct stat st;
	int rc = fstat(fd, &st) < 0 ? -errno : S_ISDIR(st.st_mode) ? -EISDIR
	         : !S_ISREG(st.st_mode) ? -EINVAL : 0;
	if (rc < 0) {
		close(fd);
		return rc;
	}
	rc = read_fd(fd, v);
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
