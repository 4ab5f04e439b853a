/* SPDX-License-Identifier: ISC */
/*
 * fs_linux.c - file systems on Linux: /proc/self/mountinfo (kept until the
 * kernel signals a change with POLLPRI on an open descriptor of it, the way
 * systemd and util-linux's libmount watch mounts), statfs(2), and a path's
 * file system found with open(O_PATH) + statx(STATX_MNT_ID) + fstatfs.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "sq_callerpath.h"
#include "sq_fs.h"

#define MOUNTINFO "/proc/self/mountinfo"
#ifndef ST_VALID
#define ST_VALID 0x0020 /* linux/statfs.h: f_flags is filled in */
#endif

static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static struct sq_mount_table *cache;  /* the last table read, one reference */
static int watch_fd = -1;             /* POLLPRI when the table changes */

static int read_all(const char *path, char **out, size_t *outlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t cap = 16384, len = 0;
	char *buf = malloc(cap);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		if (len == cap) {
			char *nb = cap < (64u << 20) ? realloc(buf, cap * 2) : NULL;
			if (!nb) {
				free(buf);
				close(fd);
				return -ENOMEM;
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int err = -errno;
			free(buf);
			close(fd);
			return err;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	*out = buf;
	*outlen = len;
	return 0;
}

static int read_table(struct sq_mount_table **out)
{
	char *text = NULL;
	size_t len = 0;
	int rc = read_all(MOUNTINFO, &text, &len);
	if (rc < 0)
		return rc;
	rc = sq_fs_mountinfo_parse(text, len, out);
	free(text);
	return rc;
}

/* True when the table may have changed since the last poll (or we cannot
 * tell).  mountinfo's poll reports POLLPRI|POLLERR once per change. */
static bool table_changed(void)
{
	if (watch_fd < 0) {
		watch_fd = open(MOUNTINFO, O_RDONLY | O_CLOEXEC);
		return true;
	}
	struct pollfd p = { .fd = watch_fd, .events = POLLPRI };
	int n = poll(&p, 1, 0);
	return n != 0;
}

int sq_fs_mounts(struct sq_mount_table **out)
{
	int rc = 0;
	pthread_mutex_lock(&cache_mu);
	/* poll first, then read: a change during the read shows up next time */
	if (table_changed() || !cache) {
		struct sq_mount_table *t = NULL;
		rc = read_table(&t);
		sq_fs_mounts_release(cache);
		cache = rc < 0 ? NULL : t;
	}
	if (cache) {
		__atomic_add_fetch(&cache->refs, 1, __ATOMIC_ACQ_REL);
		*out = cache;
	}
	pthread_mutex_unlock(&cache_mu);
	return rc;
}

/* Linux's statfs: the fragment size is the unit, when there is one. */
static void usage_of(const struct statfs *s, struct sq_fs_usage *u)
{
	sq_fs_fill_usage(u, s->f_frsize ? (uint64_t)s->f_frsize : (uint64_t)s->f_bsize,
	                 (uint64_t)s->f_blocks, (uint64_t)s->f_bfree, (uint64_t)s->f_bavail,
	                 (uint64_t)s->f_files, (uint64_t)s->f_ffree,
	                 (s->f_flags & ST_VALID) && (s->f_flags & ST_RDONLY));
}

int sq_fs_statfs(const char *mountpoint, struct sq_fs_usage *u)
{
	struct statfs s;
	if (statfs(mountpoint, &s) < 0)
		return -errno;
	usage_of(&s, u);
	return 0;
}

int sq_fs_path_stat(const char *path, struct sq_fs_usage *u, struct sq_fs_where *w)
{
	/* O_PATH: only search permission on the way is needed, as for statfs;
	 * the kernel decides it with this thread's credentials */
	int fd = sq_callerpath_open(path, O_PATH);
	if (fd < 0)
		return fd;
	struct statfs s;
	struct statx x;
	int rc = 0;
	memset(w, 0, sizeof(*w));
	w->mount_id = -1;
	if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_MNT_ID, &x) == 0) {
		w->dev_major = x.stx_dev_major;
		w->dev_minor = x.stx_dev_minor;
#ifdef STATX_MNT_ID
		if (x.stx_mask & STATX_MNT_ID)
			w->mount_id = (int64_t)x.stx_mnt_id;
#endif
	} else {
		struct stat st;
		if (fstat(fd, &st) < 0) {
			rc = -errno;
			goto out;
		}
		w->dev_major = major(st.st_dev);
		w->dev_minor = minor(st.st_dev);
	}
	if (fstatfs(fd, &s) < 0) {
		rc = -errno;
		goto out;
	}
	usage_of(&s, u);
out:
	close(fd);
	return rc;
}
