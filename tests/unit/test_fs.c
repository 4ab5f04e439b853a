/* SPDX-License-Identifier: ISC */
/*
 * test_fs.c - lib/ file system layer in isolation: the mountinfo parser
 * (octal escapes, optional fields, option merging, malformed lines, hidden
 * mounts), the pseudo list, finding a file's mount, and the live table and
 * statfs, including change detection in a private mount namespace (root).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "sq_fs.h"

static struct sq_mount_table *parse(const char *text)
{
	struct sq_mount_table *t = NULL;
	cr_assert_eq(sq_fs_mountinfo_parse(text, strlen(text), &t), 0);
	cr_assert(t);
	return t;
}

static bool has_opt(const struct sq_mount *m, const char *w)
{
	for (size_t i = 0; i < m->noptions; i++)
		if (strcmp(m->options[i], w) == 0)
			return true;
	return false;
}

Test(mountinfo, plain_line)
{
	struct sq_mount_table *t = parse(
		"27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard,resuid=65534\n");
	cr_assert_eq(t->n, 1);
	const struct sq_mount *m = &t->m[0];
	cr_assert_eq(m->mount_id, 27);
	cr_assert_eq(m->parent_id, 1);
	cr_assert_eq(m->dev_major, 254);
	cr_assert_eq(m->dev_minor, 0);
	cr_assert_str_eq(m->mountpoint, "/");
	cr_assert_eq(m->mountpoint_len, 1);
	cr_assert_str_eq(m->fstype, "ext4");
	cr_assert_str_eq(m->source, "/dev/vda");
	cr_assert_eq(m->source_len, 8);
	cr_assert_eq(m->noptions, 4, "got %zu options", m->noptions);
	cr_assert_str_eq(m->options[0], "rw");
	cr_assert_str_eq(m->options[1], "relatime");
	cr_assert_str_eq(m->options[2], "discard");
	cr_assert_str_eq(m->options[3], "resuid=65534");
	cr_assert(!m->readonly);
	cr_assert(!m->pseudo);
	cr_assert(!m->hidden);
	sq_fs_mounts_release(t);
}

Test(mountinfo, octal_escapes_in_every_field)
{
	/* space, tab, newline, backslash; and a comma inside an option value */
	struct sq_mount_table *t = parse(
		"40 27 0:50 / /mnt/a\\040b\\011c\\012d\\134e rw - tmpfs my\\040src "
		"rw,size=16m,x=a\\054b\n");
	cr_assert_eq(t->n, 1);
	const struct sq_mount *m = &t->m[0];
	static const char want[] = "/mnt/a b\tc\nd\\e";
	cr_assert_eq(m->mountpoint_len, sizeof(want) - 1);
	cr_assert_eq(memcmp(m->mountpoint, want, sizeof(want)), 0, "got '%s'", m->mountpoint);
	cr_assert_str_eq(m->source, "my src");
	cr_assert(has_opt(m, "size=16m"));
	cr_assert(has_opt(m, "x=a,b"), "an escaped comma stays inside its word");
	sq_fs_mounts_release(t);
}

Test(mountinfo, bytes_that_are_not_utf8_survive)
{
	struct sq_mount_table *t = parse("41 27 0:51 / /mnt/\\377\\376 rw - tmpfs x rw\n");
	cr_assert_eq(t->n, 1);
	cr_assert_eq(t->m[0].mountpoint_len, 7);
	cr_assert_eq((unsigned char)t->m[0].mountpoint[5], 0xff);
	cr_assert_eq((unsigned char)t->m[0].mountpoint[6], 0xfe);
	sq_fs_mounts_release(t);
}

Test(mountinfo, backslash_without_three_octal_digits_is_kept)
{
	struct sq_mount_table *t = parse(
		"42 27 0:52 / /a\\b\\08\\1 rw - tmpfs \\ rw\n");
	cr_assert_eq(t->n, 1);
	cr_assert_str_eq(t->m[0].mountpoint, "/a\\b\\08\\1");
	cr_assert_str_eq(t->m[0].source, "\\");
	sq_fs_mounts_release(t);
}

Test(mountinfo, optional_fields_any_number)
{
	struct sq_mount_table *t = parse(
		"50 27 0:60 / /none rw - tmpfs a rw\n"
		"51 27 0:61 / /one rw shared:1 - tmpfs b rw\n"
		"52 27 0:62 / /three rw shared:1 master:2 propagate_from:3 - nfs4 srv:/x rw,vers=4.2\n");
	cr_assert_eq(t->n, 3);
	cr_assert_str_eq(t->m[0].mountpoint, "/none");
	cr_assert_str_eq(t->m[1].source, "b");
	cr_assert_str_eq(t->m[2].fstype, "nfs4");
	cr_assert_str_eq(t->m[2].source, "srv:/x");
	cr_assert(has_opt(&t->m[2], "vers=4.2"));
	sq_fs_mounts_release(t);
}

Test(mountinfo, readonly_from_mount_or_super_block_and_one_rw_word)
{
	struct sq_mount_table *t = parse(
		"60 27 0:70 / /m ro,nosuid - ext4 /dev/a rw,errors=remount-ro\n"
		"61 27 0:71 / /s rw,nodev - ext4 /dev/b ro\n"
		"62 27 0:72 / /w rw,noatime - ext4 /dev/c rw,noatime\n");
	cr_assert_eq(t->n, 3);
	cr_assert(t->m[0].readonly);
	cr_assert_str_eq(t->m[0].options[0], "ro");
	cr_assert(!has_opt(&t->m[0], "rw"), "one of rw/ro, not both");
	cr_assert(has_opt(&t->m[0], "errors=remount-ro"));
	cr_assert(t->m[1].readonly);
	cr_assert_str_eq(t->m[1].options[0], "ro");
	cr_assert(!has_opt(&t->m[1], "rw"));
	cr_assert(!t->m[2].readonly);
	cr_assert_eq(t->m[2].noptions, 2, "duplicate noatime kept once");
	sq_fs_mounts_release(t);
}

Test(mountinfo, malformed_lines_are_skipped)
{
	struct sq_mount_table *t = parse(
		"garbage\n"
		"70 27 0:80 / /nodash rw tmpfs x rw\n"
		"x 27 0:81 / /badid rw - tmpfs x rw\n"
		"71 27 0-82 / /baddev rw - tmpfs x rw\n"
		"72 27 0:83 / /short rw -\n"
		"\n"
		"73 27 0:84 / /good rw - tmpfs x rw");  /* no final newline */
	cr_assert_eq(t->n, 1);
	cr_assert_str_eq(t->m[0].mountpoint, "/good");
	sq_fs_mounts_release(t);
}

Test(mountinfo, empty_text_is_an_empty_table)
{
	struct sq_mount_table *t = parse("");
	cr_assert_eq(t->n, 0);
	sq_fs_mounts_release(t);
}

Test(mountinfo, pseudo_types)
{
	struct sq_mount_table *t = parse(
		"80 27 0:5 / /proc rw - proc proc rw\n"
		"81 27 0:6 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"
		"82 27 0:7 / /run rw - tmpfs tmpfs rw\n");
	cr_assert(t->m[0].pseudo);
	cr_assert(t->m[1].pseudo);
	cr_assert(!t->m[2].pseudo);
	cr_assert(sq_fs_pseudo_type("devpts"));
	cr_assert(sq_fs_pseudo_type("fusectl"));
	cr_assert(!sq_fs_pseudo_type("fuse"));
	cr_assert(!sq_fs_pseudo_type("ext4"));
	sq_fs_mounts_release(t);
}

Test(mountinfo, covered_mounts_and_what_is_below_them_are_hidden)
{
	struct sq_mount_table *t = parse(
		"1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"
		"10 1 0:20 / /a rw - tmpfs old rw\n"      /* covered by 12 */
		"11 10 0:21 / /a/b rw - tmpfs under rw\n" /* below the covered one */
		"12 10 0:22 / /a rw - tmpfs new rw\n"     /* on top */
		"13 12 0:23 / /a/c rw - tmpfs top rw\n"); /* below the cover: visible */
	cr_assert_eq(t->n, 5);
	cr_assert(!t->m[0].hidden);
	cr_assert(t->m[1].hidden, "/a (old) is under /a (new)");
	cr_assert(t->m[2].hidden, "/a/b sits on the covered /a");
	cr_assert(!t->m[3].hidden);
	cr_assert(!t->m[4].hidden);
	sq_fs_mounts_release(t);
}

Test(mountinfo, finding_a_mount_by_id_or_device)
{
	struct sq_mount_table *t = parse(
		"1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"
		"20 1 0:30 / /x rw - tmpfs a rw\n"
		"21 1 0:30 / /y rw - tmpfs a rw\n");  /* a bind mount: same device */
	struct sq_fs_where w = { .mount_id = 20 };
	cr_assert_eq(sq_fs_mount_of(t, &w), &t->m[1]);
	w.mount_id = 99;
	cr_assert_null(sq_fs_mount_of(t, &w));
	w.mount_id = -1;
	w.dev_major = 0;
	w.dev_minor = 30;
	cr_assert_eq(sq_fs_mount_of(t, &w), &t->m[2], "without an id: the last on that device");
	memset(&w, 0, sizeof(w));
	w.mount_id = -1;
	strcpy(w.mountpoint, "/x");
	cr_assert_eq(sq_fs_mount_of(t, &w), &t->m[1]);
	sq_fs_mounts_release(t);
}

/* ---- the live system ---------------------------------------------------- */

static const struct sq_mount *find(const struct sq_mount_table *t, const char *mp)
{
	const struct sq_mount *hit = NULL;
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->m[i].mountpoint, mp) == 0 && !t->m[i].hidden)
			hit = &t->m[i];
	return hit;
}

Test(live, the_table_has_the_root_and_statfs_agrees)
{
	struct sq_mount_table *t = NULL;
	cr_assert_eq(sq_fs_mounts(&t), 0);
	const struct sq_mount *root = find(t, "/");
	cr_assert(root, "no / in the mount table");

	struct sq_fs_usage u;
	cr_assert_eq(sq_fs_statfs("/", &u), 0);
	struct statfs s;
	cr_assert_eq(statfs("/", &s), 0);
	uint64_t bs = s.f_frsize ? (uint64_t)s.f_frsize : (uint64_t)s.f_bsize;
	cr_assert_eq(u.block_size, bs);
	cr_assert_eq(u.total_bytes, (uint64_t)s.f_blocks * bs);
	cr_assert_eq(u.files, (uint64_t)s.f_files);
	cr_assert_geq(u.free_bytes, u.avail_bytes);

	struct sq_fs_where w;
	struct sq_fs_usage u2;
	cr_assert_eq(sq_fs_path_stat("/", &u2, &w), 0);
	cr_assert_eq(u2.total_bytes, u.total_bytes);
	cr_assert_eq(sq_fs_mount_of(t, &w), root, "path / maps to the / mount");
	struct stat st;
	cr_assert_eq(stat("/", &st), 0);
	cr_assert_eq(w.dev_major, major(st.st_dev));
	cr_assert_eq(w.dev_minor, minor(st.st_dev));
	sq_fs_mounts_release(t);
}

Test(live, errors_are_negative_errnos)
{
	struct sq_fs_usage u;
	struct sq_fs_where w;
	cr_assert_eq(sq_fs_statfs("/nonexistent/sysq/path", &u), -ENOENT);
	cr_assert_eq(sq_fs_path_stat("/nonexistent/sysq/path", &u, &w), -ENOENT);
	cr_assert_eq(sq_fs_path_stat("/etc/hostname/x", &u, &w), -ENOTDIR);
}

Test(live, an_unchanged_table_is_shared)
{
	struct sq_mount_table *a = NULL, *b = NULL;
	cr_assert_eq(sq_fs_mounts(&a), 0);
	cr_assert_eq(sq_fs_mounts(&b), 0);
	cr_assert_eq(a, b, "no mount changed: the same snapshot");
	sq_fs_mounts_release(a);
	sq_fs_mounts_release(b);
}

static char ns_dir[64], ns_mp[80];

static void ns_cleanup(void)
{
	if (ns_mp[0]) {
		umount2(ns_mp, MNT_DETACH);
		rmdir(ns_mp);
	}
	if (ns_dir[0])
		rmdir(ns_dir);
}

Test(live, a_new_mount_is_seen_at_once, .fini = ns_cleanup)
{
	if (geteuid() != 0)
		cr_skip_test("SKIPPED: needs root (a private mount namespace and a tmpfs)");
	if (unshare(CLONE_NEWNS) < 0)
		cr_skip_test("SKIPPED: unshare(CLONE_NEWNS): %s", strerror(errno));
	cr_assert_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0, "%s", strerror(errno));
	/* our own /tmp: nothing left behind even if this process is killed */
	cr_assert_eq(mount("sysq-unit-tmp", "/tmp", "tmpfs", 0, "size=1m"), 0, "%s",
	             strerror(errno));

	struct sq_mount_table *before = NULL;
	cr_assert_eq(sq_fs_mounts(&before), 0);
	snprintf(ns_dir, sizeof(ns_dir), "/tmp/sysq-unit-fs.XXXXXX");
	cr_assert(mkdtemp(ns_dir));
	const char *mp = ns_mp;
	snprintf(ns_mp, sizeof(ns_mp), "%s/a b", ns_dir);
	cr_assert_eq(mkdir(mp, 0755), 0);
	int rc = mount("sysq-unit", mp, "tmpfs", 0, "size=16m");
	cr_assert_eq(rc, 0, "mount tmpfs: %s", strerror(errno));

	struct sq_mount_table *after = NULL;
	cr_assert_eq(sq_fs_mounts(&after), 0);
	cr_assert_neq(before, after, "the change was noticed");
	const struct sq_mount *m = find(after, mp);
	cr_assert(m, "the new mount is in the table");
	cr_assert_str_eq(m->fstype, "tmpfs");
	cr_assert_str_eq(m->source, "sysq-unit");
	cr_assert(has_opt(m, "size=16384k"));
	struct sq_fs_usage u;
	cr_assert_eq(sq_fs_statfs(mp, &u), 0);
	cr_assert_eq(u.total_bytes, 16u << 20);

	cr_assert_eq(umount2(mp, MNT_DETACH), 0);
	struct sq_mount_table *gone = NULL;
	cr_assert_eq(sq_fs_mounts(&gone), 0);
	cr_assert_null(find(gone, mp));
	sq_fs_mounts_release(before);
	sq_fs_mounts_release(after);
	sq_fs_mounts_release(gone);
}
