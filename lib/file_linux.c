/* SPDX-License-Identifier: ISC */
/*
 * file_linux.c - whether a regular file's st_size is its length: not on
 * the kernel's file systems whose files are made when read (procfs says 0,
 * sysfs 4096), nor when it is 0 (a FUSE or other file that does not know
 * its length in advance).  The file system is found from the device number
 * in the mount table sysqd keeps, never by asking it (statfs on a hung FUSE
 * or NFS mount never returns).
 */
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "sq_file.h"
#include "sq_fs.h"

static bool generated(const char *fstype)
{
	static const char *const types[] = {
		"proc", "sysfs", "debugfs", "tracefs", "securityfs", "cgroup", "cgroup2",
		"bpf", "efivarfs", "selinuxfs", "smackfs", "apparmorfs", "pstore", "configfs",
		NULL,
	};
	for (size_t i = 0; types[i]; i++)
		if (strcmp(fstype, types[i]) == 0)
			return true;
	return false;
}

bool sq_file_size_known(int fd, const struct stat *st)
{
	(void)fd;
	if (st->st_size == 0)
		return false;
	if (major(st->st_dev) != 0)
		return true; /* on a block device: a disk file system */
	struct sq_mount_table *t = NULL;
	if (sq_fs_mounts(&t) < 0)
		return true; /* cannot tell: trust the size, as before */
	bool known = true;
	for (size_t i = 0; i < t->n && known; i++)
		if (t->m[i].dev_major == 0 && t->m[i].dev_minor == minor(st->st_dev))
			known = !generated(t->m[i].fstype);
	sq_fs_mounts_release(t);
	return known;
}
