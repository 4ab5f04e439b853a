/* SPDX-License-Identifier: ISC */
/*
 * sq_xattr.h - a file's extended attributes, the file opened once and then
 * used through its descriptor, so nothing swapped into the path meanwhile
 * can redirect a call.  Call it on a thread running as the caller
 * (sq_ident.h): the kernel decides.  Per OS: xattr_linux.c, xattr_darwin.c.
 */
#ifndef SQ_XATTR_H
#define SQ_XATTR_H

#include <stddef.h>
#include <sys/types.h>

/* flags for sq_xattr_open and the helpers */
#define SQ_XATTR_NOFOLLOW 0x1  /* a final symlink is acted on, not followed */
#define SQ_XATTR_WRITE    0x2  /* the file is opened to set or remove */

enum sq_xattr_mode {
	SQ_XATTR_ANY = 0,      /* create or replace */
	SQ_XATTR_CREATE,       /* EEXIST when the attribute exists */
	SQ_XATTR_REPLACE,      /* sq_xattr_enoattr when it does not */
};

/* Names: 1..SQ_XATTR_NAME_MAX bytes, no NUL (Linux XATTR_NAME_MAX; macOS
 * allows 127 and says ENAMETOOLONG above that). */
#define SQ_XATTR_NAME_MAX 255
/* The largest value Linux stores (XATTR_SIZE_MAX) and the list size it
 * returns at most (XATTR_LIST_MAX); macOS has no fixed bound. */
#define SQ_XATTR_LINUX_MAX 65536
/* The first read goes into a buffer this big: the Linux kernel allocates
 * (and zeroes) as much as the caller offers, so offering 64 KiB for every
 * small value costs more than the rare second call. */
#define SQ_XATTR_INLINE 4096

/* The errno this OS uses for "no such attribute": ENODATA on Linux, ENOATTR
 * on macOS.  The protocol names both "ENOATTR". */
extern const int sq_xattr_enoattr;

/* One file opened for attribute calls. */
struct sq_xattr_file {
	int fd;
	char via[32];          /* Linux: "/proc/self/fd/N" names the fd's inode */
};

/* How the calls reach the inode behind an open file, in this process. */
enum sq_xattr_via {
	SQ_XATTR_VIA_FD,         /* the descriptor itself (macOS f*xattr) */
	SQ_XATTR_VIA_PROC_AT,    /* Linux >= 6.13: *xattrat() on entry N of
	                          * /proc/self/fd, that directory opened once */
	SQ_XATTR_VIA_PROC_PATH,  /* Linux: the path /proc/self/fd/N */
};
enum sq_xattr_via sq_xattr_via(void);
/* For tests and the bench only (sysqd never calls it): on, Linux uses the
 * /proc/self/fd/N paths as on a kernel without *xattrat(); off, back. */
void sq_xattr_force_paths(int on);

/* Open path as the current thread's identity.  0 or a negative errno. */
int sq_xattr_open(struct sq_xattr_file *f, const char *path, int flags);
void sq_xattr_close(struct sq_xattr_file *f);

/* The OS calls on an open file.  get/list: buf NULL and size 0 ask for the
 * size; -ERANGE when size is too small.  Return the length or -errno. */
ssize_t sq_xattr_fget(const struct sq_xattr_file *f, const char *name,
                      void *buf, size_t size);
ssize_t sq_xattr_flist(const struct sq_xattr_file *f, char *buf, size_t size);
int sq_xattr_fset(const struct sq_xattr_file *f, const char *name,
                  const void *value, size_t len, enum sq_xattr_mode mode);
int sq_xattr_fremove(const struct sq_xattr_file *f, const char *name);

/* Bytes read by sq_xattr_get/sq_xattr_list: in the inline buffer when they
 * fit, else on the heap.  Free with sq_xattr_buf_free. */
struct sq_xattr_buf {
	char *data;
	size_t len;
	char *heap;
	char inline_buf[SQ_XATTR_INLINE];
};
void sq_xattr_buf_free(struct sq_xattr_buf *b);

/* Open, call, close.  get and list read the whole value / name list (no
 * size-query race: a value that grows between calls is read again); more
 * than max bytes is -E2BIG.  The list is the OS's: names each ended by NUL. */
int sq_xattr_get(const char *path, const char *name, int flags, size_t max,
                 struct sq_xattr_buf *out);
int sq_xattr_list(const char *path, int flags, size_t max, struct sq_xattr_buf *out);
int sq_xattr_set(const char *path, const char *name, const void *value, size_t len,
                 enum sq_xattr_mode mode, int flags);
int sq_xattr_remove(const char *path, const char *name, int flags);

#endif
