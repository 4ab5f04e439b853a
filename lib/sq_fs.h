/* SPDX-License-Identifier: ISC */
/*
 * sq_fs.h - mounted file systems: the mount table (Linux /proc/self/mountinfo,
 * macOS getfsstat(MNT_NOWAIT)) and usage figures (statfs).
 *
 * The table functions never block on a file system.  sq_fs_statfs and
 * sq_fs_path_stat DO: on a dead NFS server or a stuck FUSE daemon they sleep
 * in the kernel for as long as it takes, so only daemon/prober.c calls them,
 * from threads of its own, with a deadline.
 */
#ifndef SQ_FS_H
#define SQ_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One mount, as the table describes it.  Strings are decoded bytes (Linux
 * octal escapes such as \040 undone), NUL-terminated; mount points may hold
 * any byte but NUL, so the lengths are given too. */
struct sq_mount {
	const char *mountpoint;
	size_t mountpoint_len;
	const char *source;       /* device, server:/export, "tmpfs", ... */
	size_t source_len;
	const char *fstype;       /* "ext4", "tmpfs", "fuse.sshfs", "apfs" */
	const char *const *options; /* option words: "rw", "relatime", "size=16m" */
	size_t noptions;
	bool readonly;            /* mounted read-only (mount or super block) */
	bool pseudo;              /* a kernel pseudo file system (sq_fs_pseudo_type) */
	bool hidden;              /* under a later mount on the same path (or under a
	                           * hidden parent): its mount point leads elsewhere */
	int64_t mount_id;         /* Linux: mountinfo's first field; macOS: -1 */
	int64_t parent_id;        /* Linux: the mount it sits on; macOS: -1 */
	uint32_t dev_major, dev_minor; /* Linux: st_dev of files on it; macOS: 0 */
};

/* A snapshot of the table, shared and immutable; release it when done. */
struct sq_mount_table {
	size_t n;
	struct sq_mount *m;
	/* private */
	int refs;
	char *store;              /* every string, one block */
	const char **optv;        /* every option pointer, one block */
};

/* The current mount table.  On Linux the last table read is kept and read
 * again only when the kernel says the table changed (poll(2) on
 * /proc/self/mountinfo reports POLLPRI), so repeated calls are cheap.
 * Thread-safe.  0, or a negative errno. */
int sq_fs_mounts(struct sq_mount_table **out);
void sq_fs_mounts_release(struct sq_mount_table *t);

/* Parse mountinfo text (the Linux format: fields, optional fields, " - ",
 * fstype, source, super options; octal escapes) into a new table with one
 * reference.  Malformed lines are skipped.  Portable, for unit tests too. */
int sq_fs_mountinfo_parse(const char *text, size_t len, struct sq_mount_table **out);
/* A new, empty table with room for strings and options: used by the OS
 * files to build one.  0 or -ENOMEM. */
int sq_fs_table_new(size_t nmounts, size_t store_bytes, size_t noptions,
                    struct sq_mount_table **out);
/* Set every mount's `hidden` flag (done by the parsers and builders). */
void sq_fs_table_mark_hidden(struct sq_mount_table *t);

/* True for kernel pseudo file systems that df leaves out by default
 * (proc, sysfs, cgroup, devpts, ...). */
bool sq_fs_pseudo_type(const char *fstype);

/* Usage figures of a file system, in bytes and inodes. */
struct sq_fs_usage {
	uint64_t block_size;      /* fundamental block size (f_frsize; macOS f_bsize) */
	uint64_t total_bytes;
	uint64_t free_bytes;      /* free, for root */
	uint64_t avail_bytes;     /* free for unprivileged users */
	uint64_t files;           /* inodes */
	uint64_t files_free;
	bool readonly;            /* statfs says ST_RDONLY / MNT_RDONLY */
};

/* Where a file is: enough to find its mount in the table. */
struct sq_fs_where {
	int64_t mount_id;         /* Linux statx STATX_MNT_ID, -1 when unknown */
	uint32_t dev_major, dev_minor;
	char mountpoint[1024];    /* macOS: statfs's f_mntonname; Linux: "" */
};

/* statfs(2) of a mount point.  MAY BLOCK FOREVER on a hung file system.
 * 0, or a negative errno. */
int sq_fs_statfs(const char *mountpoint, struct sq_fs_usage *u);
/* Look path up with the calling thread's credentials and read the usage of
 * the file system holding it (Linux: open O_PATH, statx, fstatfs).  MAY
 * BLOCK FOREVER.  0, or a negative errno (-EACCES, -ENOENT, ...). */
int sq_fs_path_stat(const char *path, struct sq_fs_usage *u, struct sq_fs_where *w);
/* u from statfs's counts, each OS passing its own fields: the byte figures
 * are the block counts times block_size. */
void sq_fs_fill_usage(struct sq_fs_usage *u, uint64_t block_size, uint64_t blocks,
                      uint64_t bfree, uint64_t bavail, uint64_t files,
                      uint64_t files_free, bool readonly);
/* The table entry for w, or NULL. */
const struct sq_mount *sq_fs_mount_of(const struct sq_mount_table *t,
                                      const struct sq_fs_where *w);

#endif
