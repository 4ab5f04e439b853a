/* SPDX-License-Identifier: ISC */
/*
 * test_pseudofile.c - file.read of files whose st_size is not their length
 * (procfs reports 0, sysfs 4096): the response says "size": nil, the
 * file.data chunks carry exactly what read(2) gave, file.end the exact
 * count; byte for byte what reading the file directly gives.  A regular
 * file still announces its size.  `sysq get` writes what cat would.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "sq_proto.h"

static struct sqd d;

static void up(void)
{
	sqd_start(&d, NULL);
}

static void down(void)
{
	kid_reap_all();
	sqd_stop_clean(&d);
}

TestSuite(pseudofile, .init = up, .fini = down, .timeout = 60);

struct got {
	bool is_error;
	char code[32], message[512];
	bool size_nil;
	uint64_t size;
	struct sq_buf data;
	uint64_t end_bytes;
	bool end_error;
	char end_code[32];
};

/* file.read path on c to its end (the response, file.data..., file.end).
 * No assertion: a child of run_as calls it too.  0, or -1 with why in
 * g->message. */
static int fetch(struct sysq *c, const char *path, struct got *g)
{
	memset(g, 0, sizeof(*g));
	sq_buf_init(&g->data);
	uint32_t id;
	msgpack_packer *pk = sysq_begin(c, "file.read", &id);
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 1);
	sq_pack_kv_str(pk, "path", path);
	if (sysq_flush(c) < 0)
		return snprintf(g->message, sizeof(g->message), "cannot send"), -1;
	for (;;) {
		struct sysq_reply m;
		if (sysq_read(c, &m) < 0)
			return snprintf(g->message, sizeof(g->message), "connection lost"), -1;
		int bad = 0;
		if (m.type == SQ_MSG_RESPONSE && m.msgid == id) {
			if (m.is_error) {
				g->is_error = true;
				snprintf(g->code, sizeof(g->code), "%s", m.code);
				snprintf(g->message, sizeof(g->message), "%s", m.message);
				sysq_reply_free(&m);
				return 0;
			}
			const msgpack_object *sz = sq_map_get(m.result, "size");
			g->size_nil = sz && sz->type == MSGPACK_OBJECT_NIL;
			if (sz && sz->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
				g->size = sz->via.u64;
			else if (!g->size_nil)
				bad = snprintf(g->message, sizeof(g->message), "no size in the response");
		} else if (m.type == SQ_MSG_NOTIFY && m.result->type == MSGPACK_OBJECT_ARRAY &&
		           m.result->via.array.size == 1) {
			const msgpack_object *p = &m.result->via.array.ptr[0];
			const msgpack_object *mid = sq_map_get(p, "msgid");
			if (mid && mid->via.u64 == id && strcmp(m.method, "file.data") == 0) {
				const msgpack_object *b = sq_map_get(p, "data");
				if (!b || b->type != MSGPACK_OBJECT_BIN || b->via.bin.size == 0)
					bad = snprintf(g->message, sizeof(g->message),
					               "a file.data without bytes");
				else
					sq_buf_append(&g->data, b->via.bin.ptr, b->via.bin.size);
			} else if (mid && mid->via.u64 == id && strcmp(m.method, "file.end") == 0) {
				g->end_bytes = sq_map_get(p, "bytes")->via.u64;
				const msgpack_object *e = sq_map_get(p, "error");
				g->end_error = e && e->type != MSGPACK_OBJECT_NIL;
				if (g->end_error)
					snprintf(g->end_code, sizeof(g->end_code), "%.*s",
					         (int)sq_map_get(e, "code")->via.str.size,
					         sq_map_get(e, "code")->via.str.ptr);
				sysq_reply_free(&m);
				return 0;
			}
		}
		sysq_reply_free(&m);
		if (bad)
			return -1;
	}
}

/* The file's bytes as read(2) gives them: 0, or -1. */
static int read_direct(const char *path, struct sq_buf *b)
{
	sq_buf_init(b);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	char buf[4096];
	ssize_t k;
	while ((k = read(fd, buf, sizeof(buf))) > 0)
		sq_buf_append(b, buf, (size_t)k);
	close(fd);
	return k == 0 ? 0 : -1;
}

/* Lines that change from one read to the next (a CPU's clock) dropped. */
static void drop_lines(struct sq_buf *b, const char *prefix)
{
	size_t w = 0;
	for (size_t r = 0; r < b->len;) {
		const char *nl = memchr(b->data + r, '\n', b->len - r);
		size_t n = nl ? (size_t)(nl - (b->data + r)) + 1 : b->len - r;
		if (strncmp(b->data + r, prefix, strlen(prefix)) != 0) {
			memmove(b->data + w, b->data + r, n);
			w += n;
		}
		r += n;
	}
	b->len = w;
}

/* file.read of a pseudo file: size nil, exact bytes, exact count.  NULL,
 * or what is wrong (no assertion: a child of run_as calls it too). */
static const char *streamed_wrong(struct sysq *c, const char *path, const char *unstable)
{
	static char why[700];
	struct got g;
	struct sq_buf want;
	sq_buf_init(&want);
	if (fetch(c, path, &g) < 0)
		snprintf(why, sizeof(why), "%s: %s", path, g.message);
	else if (read_direct(path, &want) < 0)
		snprintf(why, sizeof(why), "%s: cannot read it directly", path);
	else if (g.is_error)
		snprintf(why, sizeof(why), "%s: %s %s", path, g.code, g.message);
	else if (!g.size_nil)
		snprintf(why, sizeof(why), "%s: size announced as %llu, but the kernel does not "
		         "tell it", path, (unsigned long long)g.size);
	else if (g.end_error)
		snprintf(why, sizeof(why), "%s: file.end error %s", path, g.end_code);
	else if (g.end_bytes != g.data.len)
		snprintf(why, sizeof(why), "%s: file.end says %llu bytes, %zu came", path,
		         (unsigned long long)g.end_bytes, g.data.len);
	else if (want.len == 0)
		snprintf(why, sizeof(why), "%s: no content to compare", path);
	else {
		if (unstable) {
			drop_lines(&g.data, unstable);
			drop_lines(&want, unstable);
		}
		if (g.data.len != want.len || memcmp(g.data.data, want.data, want.len) != 0)
			snprintf(why, sizeof(why), "%s: %zu bytes differ from read(2)'s %zu", path,
			         g.data.len, want.len);
		else
			why[0] = '\0';
	}
	sq_buf_free(&g.data);
	sq_buf_free(&want);
	return why[0] ? why : NULL;
}

static void expect_streamed(struct sysq *c, const char *path, const char *unstable)
{
	const char *why = streamed_wrong(c, path, unstable);
	cr_assert(!why, "%s", why);
}

Test(pseudofile, procfs_files_stream_to_their_real_end)
{
	struct sysq *c = sqd_connect(&d);
	expect_streamed(c, "/proc/version", NULL);
	expect_streamed(c, "/proc/sys/kernel/hostname", NULL);
	expect_streamed(c, "/proc/cpuinfo", "cpu MHz");
	sysq_close(c);
}

Test(pseudofile, a_sysfs_attribute_is_exact_not_padded_to_4096)
{
	if (access("/sys/class/net/lo/mtu", R_OK) < 0)
		cr_skip_test("SKIPPED: no sysfs at /sys");
	struct sysq *c = sqd_connect(&d);
	expect_streamed(c, "/sys/class/net/lo/mtu", NULL);
	sysq_close(c);
}

/* As uid 1000: the status of a process of its own, by pid. */
static int own_status(void *arg)
{
	(void)arg;
	pid_t kid = fork();
	if (kid == 0) {
		die_with_parent();
		for (;;)
			pause();
	}
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)kid);
	usleep(100000); /* asleep in pause(): its status holds still */
	char err[200];
	struct sysq *c = sysq_connect(d.sock, err, sizeof(err));
	if (!c)
		return 2;
	const char *why = streamed_wrong(c, path, NULL);
	if (why)
		fprintf(stderr, "uid 1000: %s\n", why);
	sysq_close(c);
	kill(kid, SIGKILL);
	waitpid(kid, NULL, 0);
	return why ? 1 : 0;
}

Test(pseudofile, a_callers_own_proc_status_by_pid)
{
	SKIP_UNLESS_ROOT();
	cr_assert_eq(run_as(1000, 1000, own_status, NULL), 0, "see the log");
}

Test(pseudofile, a_regular_file_still_announces_its_size_and_an_empty_one_streams)
{
	char path[] = "/tmp/sysq-pseudo.XXXXXX";
	int fd = mkstemp(path);
	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, "hello\n", 6), 6);
	close(fd);
	struct sysq *c = sqd_connect(&d);
	struct got g;
	cr_assert_eq(fetch(c, path, &g), 0, "%s", g.message);
	cr_assert(!g.is_error && !g.size_nil && g.size == 6 && g.end_bytes == 6);
	cr_assert_eq(memcmp(g.data.data, "hello\n", 6), 0);
	sq_buf_free(&g.data);
	cr_assert_eq(truncate(path, 0), 0);
	cr_assert_eq(fetch(c, path, &g), 0, "%s", g.message); /* st_size 0: maybe a pseudo file; read to the end */
	cr_assert(!g.is_error && g.size_nil && g.end_bytes == 0 && !g.end_error);
	sq_buf_free(&g.data);
	sysq_close(c);
	unlink(path);
}

Test(pseudofile, sysq_get_writes_what_cat_would)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "%s -s %s get /proc/version > %s/got 2>&1 && "
	         "cat /proc/version > %s/want && cmp %s/got %s/want",
	         getenv("SQ_SYSQ"), d.sock, d.dir, d.dir, d.dir, d.dir);
	int st = system(cmd);
	char *got_path = NULL;
	cr_assert(asprintf(&got_path, "%s/got", d.dir) > 0);
	char *got = slurp(got_path);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "sysq get /proc/version differs from "
	          "cat: %s", got);
	free(got);
	free(got_path);
}
