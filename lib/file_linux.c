/*
 * file_linux.c - whether a regular file's st_size is its length: not on
 * the kernel's pseudo file systems (procfs says 0, sysfs 4096, and the
 * others generate their content when read), nor when it is 0 (a FUSE or
 * other file that does not know its length in advance).
 */
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include "sq_file.h"

/* Those not in every linux/magic.h this builds against. */
#ifndef TRACEFS_MAGIC
#define TRACEFS_MAGIC 0x74726163
#endif
#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif
#ifndef EFIVARFS_MAGIC
#define EFIVARFS_MAGIC 0xde5e81e4
#endif

bool sq_file_size_known(int fd, const struct stat *st)
{
	if (st->st_size == 0)
		return false;
	struct statfs sf;
	if (fstatfs(fd, &sf) < 0)
		return true; /* as before: trust the size */
	switch ((unsigned long)sf.f_type) {
	case PROC_SUPER_MAGIC:
	case SYSFS_MAGIC:
	case DEBUGFS_MAGIC:
	case TRACEFS_MAGIC:
	case SECURITYFS_MAGIC:
	case CGROUP_SUPER_MAGIC:
	case CGROUP2_SUPER_MAGIC:
	case BPF_FS_MAGIC:
	case EFIVARFS_MAGIC:
	case SELINUX_MAGIC:
	case SMACK_MAGIC:
	case PSTOREFS_MAGIC:
		return false;
	default:
		return true;
	}
}
