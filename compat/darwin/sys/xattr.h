/* SPDX-License-Identifier: ISC */
/* Build-check shim: zig's bundled macOS libc headers lack <sys/xattr.h>, so
 * `make check-darwin` uses this copy of Apple's public declarations (xnu
 * bsd/sys/xattr.h). Never used on Linux, nor on a real Mac (the SDK has it). */
#ifndef _SYS_XATTR_H_
#define _SYS_XATTR_H_

#include <sys/types.h>
#include <sys/cdefs.h>

/* Options for pathname based xattr calls */
#define XATTR_NOFOLLOW        0x0001 /* don't follow symbolic links */

/* Options for setxattr calls */
#define XATTR_CREATE          0x0002 /* fail if the attribute already exists */
#define XATTR_REPLACE         0x0004 /* fail if the attribute does not exist */

/* Bypass authorization checking */
#define XATTR_NOSECURITY      0x0008

/* Bypass the default extended attribute file (dot-underscore file) */
#define XATTR_NODEFAULT       0x0010

/* f/getxattr() and f/listxattr(): expose the HFS compression attributes */
#define XATTR_SHOWCOMPRESSION 0x0020

/* Don't follow any symbolic link anywhere in the path (macOS 11+) */
#define XATTR_NOFOLLOW_ANY    0x0040

#define XATTR_MAXNAMELEN      127

#define XATTR_FINDERINFO_NAME   "com.apple.FinderInfo"
#define XATTR_RESOURCEFORK_NAME "com.apple.ResourceFork"

__BEGIN_DECLS

ssize_t getxattr(const char *path, const char *name, void *value, size_t size,
                 u_int32_t position, int options);
ssize_t fgetxattr(int fd, const char *name, void *value, size_t size,
                  u_int32_t position, int options);
int setxattr(const char *path, const char *name, const void *value, size_t size,
             u_int32_t position, int options);
int fsetxattr(int fd, const char *name, const void *value, size_t size,
              u_int32_t position, int options);
int removexattr(const char *path, const char *name, int options);
int fremovexattr(int fd, const char *name, int options);
ssize_t listxattr(const char *path, char *namebuff, size_t size, int options);
ssize_t flistxattr(int fd, char *namebuff, size_t size, int options);

__END_DECLS

#endif /* _SYS_XATTR_H_ */
