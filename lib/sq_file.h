/* SPDX-License-Identifier: ISC */
/*
 * sq_file.h - opening a file for streaming it out: regular files only, with
 * the kind of anything else named, so a daemon thread running as the caller
 * never blocks on a FIFO and never opens a device.
 */
#ifndef SQ_FILE_H
#define SQ_FILE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct stat;

struct sq_file_info {
	uint64_t size;  /* st_size at open */
	bool size_known; /* st_size is the length (not a procfs/sysfs file, not 0) */
	mode_t mode;    /* st_mode of what path named, also when it was refused */
};

/*
 * Open path read-only (O_CLOEXEC | O_NOCTTY; O_NOFOLLOW when nofollow) as a
 * regular file.  The file type is checked with stat (lstat for nofollow)
 * BEFORE the open, so a device, FIFO or socket is never opened (opening
 * some devices has side effects), and again with fstat on the descriptor,
 * which is the answer that counts.  The open itself uses O_NONBLOCK, so
 * even a FIFO swapped in between cannot block it; the flag is cleared on
 * the returned descriptor.
 * Returns the descriptor, or a negative errno: -EISDIR for a directory,
 * -ELOOP for a symbolic link with nofollow, -ENOTSUP for any other
 * non-regular file (info->mode tells which), or the error of stat/open
 * (-ENOENT, -EACCES, ...).
 */
int sq_file_open_read(const char *path, bool nofollow, struct sq_file_info *info);

/* Whether st (of the open fd) gives the file's length: false on procfs,
 * sysfs and the kernel's other generated files, and for a size of 0; such
 * a file is read until read(2) says it ends.  (file_linux.c, file_darwin.c) */
bool sq_file_size_known(int fd, const struct stat *st);

/* "a directory", "a FIFO", "a character device", ... for messages. */
const char *sq_file_kind(mode_t mode);

#endif
