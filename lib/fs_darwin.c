/* SPDX-License-Identifier: ISC */
/*
 * fs_darwin.c - file systems on macOS: getfsstat(MNT_NOWAIT) for the table
 * (the kernel's cached figures: it never waits for a file system), f_flags
 * turned into mount(8)'s option words, and a fresh statfs(2) per probe.
 * No mountinfo here: mount ids and device numbers stay -1/0, and a path's
 * mount is found by statfs's f_mntonname.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/param.h>
#include <sys/stat.h>

#include "sq_callerpath.h"
#include "sq_fs.h"

static const struct {
	uint64_t flag;
	const char *word;
} flag_words[] = {
	{ MNT_SYNCHRONOUS, "sync" },
	{ MNT_ASYNC, "async" },
	{ MNT_NOEXEC, "noexec" },
	{ MNT_NOSUID, "nosuid" },
	{ MNT_NODEV, "nodev" },
	{ MNT_UNION, "union" },
	{ MNT_CPROTECT, "protect" },
	{ MNT_QUARANTINE, "quarantine" },
	{ MNT_EXPORTED, "exported" },
	{ MNT_LOCAL, "local" },
	{ MNT_QUOTA, "quota" },
	{ MNT_ROOTFS, "rootfs" },
	{ MNT_DOVOLFS, "dovolfs" },
	{ MNT_DONTBROWSE, "nobrowse" },
	{ MNT_IGNORE_OWNERSHIP, "noowners" },
	{ MNT_AUTOMOUNTED, "automounted" },
	{ MNT_JOURNALED, "journaled" },
	{ MNT_NOUSERXATTR, "nouserxattr" },
	{ MNT_DEFWRITE, "defwrite" },
	{ MNT_MULTILABEL, "multilabel" },
	{ MNT_NOATIME, "noatime" },
	{ MNT_SNAPSHOT, "snapshot" },
	{ MNT_STRICTATIME, "strictatime" },
};
#define NWORDS (sizeof(flag_words) / sizeof(flag_words[0]))

static char *put(struct sq_mount_table *t, size_t *used, const char *s, size_t *outlen)
{
	size_t n = strlen(s);
	char *dst = t->store + *used;
	memcpy(dst, s, n + 1);
	*used += n + 1;
	if (outlen)
		*outlen = n;
	return dst;
}

int sq_fs_mounts(struct sq_mount_table **out)
{
	struct statfs *buf = NULL;
	int n = 0;
	/* the table can grow between the two calls: retry with room to spare */
	for (int tries = 0; tries < 4; tries++) {
		int want = getfsstat(NULL, 0, MNT_NOWAIT);
		if (want < 0)
			return -errno;
		want += 8;
		free(buf);
		buf = calloc((size_t)want, sizeof(*buf));
		if (!buf)
			return -ENOMEM;
		n = getfsstat(buf, (int)((size_t)want * sizeof(*buf)), MNT_NOWAIT);
		if (n < 0) {
			int err = -errno;
			free(buf);
			return err;
		}
		if (n < want)
			break;
	}
	size_t store = 0;
	for (int i = 0; i < n; i++)
		store += strlen(buf[i].f_mntonname) + strlen(buf[i].f_mntfromname) +
		         strlen(buf[i].f_fstypename) + 3;
	struct sq_mount_table *t;
	int rc = sq_fs_table_new((size_t)n, store, (size_t)n * (NWORDS + 1), &t);
	if (rc < 0) {
		free(buf);
		return rc;
	}
	size_t used = 0, nopt = 0;
	for (int i = 0; i < n; i++) {
		const struct statfs *s = &buf[i];
		struct sq_mount *m = &t->m[t->n++];
		m->mountpoint = put(t, &used, s->f_mntonname, &m->mountpoint_len);
		m->source = put(t, &used, s->f_mntfromname, &m->source_len);
		m->fstype = put(t, &used, s->f_fstypename, NULL);
		m->mount_id = -1;
		m->parent_id = -1;
		m->readonly = (s->f_flags & MNT_RDONLY) != 0;
		m->pseudo = sq_fs_pseudo_type(m->fstype);
		m->options = t->optv + nopt;
		t->optv[nopt++] = m->readonly ? "ro" : "rw";
		m->noptions = 1;
		for (size_t k = 0; k < NWORDS; k++) {
			if (s->f_flags & flag_words[k].flag) {
				t->optv[nopt++] = flag_words[k].word;
				m->noptions++;
			}
		}
	}
	free(buf);
	sq_fs_table_mark_hidden(t);
	*out = t;
	return 0;
}

/* macOS's statfs: f_bsize is the unit, MNT_RDONLY the flag. */
static void usage_of(const struct statfs *s, struct sq_fs_usage *u)
{
	sq_fs_fill_usage(u, (uint64_t)s->f_bsize, (uint64_t)s->f_blocks, (uint64_t)s->f_bfree,
	                 (uint64_t)s->f_bavail, (uint64_t)s->f_files, (uint64_t)s->f_ffree,
	                 (s->f_flags & MNT_RDONLY) != 0);
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
	/* the lookup runs with the thread's credential (pthread_setugid_np);
	 * sq_callerpath refuses a path through fdesc first */
	struct stat st;
	int rc = sq_callerpath_stat(path, false, &st);
	if (rc < 0)
		return rc;
	struct statfs s;
	if (statfs(path, &s) < 0)
		return -errno;
	usage_of(&s, u);
	memset(w, 0, sizeof(*w));
	w->mount_id = -1;
	size_t n = strnlen(s.f_mntonname, sizeof(s.f_mntonname));
	if (n >= sizeof(w->mountpoint))
		n = sizeof(w->mountpoint) - 1;
	memcpy(w->mountpoint, s.f_mntonname, n);
	w->mountpoint[n] = '\0';
	return 0;
}
