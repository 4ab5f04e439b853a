/* SPDX-License-Identifier: ISC */
/*
 * test_xattr.c - xattr.* against a real sysqd: exact bytes up to 64 KiB,
 * a value over the result limit, create/replace, nofollow, the caller's identity (refused on root's file,
 * allowed on its own, trusted.* hidden, never carried over to another
 * caller), bad params, `sysq xattr`.  Kernel-decided outcomes are compared
 * with the raw syscall made by the same user.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <grp.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "harness.h"
#include "rawio.h"
#include "sq_errno.h"
#include "sq_proto.h"

/* As root the files live on a tmpfs mounted in a private mount namespace
 * (the mount goes away with the test's processes, whatever happens to them);
 * otherwise in a temp dir under /tmp. */
static struct sqd d;
static char dir[64];          /* the test's files */
static bool mounted;          /* dir is a private tmpfs */
static const char *fs_name;   /* for skip messages */
static char no_xattr[200];    /* set when user.* attributes do not work here */

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	remove(p); /* best effort: a failure shows in rmdir's */
	return 0;
}

static void probe_user_xattrs(void)
{
	char p[128];
	snprintf(p, sizeof(p), "%s/.probe", dir);
	int fd = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	cr_assert(fd >= 0, "create %s: %s", p, strerror(errno));
	close(fd);
	no_xattr[0] = '\0';
	if (setxattr(p, "user.sq-probe", "1", 1, 0) < 0)
		snprintf(no_xattr, sizeof(no_xattr), "SKIPPED: user.* extended attributes "
		         "do not work on %s (%s)", fs_name, strerror(errno));
	unlink(p);
}

static void up(void)
{
	snprintf(dir, sizeof(dir), "/tmp/sysq-xattr.XXXXXX");
	cr_assert(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
	chmod(dir, 0755);
	fs_name = "the /tmp filesystem";
	mounted = false;
	if (have_root() && unshare(CLONE_NEWNS) == 0 &&
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0 &&
	    mount("sysq-xattr", dir, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=16m") == 0) {
		mounted = true;
		fs_name = "tmpfs";
	}
	probe_user_xattrs();
	if (no_xattr[0] && mounted) { /* tmpfs before Linux 6.6: try /tmp itself */
		umount2(dir, MNT_DETACH);
		mounted = false;
		fs_name = "the /tmp filesystem";
		probe_user_xattrs();
	}
	sqd_start(&d, NULL);
}

static void down(void)
{
	sqd_stop_clean(&d);
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	if (mounted)
		umount2(dir, MNT_DETACH);
	rmdir(dir);
}

TestSuite(xattr, .init = up, .fini = down, .timeout = 60);

#define SKIP_UNLESS_XATTRS() do { if (no_xattr[0]) cr_skip_test("%s", no_xattr); } while (0)

/* ---- helpers ------------------------------------------------------------ */

static char *path_of(const char *name)
{
	static char bufs[4][160];
	static int k;
	char *p = bufs[k++ % 4];
	snprintf(p, sizeof(bufs[0]), "%s/%s", dir, name);
	return p;
}

static void make_file(const char *p, mode_t mode, uid_t uid)
{
	int fd = open(p, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, mode);
	cr_assert(fd >= 0, "create %s: %s", p, strerror(errno));
	cr_assert_eq(write(fd, "data\n", 5), 5);
	close(fd);
	cr_assert_eq(chmod(p, mode), 0);
	if (uid != (uid_t)-1)
		cr_assert_eq(chown(p, uid, uid), 0, "chown: %s", strerror(errno));
}

/* Names with bytes above 0x7f travel as bin. */
static void pack_name(msgpack_packer *pk, const char *name)
{
	bool ascii = true;
	for (const char *s = name; *s; s++)
		ascii &= (unsigned char)*s < 0x80;
	sq_pack_cstr(pk, "name");
	if (ascii)
		sq_pack_cstr(pk, name);
	else
		msgpack_pack_bin_with_body(pk, name, strlen(name));
}

static int x_get(struct sysq *c, const char *path, const char *name, bool nofollow,
                 struct sysq_reply *r)
{
	msgpack_packer *pk = sysq_begin(c, "xattr.get", NULL);
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 3);
	sq_pack_kv_str(pk, "path", path);
	pack_name(pk, name);
	sq_pack_kv_bool(pk, "nofollow", nofollow);
	return sysq_call_end(c, r);
}

static int x_set(struct sysq *c, const char *path, const char *name, const void *v,
                 size_t len, const char *mode, bool nofollow, struct sysq_reply *r)
{
	msgpack_packer *pk = sysq_begin(c, "xattr.set", NULL);
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, mode ? 5 : 4);
	sq_pack_kv_str(pk, "path", path);
	pack_name(pk, name);
	sq_pack_cstr(pk, "value");
	msgpack_pack_bin_with_body(pk, v, len);
	sq_pack_kv_bool(pk, "nofollow", nofollow);
	if (mode)
		sq_pack_kv_str(pk, "mode", mode);
	return sysq_call_end(c, r);
}

static int x_list(struct sysq *c, const char *path, bool nofollow, struct sysq_reply *r)
{
	msgpack_packer *pk = sysq_begin(c, "xattr.list", NULL);
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 2);
	sq_pack_kv_str(pk, "path", path);
	sq_pack_kv_bool(pk, "nofollow", nofollow);
	return sysq_call_end(c, r);
}

static int x_remove(struct sysq *c, const char *path, const char *name, bool nofollow,
                    struct sysq_reply *r)
{
	msgpack_packer *pk = sysq_begin(c, "xattr.remove", NULL);
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 3);
	sq_pack_kv_str(pk, "path", path);
	pack_name(pk, name);
	sq_pack_kv_bool(pk, "nofollow", nofollow);
	return sysq_call_end(c, r);
}

/* The outcome of a call as a code: "OK" or the wire error code. */
static const char *outcome(int rc, struct sysq_reply *r, char *buf, size_t size)
{
	snprintf(buf, size, "%s", rc == 0 ? "OK" : rc == SYSQ_REMOTE_ERROR ? r->code : "LOST");
	sysq_reply_free(r);
	return buf;
}

/* The outcome of a raw syscall the same way (ENODATA is "ENOATTR"). */
static const char *raw_outcome(long rc, int err)
{
	if (rc >= 0)
		return "OK";
	return err == ENODATA ? "ENOATTR" : sq_errno_name(err);
}

#define EXPECT_CODE(call, want) do { \
	struct sysq_reply r_; \
	int rc_ = (call); \
	cr_assert_eq(rc_, SYSQ_REMOTE_ERROR, "%s: expected %s, got rc %d", #call, want, rc_); \
	cr_assert_str_eq(r_.code, want, "%s: %s", #call, r_.message); \
	sysq_reply_free(&r_); \
} while (0)
#define EXPECT_OK(call) do { \
	struct sysq_reply r_; \
	int rc_ = (call); \
	cr_assert_eq(rc_, 0, "%s: %s %s", #call, r_.code, r_.message); \
	sysq_reply_free(&r_); \
} while (0)

/* The value in an xattr.get reply: must be a bin. */
static const msgpack_object *value_of(const struct sysq_reply *r)
{
	const msgpack_object *v = sq_map_get(r->result, "value");
	cr_assert(v, "no value in the reply");
	cr_assert_eq(v->type, MSGPACK_OBJECT_BIN, "value must be a bin (type %d)", v->type);
	return v;
}

static void expect_value(struct sysq *c, const char *path, const char *name, bool nofollow,
                         const void *want, size_t len)
{
	struct sysq_reply r;
	int rc = x_get(c, path, name, nofollow, &r);
	cr_assert_eq(rc, 0, "xattr.get %s %s: %s %s", path, name, r.code, r.message);
	const msgpack_object *v = value_of(&r);
	cr_assert_eq(v->via.bin.size, len, "size %u, want %zu", v->via.bin.size, len);
	cr_assert(len == 0 || memcmp(v->via.bin.ptr, want, len) == 0, "bytes differ");
	sysq_reply_free(&r);
}

/* The names from xattr.list, sorted, joined with '|' (bin names too). */
static void list_names(struct sysq *c, const char *path, bool nofollow, char *out, size_t size)
{
	struct sysq_reply r;
	int rc = x_list(c, path, nofollow, &r);
	cr_assert_eq(rc, 0, "xattr.list %s: %s %s", path, r.code, r.message);
	const msgpack_object *ns = sq_map_get(r.result, "names");
	cr_assert(ns && ns->type == MSGPACK_OBJECT_ARRAY);
	char names[64][300];
	uint32_t n = ns->via.array.size;
	cr_assert_leq(n, 64);
	for (uint32_t i = 0; i < n; i++) {
		const msgpack_object *o = &ns->via.array.ptr[i];
		cr_assert(o->type == MSGPACK_OBJECT_STR || o->type == MSGPACK_OBJECT_BIN);
		snprintf(names[i], sizeof(names[i]), "%.*s", (int)o->via.str.size, o->via.str.ptr);
	}
	qsort(names, n, sizeof(names[0]), (int (*)(const void *, const void *))strcmp);
	out[0] = '\0';
	for (uint32_t i = 0; i < n; i++)
		snprintf(out + strlen(out), size - strlen(out), "%s%s", i ? "|" : "", names[i]);
	sysq_reply_free(&r);
}

/* The same from the raw llistxattr/listxattr call. */
static void raw_names(const char *path, bool nofollow, char *out, size_t size)
{
	char buf[65536], names[64][300];
	ssize_t len = nofollow ? llistxattr(path, buf, sizeof(buf)) : listxattr(path, buf, sizeof(buf));
	cr_assert(len >= 0, "listxattr %s: %s", path, strerror(errno));
	size_t n = 0;
	for (ssize_t i = 0; i < len && n < 64; i += (ssize_t)strlen(buf + i) + 1)
		snprintf(names[n++], sizeof(names[0]), "%s", buf + i);
	qsort(names, n, sizeof(names[0]), (int (*)(const void *, const void *))strcmp);
	out[0] = '\0';
	for (size_t i = 0; i < n; i++)
		snprintf(out + strlen(out), size - strlen(out), "%s%s", i ? "|" : "", names[i]);
}

/* ---- bytes ---------------------------------------------------------------- */

Test(xattr, binary_values_round_trip_exactly)
{
	SKIP_UNLESS_XATTRS();
	const char *f = path_of("bin");
	make_file(f, 0644, (uid_t)-1);
	static const char v[] = "\0nul\0\xff\xfe\x80 not utf-8 \xc3\x28\0";
	struct sysq *c = sqd_connect(&d);
	EXPECT_OK(x_set(c, f, "user.sq.bin", v, sizeof(v), NULL, false, &r_));
	expect_value(c, f, "user.sq.bin", false, v, sizeof(v));

	/* the kernel holds exactly those bytes */
	char raw[64];
	cr_assert_eq(getxattr(f, "user.sq.bin", raw, sizeof(raw)), (ssize_t)sizeof(v));
	cr_assert_eq(memcmp(raw, v, sizeof(v)), 0);

	/* an empty value is a value */
	EXPECT_OK(x_set(c, f, "user.sq.empty", "", 0, NULL, false, &r_));
	expect_value(c, f, "user.sq.empty", false, "", 0);

	/* a str value is accepted too, and comes back as bin */
	struct sysq_reply r;
	char json[300];
	snprintf(json, sizeof(json), "{\"path\": \"%s\", \"name\": \"user.sq.text\", "
	         "\"value\": \"h\\u00e9llo\"}", f);
	cr_assert_eq(sq_call(c, "xattr.set", json, &r), 0, "%s", r.message);
	sysq_reply_free(&r);
	expect_value(c, f, "user.sq.text", false, "h\xc3\xa9llo", 6);
	sysq_close(c);
}

Test(xattr, values_past_the_inline_buffer_and_64k)
{
	SKIP_UNLESS_XATTRS();
	const char *f = path_of("big");
	make_file(f, 0644, (uid_t)-1);
	enum { MAX = 65536 };
	char *v = malloc(MAX + 16);
	cr_assert(v);
	for (size_t i = 0; i < MAX + 16; i++)
		v[i] = (char)((i * 7 + i / 251) & 0xff);
	/* what the kernel says for these sizes, asked directly */
	if (setxattr(f, "user.sq.probe", v, MAX, 0) < 0)
		cr_skip_test("SKIPPED: %s does not hold a 64 KiB value (%s)", fs_name,
		             strerror(errno));
	removexattr(f, "user.sq.probe");
	int big_rc = (int)setxattr(f, "user.sq.probe", v, MAX + 1, 0);
	const char *big_code = raw_outcome(big_rc, errno);
	cr_assert(strcmp(big_code, "E2BIG") == 0 || strcmp(big_code, "ERANGE") == 0,
	          "the kernel took 64 KiB + 1 (%s)", big_code);

	struct sysq *c = sqd_connect(&d);
	size_t sizes[] = { 4095, 4096, 4097, 10000, MAX };
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		EXPECT_OK(x_set(c, f, "user.sq.big", v + k, sizes[k], NULL, false, &r_));
		expect_value(c, f, "user.sq.big", false, v + k, sizes[k]);
	}
	EXPECT_CODE(x_set(c, f, "user.sq.big", v, MAX + 1, NULL, false, &r_), big_code);
	expect_value(c, f, "user.sq.big", false, v + 4, MAX); /* unchanged */
	sysq_close(c);
	free(v);
}

/* The one rule for results (daemon/request.h): a value over what the
 * connection's --max-output leaves is E2BIG, and the connection lives on. */
Test(xattr, a_value_over_the_result_limit_is_E2BIG_not_a_dropped_connection)
{
	SKIP_UNLESS_XATTRS();
	const char *f = path_of("overlimit");
	make_file(f, 0644, (uid_t)-1);
	enum { BIG = 10000 };
	char *v = calloc(1, BIG);
	cr_assert(v);
	if (setxattr(f, "user.sq.big", v, BIG, 0) < 0)
		cr_skip_test("SKIPPED: %s does not hold a %d-byte value (%s)", fs_name, BIG,
		             strerror(errno));
	cr_assert_eq(setxattr(f, "user.sq.small", "s", 1, 0), 0);
	free(v);
	struct sqd small;
	static const char *const args[] = { "--max-output", "8192", NULL };
	sqd_start(&small, args);
	struct sysq *c = sqd_connect(&small);
	struct sysq_reply r;
	char js[PATH_MAX + 64];
	snprintf(js, sizeof(js), "{\"path\": \"%s\", \"name\": \"user.sq.big\"}", f);
	cr_assert_eq(sq_call(c, "xattr.get", js, &r), SYSQ_REMOTE_ERROR);
	cr_assert_str_eq(r.code, "E2BIG");
	cr_assert(strstr(r.message, "output limit of 8192 bytes"), "%s", r.message);
	sysq_reply_free(&r);
	snprintf(js, sizeof(js), "{\"path\": \"%s\", \"name\": \"user.sq.small\"}", f);
	cr_assert_eq(sq_call(c, "xattr.get", js, &r), 0, "%s", r.message);
	sysq_reply_free(&r);
	sysq_close(c);
	sqd_stop_clean(&small);
}

Test(xattr, many_names_are_listed_past_the_inline_buffer)
{
	SKIP_UNLESS_XATTRS();
	const char *f = path_of("many");
	make_file(f, 0644, (uid_t)-1);
	struct sysq *c = sqd_connect(&d);
	char name[160], want[8192] = "", got[8192];
	/* 40 names of ~110 bytes: more than the 4 KiB first read */
	for (int i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "user.sq.%02d.%0100d", i % 100, 0);
		if (setxattr(f, name, "x", 1, 0) < 0)
			cr_skip_test("SKIPPED: %s holds fewer attributes (%s)", fs_name, strerror(errno));
	}
	raw_names(f, false, want, sizeof(want));
	cr_assert_gt(strlen(want), 4096);
	list_names(c, f, false, got, sizeof(got));
	cr_assert_str_eq(got, want);
	sysq_close(c);
}

/* ---- create / replace / remove / list ------------------------------------ */

Test(xattr, create_and_replace)
{
	SKIP_UNLESS_XATTRS();
	const char *f = path_of("modes");
	make_file(f, 0644, (uid_t)-1);
	struct sysq *c = sqd_connect(&d);
	EXPECT_CODE(x_set(c, f, "user.sq.m", "r", 1, "replace", false, &r_), "ENOATTR");
	cr_assert_eq(getxattr(f, "user.sq.m", NULL, 0), -1, "replace created it");
	EXPECT_OK(x_set(c, f, "user.sq.m", "one", 3, "create", false, &r_));
	EXPECT_CODE(x_set(c, f, "user.sq.m", "two", 3, "create", false, &r_), "EEXIST");
	expect_value(c, f, "user.sq.m", false, "one", 3);
	EXPECT_OK(x_set(c, f, "user.sq.m", "three", 5, "replace", false, &r_));
	expect_value(c, f, "user.sq.m", false, "three", 5);
	EXPECT_OK(x_set(c, f, "user.sq.m", "four", 4, NULL, false, &r_));
	expect_value(c, f, "user.sq.m", false, "four", 4);
	EXPECT_CODE(x_set(c, f, "user.sq.m", "x", 1, "upsert", false, &r_), "EINVAL");
	sysq_close(c);
}

Test(xattr, list_and_remove_with_a_non_utf8_name)
{
	SKIP_UNLESS_XATTRS();
	const char *f = path_of("names");
	make_file(f, 0644, (uid_t)-1);
	struct sysq *c = sqd_connect(&d);
	char got[1024];
	list_names(c, f, false, got, sizeof(got));
	cr_assert_str_eq(got, "");
	EXPECT_OK(x_set(c, f, "user.sq.a", "1", 1, NULL, false, &r_));
	EXPECT_OK(x_set(c, f, "user.sq.\xff\xfe", "2", 1, NULL, false, &r_));

	/* the non-UTF-8 name comes back as bin, the other as str */
	struct sysq_reply r;
	cr_assert_eq(x_list(c, f, false, &r), 0);
	const msgpack_object *ns = sq_map_get(r.result, "names");
	cr_assert_eq(ns->via.array.size, 2);
	for (uint32_t i = 0; i < 2; i++) {
		const msgpack_object *o = &ns->via.array.ptr[i];
		bool is_a = o->via.str.size == 9 && memcmp(o->via.str.ptr, "user.sq.a", 9) == 0;
		cr_assert_eq(o->type, is_a ? MSGPACK_OBJECT_STR : MSGPACK_OBJECT_BIN);
	}
	sysq_reply_free(&r);
	list_names(c, f, false, got, sizeof(got));
	cr_assert_str_eq(got, "user.sq.a|user.sq.\xff\xfe");

	EXPECT_OK(x_remove(c, f, "user.sq.\xff\xfe", false, &r_));
	EXPECT_CODE(x_remove(c, f, "user.sq.\xff\xfe", false, &r_), "ENOATTR");
	cr_assert_eq(getxattr(f, "user.sq.\xff\xfe", NULL, 0), -1);
	list_names(c, f, false, got, sizeof(got));
	cr_assert_str_eq(got, "user.sq.a");
	sysq_close(c);
}

Test(xattr, errors_missing_path_missing_attribute_bad_params)
{
	SKIP_UNLESS_XATTRS();
	const char *f = path_of("errs");
	make_file(f, 0644, (uid_t)-1);
	struct sysq *c = sqd_connect(&d);
	EXPECT_CODE(x_get(c, path_of("nonexistent"), "user.sq", false, &r_), "ENOENT");
	EXPECT_CODE(x_list(c, path_of("nonexistent"), false, &r_), "ENOENT");
	EXPECT_CODE(x_get(c, f, "user.sq.none", false, &r_), "ENOATTR");
	EXPECT_CODE(x_remove(c, f, "user.sq.none", false, &r_), "ENOATTR");
	/* Linux wants a namespace prefix: the kernel's EOPNOTSUPP */
	EXPECT_CODE(x_get(c, f, "nonamespace", false, &r_), "ENOTSUP");

	static const char *const bad[][2] = {
		{ "xattr.get", "{\"path\": 5, \"name\": \"user.a\"}" },
		{ "xattr.get", "{\"name\": \"user.a\"}" },
		{ "xattr.get", "{\"path\": \"/tmp\"}" },
		{ "xattr.get", "{\"path\": \"tmp/relative\", \"name\": \"user.a\"}" },
		{ "xattr.get", "{\"path\": \"/tmp\", \"name\": \"\"}" },
		{ "xattr.get", "{\"path\": \"/tmp\", \"name\": 7}" },
		{ "xattr.get", "{\"path\": \"/tmp\", \"name\": \"user.a\", \"nofollow\": \"yes\"}" },
		{ "xattr.get", "{\"path\": \"/tmp\", \"name\": \"user.a\", \"value\": \"x\"}" },
		{ "xattr.list", "{\"path\": \"/tmp\", \"name\": \"user.a\"}" },
		{ "xattr.list", "{}" },
		{ "xattr.set", "{\"path\": \"/tmp\", \"name\": \"user.a\"}" },
		{ "xattr.set", "{\"path\": \"/tmp\", \"name\": \"user.a\", \"value\": 5}" },
		{ "xattr.set", "{\"path\": \"/tmp\", \"name\": \"user.a\", \"value\": \"v\", \"mode\": 1}" },
		{ "xattr.remove", "{\"path\": \"/tmp\", \"name\": \"user.a\", \"bogus\": 1}" },
		{ "xattr.remove", "{\"path\": \"/t\\u0000mp\", \"name\": \"user.a\"}" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sysq_reply r;
		cr_assert_eq(sq_call(c, bad[i][0], bad[i][1], &r), SYSQ_REMOTE_ERROR,
		             "%s %s was accepted", bad[i][0], bad[i][1]);
		cr_assert_str_eq(r.code, "EINVAL", "%s %s: %s %s", bad[i][0], bad[i][1], r.code,
		                 r.message);
		sysq_reply_free(&r);
	}
	/* a name of 256 bytes is refused before the kernel sees it */
	char name[300];
	memset(name, 'n', sizeof(name));
	memcpy(name, "user.", 5);
	name[256] = '\0';
	EXPECT_CODE(x_get(c, f, name, false, &r_), "EINVAL");
	name[255] = '\0';
	EXPECT_CODE(x_get(c, f, name, false, &r_), "ENOATTR");
	sysq_close(c);
}

Test(xattr, a_fifo_is_not_opened)
{
	SKIP_UNLESS_XATTRS();
	const char *p = path_of("fifo");
	cr_assert_eq(mkfifo(p, 0644), 0);
	struct sysq *c = sqd_connect(&d);
	char got[256], want[256];
	/* an open(2) for reading would wait for a writer forever */
	list_names(c, p, false, got, sizeof(got));
	raw_names(p, false, want, sizeof(want));
	cr_assert_str_eq(got, want);
	char code[32];
	struct sysq_reply r;
	long raw = getxattr(p, "user.sq", NULL, 0);
	cr_assert_str_eq(outcome(x_get(c, p, "user.sq", false, &r), &r, code, sizeof(code)),
	                 raw_outcome(raw, errno));
	sysq_close(c);
}

/* ---- nofollow ------------------------------------------------------------ */

Test(xattr, nofollow_acts_on_the_symlink_itself)
{
	SKIP_UNLESS_XATTRS();
	const char *f = path_of("target"), *l = path_of("link"), *dangling = path_of("dangling");
	make_file(f, 0644, (uid_t)-1);
	cr_assert_eq(symlink("target", l), 0);
	cr_assert_eq(symlink("nowhere", dangling), 0);
	cr_assert_eq(setxattr(f, "user.sq", "target", 6, 0), 0);
	struct sysq *c = sqd_connect(&d);
	char got[512], want[512], code[32];
	struct sysq_reply r;

	/* following, the target's attributes */
	expect_value(c, l, "user.sq", false, "target", 6);
	list_names(c, l, false, got, sizeof(got));
	cr_assert_str_eq(got, "user.sq");

	/* not following: the link's own.  Linux keeps user.* off symlinks:
	 * reading one is ENODATA, setting one EPERM; the daemon must say what
	 * lgetxattr/lsetxattr say */
	long raw = lgetxattr(l, "user.sq", NULL, 0);
	const char *want_get = raw_outcome(raw, errno);
	cr_assert_str_eq(want_get, "ENOATTR");
	cr_assert_str_eq(outcome(x_get(c, l, "user.sq", true, &r), &r, code, sizeof(code)),
	                 want_get);
	list_names(c, l, true, got, sizeof(got));
	raw_names(l, true, want, sizeof(want));
	cr_assert_str_eq(got, want);
	cr_assert_eq(lsetxattr(l, "user.sq.x", "v", 1, 0), -1);
	const char *want_set = raw_outcome(-1, errno);
	cr_assert_str_eq(want_set, "EPERM");
	cr_assert_str_eq(outcome(x_set(c, l, "user.sq.y", "v", 1, NULL, true, &r), &r,
	                         code, sizeof(code)), want_set);
	cr_assert_eq(getxattr(f, "user.sq.y", NULL, 0), -1, "the target was changed");

	/* a dangling link: there is nothing to follow, but the link is there */
	EXPECT_CODE(x_list(c, dangling, false, &r_), "ENOENT");
	list_names(c, dangling, true, got, sizeof(got));
	raw_names(dangling, true, want, sizeof(want));
	cr_assert_str_eq(got, want);

	if (!have_root()) {
		sysq_close(c);
		cr_skip_test("SKIPPED: the rest (trusted.* on the link itself) needs root");
	}
	/* root may put trusted.* on the link itself: set, read, list, remove
	 * there, while the target has none */
	EXPECT_OK(x_set(c, l, "trusted.sq", "link", 4, NULL, true, &r_));
	char raw_v[16];
	cr_assert_eq(lgetxattr(l, "trusted.sq", raw_v, sizeof(raw_v)), 4);
	cr_assert_eq(memcmp(raw_v, "link", 4), 0);
	cr_assert_eq(getxattr(f, "trusted.sq", NULL, 0), -1, "the target got it");
	expect_value(c, l, "trusted.sq", true, "link", 4);
	EXPECT_CODE(x_get(c, l, "trusted.sq", false, &r_), "ENOATTR");
	list_names(c, l, true, got, sizeof(got));
	raw_names(l, true, want, sizeof(want));
	cr_assert_str_eq(got, want);
	cr_assert(strstr(got, "trusted.sq"), "%s", got);
	list_names(c, l, false, got, sizeof(got));
	cr_assert_str_eq(got, "user.sq");
	EXPECT_OK(x_remove(c, l, "trusted.sq", true, &r_));
	cr_assert_eq(lgetxattr(l, "trusted.sq", NULL, 0), -1);
	sysq_close(c);
}

/* ---- the caller's identity ------------------------------------------------ */

struct seen {                  /* what the nobody child saw, for the parent */
	char get[32], set[32], rm[32], list[32];
	char raw_get[32], raw_set[32], raw_rm[32], raw_list[32];
	char own_set[32], own_get[32], trusted_get[32], raw_trusted_get[32];
	char names[512], raw_names[512];
	char err[240];
};

struct as_nobody {
	const char *rootf, *ownf, *pubf;
	struct seen *seen;
};

static int nobody_calls(void *arg)
{
	struct as_nobody *a = arg;
	struct seen *s = a->seen;
	char e[200];
	struct sysq *c = sysq_connect(d.sock, e, sizeof(e));
	if (!c) {
		snprintf(s->err, sizeof(s->err), "connect: %s", e);
		return 1;
	}
	struct sysq_reply r;
	/* root's 0600 file */
	outcome(x_get(c, a->rootf, "user.sq", false, &r), &r, s->get, sizeof(s->get));
	outcome(x_set(c, a->rootf, "user.sq", "evil", 4, NULL, false, &r), &r, s->set, sizeof(s->set));
	outcome(x_remove(c, a->rootf, "user.sq", false, &r), &r, s->rm, sizeof(s->rm));
	outcome(x_list(c, a->rootf, false, &r), &r, s->list, sizeof(s->list));
	long rc = getxattr(a->rootf, "user.sq", NULL, 0);
	snprintf(s->raw_get, sizeof(s->raw_get), "%s", raw_outcome(rc, errno));
	rc = setxattr(a->rootf, "user.sq", "evil", 4, 0);
	snprintf(s->raw_set, sizeof(s->raw_set), "%s", raw_outcome(rc, errno));
	rc = removexattr(a->rootf, "user.sq");
	snprintf(s->raw_rm, sizeof(s->raw_rm), "%s", raw_outcome(rc, errno));
	char buf[4096];
	rc = listxattr(a->rootf, buf, sizeof(buf));
	snprintf(s->raw_list, sizeof(s->raw_list), "%s", raw_outcome(rc, errno));
	/* its own file */
	outcome(x_set(c, a->ownf, "user.sq", "mine", 4, NULL, false, &r), &r, s->own_set,
	        sizeof(s->own_set));
	if (x_get(c, a->ownf, "user.sq", false, &r) == 0) {
		const msgpack_object *v = sq_map_get(r.result, "value");
		snprintf(s->own_get, sizeof(s->own_get), "%.*s", v ? (int)v->via.bin.size : 0,
		         v ? v->via.bin.ptr : "");
	}
	sysq_reply_free(&r);
	/* trusted.* on a world-readable root file: invisible without
	 * CAP_SYS_ADMIN, which the switch to the caller dropped */
	outcome(x_get(c, a->pubf, "trusted.sq", false, &r), &r, s->trusted_get,
	        sizeof(s->trusted_get));
	rc = getxattr(a->pubf, "trusted.sq", NULL, 0);
	snprintf(s->raw_trusted_get, sizeof(s->raw_trusted_get), "%s", raw_outcome(rc, errno));
	rc = x_list(c, a->pubf, false, &r);
	const msgpack_object *ns = rc == 0 ? sq_map_get(r.result, "names") : NULL;
	for (uint32_t i = 0; ns && i < ns->via.array.size; i++)
		snprintf(s->names + strlen(s->names), sizeof(s->names) - strlen(s->names), "%s%.*s",
		         i ? "|" : "", (int)ns->via.array.ptr[i].via.str.size,
		         ns->via.array.ptr[i].via.str.ptr);
	sysq_reply_free(&r);
	rc = listxattr(a->pubf, buf, sizeof(buf));
	for (long i = 0; rc > 0 && i < rc; i += (long)strlen(buf + i) + 1)
		snprintf(s->raw_names + strlen(s->raw_names),
		         sizeof(s->raw_names) - strlen(s->raw_names), "%s%s", i ? "|" : "", buf + i);
	sysq_close(c);
	return 0;
}

Test(xattr, a_non_root_caller_gets_what_the_kernel_gives_it)
{
	SKIP_UNLESS_ROOT();
	SKIP_UNLESS_XATTRS();
	const char *rootf = path_of("root-only"), *ownf = path_of("nobodys"),
	           *pubf = path_of("public");
	make_file(rootf, 0600, (uid_t)-1);
	make_file(ownf, 0600, NOBODY_UID);
	make_file(pubf, 0644, (uid_t)-1);
	cr_assert_eq(setxattr(rootf, "user.sq", "secret", 6, 0), 0);
	cr_assert_eq(setxattr(pubf, "user.sq", "public", 6, 0), 0);
	cr_assert_eq(setxattr(pubf, "trusted.sq", "root's", 6, 0), 0);

	struct seen *s = mmap(NULL, sizeof(*s), PROT_READ | PROT_WRITE,
	                      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	cr_assert(s != MAP_FAILED);
	memset(s, 0, sizeof(*s));
	struct as_nobody a = { rootf, ownf, pubf, s };
	cr_assert_eq(run_as(NOBODY_UID, NOBODY_GID, nobody_calls, &a), 0, "%s", s->err);

	/* refused on root's 0600 file, with the kernel's own answer */
	cr_assert_str_eq(s->raw_get, "EACCES");
	cr_assert_str_eq(s->get, "EACCES");
	cr_assert_str_eq(s->raw_set, "EACCES");
	cr_assert_str_eq(s->set, "EACCES");
	cr_assert_str_eq(s->rm, s->raw_rm);
	cr_assert_str_neq(s->rm, "OK");
	cr_assert_str_eq(s->list, s->raw_list); /* listing needs no permission on Linux */
	char v[16];
	cr_assert_eq(getxattr(rootf, "user.sq", v, sizeof(v)), 6, "root's attribute is gone");
	cr_assert_eq(memcmp(v, "secret", 6), 0, "root's attribute was changed");

	/* allowed on its own file, and the kernel has it */
	cr_assert_str_eq(s->own_set, "OK");
	cr_assert_str_eq(s->own_get, "mine");
	cr_assert_eq(getxattr(ownf, "user.sq", v, sizeof(v)), 4);
	cr_assert_eq(memcmp(v, "mine", 4), 0);

	/* trusted.* stays root's */
	cr_assert_str_eq(s->raw_trusted_get, "ENOATTR");
	cr_assert_str_eq(s->trusted_get, "ENOATTR");
	cr_assert_str_eq(s->names, s->raw_names);
	cr_assert(strstr(s->names, "user.sq") && !strstr(s->names, "trusted"), "%s", s->names);
	/* while root sees it through the daemon */
	struct sysq *c = sqd_connect(&d);
	expect_value(c, pubf, "trusted.sq", false, "root's", 6);
	sysq_close(c);
	munmap(s, sizeof(*s));
}

/* ---- the identity a worker keeps between requests ------------------------- */

/* A connected socket whose peer the kernel says is uid/gid (groups: gid
 * only): a child running as them connects and passes it back. */
static int connect_as(uid_t uid, gid_t gid)
{
	int sv[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		close(sv[0]);
		if (setgroups(1, &gid) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
			_exit(120);
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", d.sock);
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			_exit(121);
		char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
		char one = 'x';
		struct iovec iov = { &one, 1 };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
		                     .msg_controllen = sizeof(cbuf) };
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
		_exit(sendmsg(sv[1], &mh, 0) == 1 ? 0 : 122);
	}
	close(sv[1]);
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	char one;
	struct iovec iov = { &one, 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
	                     .msg_controllen = sizeof(cbuf) };
	ssize_t n = recvmsg(sv[0], &mh, MSG_CMSG_CLOEXEC);
	int st;
	waitpid(pid, &st, 0);
	close(sv[0]);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "connecting as uid %u failed (%d)",
	          (unsigned)uid, st);
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	cr_assert(n == 1 && cm && cm->cmsg_type == SCM_RIGHTS, "no descriptor passed");
	int fd;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

/* What each caller must get for one request: a value, or an error code. */
struct expect {
	const char *json;
	const char *root_value, *nobody_value;   /* NULL: the code below */
	const char *nobody_code;
};

/* Check the reply to msgid on r: requests were numbered i * nreq + k. */
static void check_reply(struct raw *r, const struct expect *ex, size_t nex, bool root,
                        uint32_t *seen, size_t total)
{
	struct raw_msg m;
	int rc = raw_next(r, &m, RAW_TIMEOUT_MS);
	cr_assert_eq(rc, RAW_MSG, "%s connection: no reply (%d)", root ? "root's" : "nobody's",
	             rc);
	cr_assert_eq(m.type, SQ_MSG_RESPONSE);
	cr_assert_lt(m.msgid, total);
	cr_assert_eq(seen[m.msgid], 0, "msgid %u answered twice", m.msgid);
	seen[m.msgid] = 1;
	const struct expect *e = &ex[m.msgid % nex];
	const char *want = root ? e->root_value : e->nobody_value;
	if (want) {
		cr_assert(!m.is_error, "%s, msgid %u (%s): %s %s, want the value",
		          root ? "root" : "nobody", m.msgid, e->json, m.code, m.message);
		const msgpack_object *v = sq_map_get(&m.result, "value");
		cr_assert(v && v->type == MSGPACK_OBJECT_BIN);
		cr_assert(v->via.bin.size == strlen(want) &&
		          memcmp(v->via.bin.ptr, want, strlen(want)) == 0,
		          "%s, msgid %u (%s): a wrong value", root ? "root" : "nobody", m.msgid,
		          e->json);
	} else {
		cr_assert(m.is_error, "nobody, msgid %u (%s): got the value of a file it may "
		          "not read: a kept identity leaked", m.msgid, e->json);
		cr_assert_str_eq(m.code, e->nobody_code, "nobody, msgid %u (%s): %s", m.msgid,
		                 e->json, m.message);
	}
	raw_msg_free(&m);
}

/*
 * Root and nobody, each on its own connection, interleave many pipelined
 * xattr.get requests on root's 0600 file, a trusted.* attribute and a file
 * both may read.  The pool's threads keep the last caller's identity; a
 * thread still root when nobody's request comes would give nobody root's
 * secrets, one still nobody would refuse root.  Both must see exactly what
 * the kernel gives each of them, every time.
 */
Test(xattr, a_kept_identity_never_serves_another_caller)
{
	SKIP_UNLESS_ROOT();
	SKIP_UNLESS_XATTRS();
	const char *rootf = path_of("k-root-only"), *pubf = path_of("k-public");
	make_file(rootf, 0600, (uid_t)-1);
	make_file(pubf, 0644, (uid_t)-1);
	cr_assert_eq(setxattr(rootf, "user.sq", "secret", 6, 0), 0);
	cr_assert_eq(setxattr(pubf, "user.sq", "public", 6, 0), 0);
	cr_assert_eq(setxattr(pubf, "trusted.sq", "root's", 6, 0), 0);
	/* the raw calls as nobody, for the codes the kernel gives it */
	char j_root[256], j_trusted[256], j_pub[256];
	snprintf(j_root, sizeof(j_root), "{\"path\": \"%s\", \"name\": \"user.sq\"}", rootf);
	snprintf(j_trusted, sizeof(j_trusted), "{\"path\": \"%s\", \"name\": \"trusted.sq\"}",
	         pubf);
	snprintf(j_pub, sizeof(j_pub), "{\"path\": \"%s\", \"name\": \"user.sq\"}", pubf);
	const struct expect ex[] = {
		{ j_root, "secret", NULL, "EACCES" },
		{ j_pub, "public", "public", NULL },
		{ j_trusted, "root's", NULL, "ENOATTR" },
		{ j_root, "secret", NULL, "EACCES" },
		{ j_trusted, "root's", NULL, "ENOATTR" },
	};
	const size_t nex = sizeof(ex) / sizeof(ex[0]);

	struct raw rr, rn;
	raw_open(&rr, &d);
	rn.fd = connect_as(NOBODY_UID, NOBODY_GID);
	sq_buf_init(&rn.in);

	/* rounds of up to 48 requests in flight on each connection, sent in
	 * small alternating slices so that the two callers' requests mix in
	 * the pool's queue */
	enum { ROUNDS = 60, PER = 48 };
	const size_t total = (size_t)ROUNDS * PER;
	uint32_t *seen_r = calloc(total, sizeof(uint32_t)), *seen_n = calloc(total, sizeof(uint32_t));
	cr_assert(seen_r && seen_n);
	uint64_t rnd = 0x5eed;
	for (size_t round = 0; round < ROUNDS; round++) {
		size_t sent_r = 0, sent_n = 0;
		while (sent_r < PER || sent_n < PER) {
			for (int side = 0; side < 2; side++) {
				size_t *sent = side ? &sent_n : &sent_r;
				size_t k = 1 + rnd_next(&rnd) % 4;
				struct sq_buf b;
				sq_buf_init(&b);
				for (; k && *sent < PER; k--, (*sent)++) {
					uint32_t id = (uint32_t)(round * PER + *sent);
					frame_request(&b, id, "xattr.get", ex[id % nex].json);
				}
				cr_assert(raw_send(side ? &rn : &rr, b.data, b.len), "sysqd hung up");
				sq_buf_free(&b);
			}
		}
		for (size_t i = 0; i < PER; i++) {
			check_reply(&rr, ex, nex, true, seen_r, total);
			check_reply(&rn, ex, nex, false, seen_n, total);
		}
	}
	for (size_t i = 0; i < total; i++)
		cr_assert(seen_r[i] && seen_n[i], "msgid %zu not answered", i);
	free(seen_r);
	free(seen_n);
	raw_close(&rr);
	raw_close(&rn);
}

/* Thread ids of pid, at most max. */
static int thread_ids(pid_t pid, pid_t *tids, int max)
{
	char p[64];
	snprintf(p, sizeof(p), "/proc/%d/task", (int)pid);
	DIR *tasks = opendir(p);
	cr_assert(tasks, "%s: %s", p, strerror(errno));
	int n = 0;
	struct dirent *e;
	while ((e = readdir(tasks)) && n < max)
		if (e->d_name[0] != '.')
			tids[n++] = (pid_t)atoi(e->d_name);
	closedir(tasks);
	return n;
}

/* sysqd's threads whose real or saved uid is not 0, listed in which. */
static int threads_with_a_callers_real_uid(pid_t pid, char *which, size_t size)
{
	pid_t tids[64];
	int nt = thread_ids(pid, tids, 64), n = 0;
	which[0] = '\0';
	for (int i = 0; i < nt; i++) {
		char sp[96];
		snprintf(sp, sizeof(sp), "/proc/%d/task/%d/status", (int)pid, (int)tids[i]);
		char *st = slurp(sp);
		const char *u = strstr(st, "\nUid:");
		unsigned r = 0, e = 0, sv = 0, f = 0;
		if (u && sscanf(u, "\nUid: %u %u %u %u", &r, &e, &sv, &f) == 4 && (r | sv)) {
			n++;
			snprintf(which + strlen(which), size - strlen(which), " thread %d: %u %u %u %u",
			         (int)tids[i], r, e, sv, f);
		}
		free(st);
	}
	return n;
}

/* n pipelined xattr.get of json on r, every reply read and a success. */
static void get_burst(struct raw *r, const char *json, uint32_t n)
{
	struct sq_buf b;
	sq_buf_init(&b);
	for (uint32_t id = 0; id < n; id++)
		frame_request(&b, id, "xattr.get", json);
	cr_assert(raw_send(r, b.data, b.len));
	sq_buf_free(&b);
	for (uint32_t i = 0; i < n; i++) {
		struct raw_msg m;
		cr_assert_eq(raw_next(r, &m, RAW_TIMEOUT_MS), RAW_MSG);
		cr_assert(!m.is_error, "%s %s", m.code, m.message);
		raw_msg_free(&m);
	}
}

/*
 * kill(2) lets a user signal any thread whose real or saved uid is its own,
 * and SIGKILL or SIGSTOP to one thread acts on the whole daemon.  A thread
 * acting for a caller (and keeping that identity between requests) must
 * therefore never have the caller's real uid: uid 65534 probes every sysqd
 * thread with tgkill(..., 0) (the permission check alone) over and over
 * while its own requests run and while the threads sit idle as 65534.
 */
Test(xattr, a_caller_can_never_signal_sysqd)
{
	SKIP_UNLESS_ROOT();
	SKIP_UNLESS_XATTRS();
	const char *pubf = path_of("sig-public");
	make_file(pubf, 0644, (uid_t)-1);
	cr_assert_eq(setxattr(pubf, "user.sq", "public", 6, 0), 0);
	char j[256];
	snprintf(j, sizeof(j), "{\"path\": \"%s\", \"name\": \"user.sq\"}", pubf);
	struct raw rn;
	rn.fd = connect_as(NOBODY_UID, NOBODY_GID);
	sq_buf_init(&rn.in);
	get_burst(&rn, j, 64); /* the pool's threads exist now, and act as 65534 */

	pid_t tids[64];
	int nt = thread_ids(d.pid, tids, 64);
	int stop[2];
	cr_assert_eq(pipe(stop), 0);
	pid_t prober = fork();
	cr_assert_geq(prober, 0);
	if (prober == 0) {
		close(stop[1]);
		if (setgroups(0, NULL) < 0 || setgid(NOBODY_GID) < 0 || setuid(NOBODY_UID) < 0)
			_exit(255);
		int hits = 0;
		for (;;) {
			for (int i = 0; i < nt; i++)
				hits += syscall(SYS_tgkill, (long)d.pid, (long)tids[i], 0L) == 0;
			struct pollfd pf = { stop[0], POLLIN, 0 };
			if (poll(&pf, 1, 0) > 0)
				break; /* the parent closed its end */
		}
		_exit(hits > 254 ? 254 : hits);
	}
	close(stop[0]);
	char which[1024];
	for (int round = 0; round < 20; round++) {
		get_burst(&rn, j, 64);
		cr_assert_eq(threads_with_a_callers_real_uid(d.pid, which, sizeof(which)), 0,
		             "sysqd threads with a caller's real uid:%s", which);
	}
	usleep(50 * 1000); /* and idle, the identities kept */
	close(stop[1]);
	int st;
	cr_assert_eq(waitpid(prober, &st, 0), prober);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) != 255, "the prober could not become 65534");
	cr_assert_eq(WEXITSTATUS(st), 0, "uid 65534 could signal a thread of sysqd (%d times)",
	             WEXITSTATUS(st));
	raw_close(&rn);
}

/* ---- sysq xattr ------------------------------------------------------------ */

/* Run `sysq -s SOCK xattr ARGS` (ARGS already shell-quoted), capture both
 * outputs; returns the exit status. */
static int cli(char *out, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int cli(char *out, size_t size, const char *fmt, ...)
{
	char args[1024], cmd[1400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	const char *bin = getenv("SQ_SYSQ");
	cr_assert(bin, "SQ_SYSQ must name the sysq binary");
	snprintf(cmd, sizeof(cmd), "cd '%s' && '%s' -s '%s' xattr %s 2>&1", dir, bin, d.sock, args);
	FILE *p = popen(cmd, "r");
	cr_assert(p);
	size_t n = fread(out, 1, size - 1, p);
	out[n] = '\0';
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

Test(xattr, the_sysq_xattr_command)
{
	SKIP_UNLESS_XATTRS();
	make_file(path_of("c"), 0644, (uid_t)-1);
	cr_assert_eq(symlink("c", path_of("cl")), 0);
	char out[4096];
	/* relative paths are made absolute by the client */
	cr_assert_eq(cli(out, sizeof(out), "-w user.sq.t 'hello world' c"), 0, "%s", out);
	cr_assert_eq(cli(out, sizeof(out), "-wx user.sq.b '00 ff 1b5b 5c 0a' c"), 0, "%s", out);
	char raw[16];
	cr_assert_eq(getxattr(path_of("c"), "user.sq.b", raw, sizeof(raw)), 6);
	cr_assert_eq(memcmp(raw, "\0\xff\x1b[\\\n", 6), 0);

	cr_assert_eq(cli(out, sizeof(out), "-p user.sq.t c"), 0);
	cr_assert_str_eq(out, "hello world\n");
	cr_assert_eq(cli(out, sizeof(out), "-p user.sq.b c"), 0);
	cr_assert_str_eq(out, "\\x00\\xff\\x1b[\\\\\\n\n"); /* nothing raw reaches the tty */
	cr_assert_eq(cli(out, sizeof(out), "-px user.sq.b c"), 0);
	cr_assert_str_eq(out, "00 FF 1B 5B 5C 0A\n");
	cr_assert_eq(cli(out, sizeof(out), "c"), 0);
	cr_assert(strcmp(out, "user.sq.t\nuser.sq.b\n") == 0 ||
	          strcmp(out, "user.sq.b\nuser.sq.t\n") == 0, "%s", out);
	cr_assert_eq(cli(out, sizeof(out), "-l c"), 0);
	cr_assert(strstr(out, "user.sq.t: hello world\n") &&
	          strstr(out, "user.sq.b: \\x00\\xff\\x1b[\\\\\\n\n"), "%s", out);
	cr_assert_eq(cli(out, sizeof(out), "-p user.sq.t c cl"), 0);
	cr_assert(strstr(out, "c: hello world\ncl: hello world\n"), "%s", out);
	/* -s: the link itself, which has no user.* attribute */
	cr_assert_eq(cli(out, sizeof(out), "-s -p user.sq.t cl"), 1);
	cr_assert(strstr(out, "ENOATTR"), "%s", out);
	cr_assert_eq(cli(out, sizeof(out), "-d user.sq.t c"), 0, "%s", out);
	cr_assert_eq(cli(out, sizeof(out), "-d user.sq.t c"), 1);
	cr_assert(strstr(out, "ENOATTR"), "%s", out);
	cr_assert_eq(cli(out, sizeof(out), "--json -p user.sq.b c"), 0);
	cr_assert(strstr(out, "\"value\": \"AP8bW1wK\", \"encoding\": \"base64\""), "%s", out);
	/* usage errors */
	cr_assert_eq(cli(out, sizeof(out), "-p user.sq.t"), 2);
	cr_assert_eq(cli(out, sizeof(out), "-wx user.sq.t 0g c"), 2);
	cr_assert_eq(cli(out, sizeof(out), "-p -d user.sq.t c"), 2);
}
