/* SPDX-License-Identifier: ISC */
/*
 * test_xattr.c - lib/sq_xattr.h on its own, on real files: values and name
 * lists of every size class, create/replace, a symlink's own attributes, a
 * FIFO that must not be opened, the OS's errors, on Linux both ways to the
 * inode (*xattrat(), /proc/self/fd/N).  Files go to /dev/shm (tmpfs) when
 * user.* attributes work there, else under /tmp.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>
#ifdef __linux__
#include <sched.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#endif

#include "sq_xattr.h"

static char dir[64];
static char skip_why[200];

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	remove(p);
	return 0;
}

/* A fresh dir where user.* attributes work: 1 found, 0 not. */
static int try_dir(const char *base)
{
	char p[128];
	snprintf(dir, sizeof(dir), "%s/sq-xattr-unit.XXXXXX", base);
	if (!mkdtemp(dir))
		return 0;
	snprintf(p, sizeof(p), "%s/probe", dir);
	int fd = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	int ok = fd >= 0 && fsetxattr(fd, "user.probe", "1", 1, 0) == 0;
	if (!ok)
		snprintf(skip_why, sizeof(skip_why), "SKIPPED: user.* extended attributes do "
		         "not work under %s (%s)", base, strerror(errno));
	if (fd >= 0)
		close(fd);
	unlink(p);
	if (!ok)
		rmdir(dir);
	return ok;
}

static void up(void)
{
	skip_why[0] = '\0';
	if (try_dir("/dev/shm") || try_dir("/tmp"))
		skip_why[0] = '\0';
}

static void down(void)
{
	if (!skip_why[0])
		nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(xattr_lib, .init = up, .fini = down, .timeout = 30);

#define NEED_XATTRS() do { if (skip_why[0]) cr_skip_test("%s", skip_why); } while (0)

static const char *file(const char *name)
{
	static char p[4][128];
	static int k;
	char *s = p[k++ % 4];
	snprintf(s, sizeof(p[0]), "%s/%s", dir, name);
	int fd = open(s, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	cr_assert(fd >= 0, "%s: %s", s, strerror(errno));
	close(fd);
	return s;
}

static void expect(const char *path, const char *name, int flags, const void *v, size_t n)
{
	struct sq_xattr_buf b;
	int rc = sq_xattr_get(path, name, flags, 1u << 20, &b);
	cr_assert_eq(rc, 0, "get %s: %s", name, strerror(-rc));
	cr_assert_eq(b.len, n, "%s: %zu bytes, want %zu", name, b.len, n);
	cr_assert(n == 0 || memcmp(b.data, v, n) == 0, "%s: bytes differ", name);
	/* small values stay in the inline buffer, big ones on the heap */
	cr_assert_eq(b.data == b.inline_buf, n <= SQ_XATTR_INLINE);
	sq_xattr_buf_free(&b);
}

Test(xattr_lib, set_get_remove_bytes)
{
	NEED_XATTRS();
	const char *f = file("a");
	static const char v[] = "a\0b\xff\x80";
	cr_assert_eq(sq_xattr_set(f, "user.v", v, sizeof(v), SQ_XATTR_ANY, 0), 0);
	expect(f, "user.v", 0, v, sizeof(v));
	char raw[16];
	cr_assert_eq(getxattr(f, "user.v", raw, sizeof(raw)), (ssize_t)sizeof(v));
	cr_assert_eq(memcmp(raw, v, sizeof(v)), 0);
	cr_assert_eq(sq_xattr_remove(f, "user.v", 0), 0);
	struct sq_xattr_buf b;
	cr_assert_eq(sq_xattr_get(f, "user.v", 0, 1u << 20, &b), -sq_xattr_enoattr);
	cr_assert_eq(sq_xattr_remove(f, "user.v", 0), -sq_xattr_enoattr);
}

Test(xattr_lib, every_size_class)
{
	NEED_XATTRS();
	const char *f = file("sizes");
	char *v = malloc(SQ_XATTR_LINUX_MAX + 1);
	cr_assert(v);
	for (size_t i = 0; i <= SQ_XATTR_LINUX_MAX; i++)
		v[i] = (char)(i * 131 + 7);
	size_t sizes[] = { 0, 1, SQ_XATTR_INLINE - 1, SQ_XATTR_INLINE, SQ_XATTR_INLINE + 1,
	                   20000, SQ_XATTR_LINUX_MAX };
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		int rc = sq_xattr_set(f, "user.big", v, sizes[k], SQ_XATTR_ANY, 0);
		if (rc == -ENOSPC || rc == -E2BIG)
			cr_skip_test("SKIPPED: %s holds no %zu-byte value (%s)", dir, sizes[k],
			             strerror(-rc));
		cr_assert_eq(rc, 0, "set %zu bytes: %s", sizes[k], strerror(-rc));
		expect(f, "user.big", 0, v, sizes[k]);
	}
	/* Linux's limit is the kernel's to enforce */
	cr_assert_eq(sq_xattr_set(f, "user.big", v, SQ_XATTR_LINUX_MAX + 1, SQ_XATTR_ANY, 0),
	             -E2BIG);
	/* more than the caller's max */
	struct sq_xattr_buf b;
	cr_assert_eq(sq_xattr_get(f, "user.big", 0, 100, &b), -E2BIG);
	cr_assert_eq(sq_xattr_get(f, "user.big", 0, SQ_XATTR_LINUX_MAX - 1, &b), -E2BIG);
	cr_assert_eq(sq_xattr_get(f, "user.big", 0, SQ_XATTR_LINUX_MAX, &b), 0);
	cr_assert_eq(b.len, SQ_XATTR_LINUX_MAX);
	sq_xattr_buf_free(&b);
	free(v);
}

Test(xattr_lib, name_lists_past_the_inline_buffer)
{
	NEED_XATTRS();
	const char *f = file("names");
	struct sq_xattr_buf b;
	cr_assert_eq(sq_xattr_list(f, 0, 1u << 20, &b), 0);
	cr_assert_eq(b.len, 0);
	sq_xattr_buf_free(&b);
	char name[200];
	size_t total = 0;
	for (int i = 0; i < 50; i++) {
		snprintf(name, sizeof(name), "user.%03d.%0150d", i, 0);
		int rc = sq_xattr_set(f, name, "", 0, SQ_XATTR_CREATE, 0);
		if (rc == -ENOSPC)
			cr_skip_test("SKIPPED: %s holds fewer attributes", dir);
		cr_assert_eq(rc, 0, "%s", strerror(-rc));
		total += strlen(name) + 1;
	}
	cr_assert_gt(total, SQ_XATTR_INLINE);
	cr_assert_eq(sq_xattr_list(f, 0, 1u << 20, &b), 0);
	cr_assert_eq(b.len, total);
	cr_assert_neq(b.data, b.inline_buf);
	int seen = 0;
	for (size_t i = 0; i < b.len; i += strlen(b.data + i) + 1)
		seen += strncmp(b.data + i, "user.", 5) == 0;
	cr_assert_eq(seen, 50);
	sq_xattr_buf_free(&b);
	cr_assert_eq(sq_xattr_list(f, 0, 1000, &b), -E2BIG);
}

Test(xattr_lib, create_and_replace)
{
	NEED_XATTRS();
	const char *f = file("modes");
	cr_assert_eq(sq_xattr_set(f, "user.m", "1", 1, SQ_XATTR_REPLACE, 0), -sq_xattr_enoattr);
	cr_assert_eq(sq_xattr_set(f, "user.m", "1", 1, SQ_XATTR_CREATE, 0), 0);
	cr_assert_eq(sq_xattr_set(f, "user.m", "2", 1, SQ_XATTR_CREATE, 0), -EEXIST);
	expect(f, "user.m", 0, "1", 1);
	cr_assert_eq(sq_xattr_set(f, "user.m", "3", 1, SQ_XATTR_REPLACE, 0), 0);
	expect(f, "user.m", 0, "3", 1);
}

Test(xattr_lib, nofollow_means_the_link_itself)
{
	NEED_XATTRS();
	const char *f = file("t");
	char l[128];
	snprintf(l, sizeof(l), "%s/l", dir);
	cr_assert_eq(symlink("t", l), 0);
	cr_assert_eq(sq_xattr_set(l, "user.x", "T", 1, SQ_XATTR_ANY, 0), 0);
	char raw[4];
	cr_assert_eq(getxattr(f, "user.x", raw, sizeof(raw)), 1, "set through the link");
	expect(l, "user.x", 0, "T", 1);
	/* the link itself: Linux keeps user.* off symlinks */
	struct sq_xattr_buf b;
	cr_assert_eq(sq_xattr_get(l, "user.x", SQ_XATTR_NOFOLLOW, 1u << 20, &b),
	             -sq_xattr_enoattr);
	cr_assert_eq(sq_xattr_set(l, "user.y", "L", 1, SQ_XATTR_ANY, SQ_XATTR_NOFOLLOW), -EPERM);
	cr_assert_eq(sq_xattr_list(l, SQ_XATTR_NOFOLLOW, 1u << 20, &b), 0);
	char want[256];
	cr_assert_eq((ssize_t)b.len, llistxattr(l, want, sizeof(want)));
	sq_xattr_buf_free(&b);
	cr_assert_eq(sq_xattr_list(l, 0, 1u << 20, &b), 0);
	cr_assert_eq(b.len, 7);
	cr_assert_str_eq(b.data, "user.x");
	sq_xattr_buf_free(&b);
	if (geteuid() != 0)
		return;
	/* root: trusted.* on the link, not on the target */
	cr_assert_eq(sq_xattr_set(l, "trusted.sq", "L", 1, SQ_XATTR_ANY, SQ_XATTR_NOFOLLOW), 0);
	cr_assert_eq(lgetxattr(l, "trusted.sq", raw, sizeof(raw)), 1);
	cr_assert_eq(getxattr(f, "trusted.sq", raw, sizeof(raw)), -1);
	expect(l, "trusted.sq", SQ_XATTR_NOFOLLOW, "L", 1);
	cr_assert_eq(sq_xattr_remove(l, "trusted.sq", SQ_XATTR_NOFOLLOW), 0);
	cr_assert_eq(lgetxattr(l, "trusted.sq", raw, sizeof(raw)), -1);
}

Test(xattr_lib, missing_files_fifos_and_bad_names)
{
	NEED_XATTRS();
	char p[128];
	struct sq_xattr_buf b;
	snprintf(p, sizeof(p), "%s/none", dir);
	cr_assert_eq(sq_xattr_get(p, "user.x", 0, 100, &b), -ENOENT);
	cr_assert_eq(sq_xattr_list(p, 0, 100, &b), -ENOENT);
	cr_assert_eq(sq_xattr_set(p, "user.x", "", 0, SQ_XATTR_ANY, 0), -ENOENT);
	snprintf(p, sizeof(p), "%s/fifo", dir);
	cr_assert_eq(mkfifo(p, 0644), 0);
	/* opening it for reading would block: the list must come back */
	cr_assert_eq(sq_xattr_list(p, 0, 100, &b), 0);
	cr_assert_eq(b.len, 0);
	const char *f = file("n");
	cr_assert_eq(sq_xattr_get(f, "nonamespace", 0, 100, &b), -ENOTSUP);
	cr_assert_eq(sq_xattr_set(f, "", "", 0, SQ_XATTR_ANY, 0), -ERANGE);
}

/* ---- the ways to the inode (Linux: *xattrat() or /proc/self/fd/N) ---------- */

/* Every kind of call once, checked against the raw syscalls. */
static void exercise(const char *tag)
{
	char fn[32], ln[32];
	snprintf(fn, sizeof(fn), "ways-%s", tag);
	snprintf(ln, sizeof(ln), "ways-%s-l", tag);
	const char *f = file(fn);
	char l[128], raw[64];
	snprintf(l, sizeof(l), "%s/%s", dir, ln);
	cr_assert_eq(symlink(fn, l), 0);
	static const char v[] = "v\0\xff";
	struct sq_xattr_buf b;
	cr_assert_eq(sq_xattr_set(f, "user.w", v, sizeof(v), SQ_XATTR_CREATE, 0), 0, "%s", tag);
	cr_assert_eq(getxattr(f, "user.w", raw, sizeof(raw)), (ssize_t)sizeof(v));
	cr_assert_eq(memcmp(raw, v, sizeof(v)), 0);
	cr_assert_eq(sq_xattr_set(f, "user.w", "x", 1, SQ_XATTR_CREATE, 0), -EEXIST, "%s", tag);
	expect(f, "user.w", 0, v, sizeof(v));
	expect(l, "user.w", 0, v, sizeof(v));
	cr_assert_eq(sq_xattr_set(f, "user.w", "rr", 2, SQ_XATTR_REPLACE, 0), 0, "%s", tag);
	expect(f, "user.w", 0, "rr", 2);
	cr_assert_eq(sq_xattr_list(f, 0, 1u << 20, &b), 0, "%s", tag);
	cr_assert_eq((ssize_t)b.len, listxattr(f, raw, sizeof(raw)));
	cr_assert_eq(memcmp(b.data, raw, b.len), 0);
	sq_xattr_buf_free(&b);
	/* the link itself */
	cr_assert_eq(sq_xattr_get(l, "user.w", SQ_XATTR_NOFOLLOW, 100, &b), -sq_xattr_enoattr,
	             "%s", tag);
	cr_assert_eq(sq_xattr_set(l, "user.w", "x", 1, SQ_XATTR_ANY, SQ_XATTR_NOFOLLOW), -EPERM,
	             "%s", tag);
	cr_assert_eq(sq_xattr_list(l, SQ_XATTR_NOFOLLOW, 1u << 20, &b), 0);
	cr_assert_eq((ssize_t)b.len, llistxattr(l, raw, sizeof(raw)));
	sq_xattr_buf_free(&b);
	if (geteuid() == 0) {
		cr_assert_eq(sq_xattr_set(l, "trusted.w", "L", 1, SQ_XATTR_ANY, SQ_XATTR_NOFOLLOW),
		             0, "%s", tag);
		cr_assert_eq(lgetxattr(l, "trusted.w", raw, sizeof(raw)), 1);
		cr_assert_eq(getxattr(f, "trusted.w", raw, sizeof(raw)), -1, "%s: on the target",
		             tag);
		expect(l, "trusted.w", SQ_XATTR_NOFOLLOW, "L", 1);
		cr_assert_eq(sq_xattr_remove(l, "trusted.w", SQ_XATTR_NOFOLLOW), 0);
		cr_assert_eq(lgetxattr(l, "trusted.w", raw, sizeof(raw)), -1);
	}
	cr_assert_eq(sq_xattr_remove(f, "user.w", 0), 0, "%s", tag);
	cr_assert_eq(getxattr(f, "user.w", raw, sizeof(raw)), -1);
	cr_assert_eq(sq_xattr_remove(f, "user.w", 0), -sq_xattr_enoattr, "%s", tag);
	cr_assert_eq(sq_xattr_get(f, "nonamespace", 0, 100, &b), -ENOTSUP, "%s", tag);
}

#ifdef __linux__
#ifndef SYS_getxattrat
#define SYS_getxattrat 464 /* x86_64 and the asm-generic architectures */
#endif

/* Whether this kernel has getxattrat(), asked independently of lib/. */
static bool kernel_has_getxattrat(void)
{
	return syscall(SYS_getxattrat, -1, NULL, 0, NULL, NULL, (size_t)0) == -1 &&
	       errno == EINVAL;
}

Test(xattr_lib, at_calls_where_the_kernel_has_them)
{
	NEED_XATTRS();
	if (!kernel_has_getxattrat()) {
		cr_assert_eq(sq_xattr_via(), SQ_XATTR_VIA_PROC_PATH);
		cr_skip_test("SKIPPED: this kernel has no getxattrat() (Linux < 6.13)");
	}
	cr_assert_eq(sq_xattr_via(), SQ_XATTR_VIA_PROC_AT);
	exercise("at");
}

Test(xattr_lib, the_proc_path_fallback)
{
	NEED_XATTRS();
	sq_xattr_force_paths(1);
	cr_assert_eq(sq_xattr_via(), SQ_XATTR_VIA_PROC_PATH);
	exercise("paths");
	sq_xattr_force_paths(0);
	if (kernel_has_getxattrat())
		cr_assert_eq(sq_xattr_via(), SQ_XATTR_VIA_PROC_AT);
}

/* Proof of which way each mode goes: with /proc hidden under a private
 * mount, the directory opened before still leads to the inode, the path
 * /proc/self/fd/N does not (ENOSYS: "no /proc"). */
Test(xattr_lib, each_way_goes_where_it_says)
{
	NEED_XATTRS();
	if (geteuid() != 0)
		cr_skip_test("SKIPPED: hiding /proc needs root");
	const char *f = file("proof");
	cr_assert_eq(setxattr(f, "user.p", "P", 1, 0), 0);
	bool at = kernel_has_getxattrat();
	cr_assert_eq(sq_xattr_via(), at ? SQ_XATTR_VIA_PROC_AT : SQ_XATTR_VIA_PROC_PATH);
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		cr_skip_test("SKIPPED: no private mount namespace (%s)", strerror(errno));
	cr_assert_eq(mount("sq-noproc", "/proc", "tmpfs", MS_NOSUID | MS_NODEV, "size=64k"), 0,
	             "%s", strerror(errno));
	struct sq_xattr_buf b;
	if (at) {
		expect(f, "user.p", 0, "P", 1);
		cr_assert_eq(sq_xattr_set(f, "user.q", "Q", 1, SQ_XATTR_ANY, 0), 0);
		cr_assert_eq(sq_xattr_list(f, 0, 100, &b), 0);
		sq_xattr_buf_free(&b);
		cr_assert_eq(sq_xattr_remove(f, "user.q", 0), 0);
	}
	sq_xattr_force_paths(1);
	cr_assert_eq(sq_xattr_get(f, "user.p", 0, 100, &b), -ENOSYS);
	cr_assert_eq(sq_xattr_list(f, 0, 100, &b), -ENOSYS);
	cr_assert_eq(sq_xattr_set(f, "user.q", "Q", 1, SQ_XATTR_ANY, 0), -ENOSYS);
	cr_assert_eq(sq_xattr_remove(f, "user.p", 0), -ENOSYS);
	sq_xattr_force_paths(0);
	if (at)
		expect(f, "user.p", 0, "P", 1);
	umount2("/proc", MNT_DETACH);
	if (!at)
		cr_skip_test("SKIPPED: only the path half (this kernel has no getxattrat())");
}
#else
Test(xattr_lib, the_descriptor_is_the_way)
{
	NEED_XATTRS();
	cr_assert_eq(sq_xattr_via(), SQ_XATTR_VIA_FD);
	exercise("fd");
}
#endif
