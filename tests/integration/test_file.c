/* SPDX-License-Identifier: ISC */
/*
 * test_file.c - file.read against a real sysqd: byte-exact round trips
 * (empty, 1 byte, around the chunk size, 256 MiB), ranges, a file truncated
 * mid-transfer, identity (a non-root caller refused a 0600 file directly
 * and through a symlink), directories, FIFOs and devices, clients that
 * disconnect or stop reading, pings on the transferring connection, the
 * transfer cap, two transfers on one connection, and SIGTERM mid-transfer.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "rawio.h"
#include "sq_proto.h"

#define CHUNK (1u << 20)

static struct sqd d;
static char dir[64];

static void up(void)
{
	signal(SIGPIPE, SIG_IGN);
	sqd_start(&d, NULL);
	/* sysqd keeps one descriptor on /proc/self/mountinfo once it has read
	 * the mount table (lib/sq_fs.h), which it does at the first caller path
	 * on a device numbered 0:N (tmpfs /tmp): open it now, before the tests
	 * count descriptors */
	struct sysq *c = sqd_connect(&d);
	struct sysq_reply r;
	cr_assert_eq(sq_call(c, "fs.list", NULL, &r), 0, "%s", r.message);
	sysq_reply_free(&r);
	sysq_close(c);
	snprintf(dir, sizeof(dir), "/tmp/sysq-file.XXXXXX");
	cr_assert(mkdtemp(dir));
	chmod(dir, 0755); /* nobody must reach the files to be refused by mode */
}

static void down(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_expect_eq(system(cmd), 0);
	sqd_stop_clean(&d);
}

/* .timeout as in test_sys.c: criterion 2.4.1 leaks a watchdog entry (48
 * bytes, LSan fails the run) when suites with different timeouts run with
 * --jobs 2. */
TestSuite(file, .init = up, .fini = down, .timeout = 60);

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* Deterministic content with no zero byte (so padding can be told apart)
 * and no period that divides the chunk size. */
static unsigned char pattern(uint64_t i)
{
	uint64_t x = (i + 1) * 0x9e3779b97f4a7c15ull;
	x ^= x >> 29;
	return (unsigned char)((x & 0xfe) | 1);
}

static void make_file(const char *path, uint64_t size, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	cr_assert_geq(fd, 0, "create %s: %s", path, strerror(errno));
	static unsigned char buf[1 << 16];
	for (uint64_t off = 0; off < size;) {
		size_t n = size - off < sizeof(buf) ? (size_t)(size - off) : sizeof(buf);
		for (size_t i = 0; i < n; i++)
			buf[i] = pattern(off + i);
		cr_assert_eq(write(fd, buf, n), (ssize_t)n);
		off += n;
	}
	fchmod(fd, mode);
	close(fd);
}

static void file_path(char *out, size_t size, const char *name)
{
	snprintf(out, size, "%s/%s", dir, name);
}

static uint32_t send_read(struct sysq *c, const char *path, int64_t offset, int64_t length,
                          bool nofollow)
{
	uint32_t id;
	msgpack_packer *pk = sysq_begin(c, "file.read", &id);
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 1 + (offset >= 0) + (length >= 0) + nofollow);
	sq_pack_kv_str(pk, "path", path);
	if (offset >= 0)
		sq_pack_kv_i64(pk, "offset", offset);
	if (length >= 0)
		sq_pack_kv_i64(pk, "length", length);
	if (nofollow)
		sq_pack_kv_bool(pk, "nofollow", true);
	cr_assert_eq(sysq_flush(c), 0);
	return id;
}

static uint64_t u64(const msgpack_object *map, const char *key)
{
	const msgpack_object *o = sq_map_get(map, key);
	cr_assert(o && o->type == MSGPACK_OBJECT_POSITIVE_INTEGER, "no integer '%s'", key);
	return o->via.u64;
}

/* The params map of a notification for msgid id, or NULL. */
static const msgpack_object *notif(const struct sysq_reply *m, const char *method, uint32_t id)
{
	if (m->type != SQ_MSG_NOTIFY || strcmp(m->method, method) != 0)
		return NULL;
	cr_assert(m->result->type == MSGPACK_OBJECT_ARRAY && m->result->via.array.size == 1);
	const msgpack_object *p = &m->result->via.array.ptr[0];
	return u64(p, "msgid") == id ? p : NULL;
}

struct xres {
	bool is_error;
	char code[32];
	char message[512];
	bool size_nil;
	uint64_t size, offset, file_size;
	uint64_t received;
	uint64_t end_bytes;
	char end_code[32];
	unsigned chunks;
};

/* Read transfer id to its end; every chunk must be exactly min(CHUNK,
 * left) bytes and equal to the file's bytes at its offset. */
static void read_transfer(struct sysq *c, uint32_t id, struct xres *x)
{
	memset(x, 0, sizeof(*x));
	for (;;) {
		struct sysq_reply m;
		const msgpack_object *p;
		cr_assert_eq(sysq_read(c, &m), 0, "connection lost mid-transfer");
		if (m.type == SQ_MSG_RESPONSE && m.msgid == id) {
			if (m.is_error) {
				x->is_error = true;
				strcpy(x->code, m.code);
				strcpy(x->message, m.message);
				sysq_reply_free(&m);
				return;
			}
			/* an empty file says "size": nil (maybe a pseudo file:
			 * test_pseudofile.c); it comes to nothing all the same */
			const msgpack_object *sz = sq_map_get(m.result, "size");
			x->size_nil = sz && sz->type == MSGPACK_OBJECT_NIL;
			x->size = x->size_nil ? 0 : u64(m.result, "size");
			x->offset = u64(m.result, "offset");
			x->file_size = x->size_nil ? 0 : u64(m.result, "file_size");
			cr_assert_eq(u64(m.result, "chunk"), CHUNK);
		} else if ((p = notif(&m, "file.data", id))) {
			const msgpack_object *data = sq_map_get(p, "data");
			cr_assert(data && data->type == MSGPACK_OBJECT_BIN);
			uint64_t left = x->size - x->received;
			cr_assert_eq(data->via.bin.size, left < CHUNK ? left : CHUNK,
			             "chunk %u has %u bytes", x->chunks, data->via.bin.size);
			for (uint32_t i = 0; i < data->via.bin.size; i++)
				if ((unsigned char)data->via.bin.ptr[i] != pattern(x->offset + x->received + i))
					cr_assert_fail("byte %llu differs",
					               (unsigned long long)(x->offset + x->received + i));
			x->received += data->via.bin.size;
			x->chunks++;
		} else if ((p = notif(&m, "file.end", id))) {
			x->end_bytes = u64(p, "bytes");
			const msgpack_object *e = sq_map_get(p, "error");
			cr_assert(e);
			if (e->type != MSGPACK_OBJECT_NIL)
				snprintf(x->end_code, sizeof(x->end_code), "%.*s",
				         (int)sq_map_get(e, "code")->via.str.size,
				         sq_map_get(e, "code")->via.str.ptr);
			sysq_reply_free(&m);
			return;
		}
		sysq_reply_free(&m);
	}
}

/* A whole successful transfer of [offset, offset+length) of a pattern file. */
static void round_trip(struct sysq *c, const char *path, uint64_t fsize, int64_t offset,
                       int64_t length)
{
	struct xres x;
	read_transfer(c, send_read(c, path, offset, length, false), &x);
	cr_assert(!x.is_error, "%s: %s", x.code, x.message);
	uint64_t off = offset < 0 ? 0 : (uint64_t)offset;
	uint64_t want = fsize - off;
	if (length >= 0 && (uint64_t)length < want)
		want = (uint64_t)length;
	cr_assert_eq(x.offset, off);
	cr_assert_eq(x.size_nil, fsize == 0, "size nil exactly when the file's size is 0");
	cr_assert_eq(x.file_size, fsize);
	cr_assert_eq(x.size, want, "announced %llu, want %llu", (unsigned long long)x.size,
	             (unsigned long long)want);
	cr_assert_eq(x.received, want);
	cr_assert_eq(x.end_bytes, want);
	cr_assert_str_eq(x.end_code, "", "file.end error %s", x.end_code);
	cr_assert_eq(x.chunks, (unsigned)((want + CHUNK - 1) / CHUNK));
}

static void expect_error(struct sysq *c, const char *path, int64_t offset, bool nofollow,
                         const char *code)
{
	struct xres x;
	read_transfer(c, send_read(c, path, offset, -1, nofollow), &x);
	cr_assert(x.is_error, "%s: expected %s, got a transfer", path, code);
	cr_assert_str_eq(x.code, code, "%s: %s", path, x.message);
}

/* Poll sys.stats until field == want (bounded: the daemon is releasing). */
static long long settle(const char *field, long long want)
{
	long long v = 0;
	for (int i = 0; i < 500; i++) {
		v = sqd_stat(&d, field);
		if (v == want)
			break;
		sleep_ms(20);
	}
	return v;
}

static long long active_transfers(void)
{
	struct sysq *c = sqd_connect(&d);
	struct sysq_reply r;
	cr_assert_eq(sq_call(c, "sys.stats", NULL, &r), 0);
	long long v = (long long)u64(sq_map_get(r.result, "transfers"), "active");
	sysq_reply_free(&r);
	sysq_close(c);
	return v;
}

static void ping(struct sysq *c)
{
	struct sysq_reply r;
	cr_assert_eq(sq_call(c, "sys.ping", NULL, &r), 0, "%s", r.message);
	cr_assert(sq_obj_streq(r.result, "pong"));
	sysq_reply_free(&r);
}

Test(file, round_trips_are_byte_exact_around_the_chunk_size)
{
	static const uint64_t sizes[] = { 0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 17 };
	struct sysq *c = sqd_connect(&d);
	char p[128];
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		snprintf(p, sizeof(p), "%s/f%zu", dir, i);
		make_file(p, sizes[i], 0644);
		round_trip(c, p, sizes[i], -1, -1);
	}
	ping(c); /* the stream is still in step */
	sysq_close(c);
}

Test(file, a_256_mib_file_round_trips)
{
	char p[128];
	file_path(p, sizeof(p), "big");
	make_file(p, 256u << 20, 0644);
	struct sysq *c = sqd_connect(&d);
	round_trip(c, p, 256u << 20, -1, -1);
	sysq_close(c);
}

Test(file, ranges)
{
	const uint64_t n = 3 * CHUNK + 5;
	char p[128];
	file_path(p, sizeof(p), "r");
	make_file(p, n, 0644);
	struct sysq *c = sqd_connect(&d);
	round_trip(c, p, n, 0, 0);                 /* empty */
	round_trip(c, p, n, CHUNK - 1, 2);         /* across a chunk boundary */
	round_trip(c, p, n, 5, CHUNK + 10);
	round_trip(c, p, n, 7, -1);                /* to the end */
	round_trip(c, p, n, (int64_t)n - 3, 100);  /* length past the end: clamped */
	round_trip(c, p, n, (int64_t)n, -1);       /* at the end: empty */
	expect_error(c, p, (int64_t)n + 1, false, "EINVAL"); /* past it */
	sysq_close(c);
}

Test(file, a_file_truncated_mid_transfer_reports_exactly_the_real_bytes)
{
	const uint64_t n = 16 * CHUNK;
	char p[128];
	file_path(p, sizeof(p), "shrinks");
	make_file(p, n, 0644);
	struct sysq *c = sqd_connect(&d);
	uint32_t id = send_read(c, p, -1, -1, false);
	unsigned char *got = malloc(n);
	uint64_t received = 0, end_bytes = 0;
	bool truncated = false, ended = false;
	char code[32] = "";
	while (!ended) {
		struct sysq_reply m;
		const msgpack_object *q;
		cr_assert_eq(sysq_read(c, &m), 0);
		if (m.type == SQ_MSG_RESPONSE) {
			cr_assert(!m.is_error, "%s", m.message);
			cr_assert_eq(u64(m.result, "size"), n);
		} else if ((q = notif(&m, "file.data", id))) {
			const msgpack_object *data = sq_map_get(q, "data");
			cr_assert_leq(received + data->via.bin.size, n);
			memcpy(got + received, data->via.bin.ptr, data->via.bin.size);
			received += data->via.bin.size;
			if (!truncated) { /* after the first chunk has arrived */
				cr_assert_eq(truncate(p, 100), 0);
				truncated = true;
			}
		} else if ((q = notif(&m, "file.end", id))) {
			end_bytes = u64(q, "bytes");
			const msgpack_object *e = sq_map_get(q, "error");
			cr_assert(e && e->type == MSGPACK_OBJECT_MAP, "no error for a short file");
			const msgpack_object *k = sq_map_get(e, "code");
			snprintf(code, sizeof(code), "%.*s", (int)k->via.str.size, k->via.str.ptr);
			ended = true;
		}
		sysq_reply_free(&m);
	}
	cr_assert_str_eq(code, "ENODATA");
	cr_assert_geq(end_bytes, CHUNK, "the first chunk was whole before the truncate");
	cr_assert_lt(end_bytes, n, "the transfer was really cut");
	cr_assert_leq(end_bytes, received);
	/* exactly the real bytes: the file's up to end_bytes, padding after */
	for (uint64_t i = 0; i < end_bytes; i++)
		if (got[i] != pattern(i))
			cr_assert_fail("real byte %llu differs", (unsigned long long)i);
	for (uint64_t i = end_bytes; i < received; i++)
		if (got[i] != 0)
			cr_assert_fail("byte %llu past 'bytes' is not padding: bytes is wrong",
			               (unsigned long long)i);
	free(got);
	ping(c);
	sysq_close(c);
}

struct refusal {
	const struct sqd *d;
	char secret[128], link[128], pub[128];
};

/* In the run_as child: no cr_assert here, only exit codes.  Reads one
 * transfer; *code is "" on success, with *bytes real bytes received. */
static int child_read(struct sysq *c, const char *path, bool nofollow, char *code,
                      uint64_t *bytes)
{
	uint32_t id;
	msgpack_packer *pk = sysq_begin(c, "file.read", &id);
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, nofollow ? 2 : 1);
	sq_pack_kv_str(pk, "path", path);
	if (nofollow)
		sq_pack_kv_bool(pk, "nofollow", true);
	if (sysq_flush(c) < 0)
		return -1;
	*code = '\0';
	*bytes = 0;
	for (;;) {
		struct sysq_reply m;
		if (sysq_read(c, &m) < 0)
			return -1;
		bool done = false;
		if (m.type == SQ_MSG_RESPONSE && m.msgid == id && m.is_error) {
			snprintf(code, 32, "%s", m.code);
			done = true;
		} else if (m.type == SQ_MSG_NOTIFY && strcmp(m.method, "file.data") == 0) {
			const msgpack_object *q = &m.result->via.array.ptr[0];
			const msgpack_object *data = sq_map_get(q, "data");
			for (uint32_t i = 0; i < data->via.bin.size; i++)
				if ((unsigned char)data->via.bin.ptr[i] != pattern(*bytes + i))
					return -1;
			*bytes += data->via.bin.size;
		} else if (m.type == SQ_MSG_NOTIFY && strcmp(m.method, "file.end") == 0) {
			const msgpack_object *q = &m.result->via.array.ptr[0];
			const msgpack_object *e = sq_map_get(q, "error");
			if (!e || e->type != MSGPACK_OBJECT_NIL ||
			    sq_map_get(q, "bytes")->via.u64 != *bytes)
				strcpy(code, "BADEND");
			done = true;
		}
		sysq_reply_free(&m);
		if (done)
			return 0;
	}
}

static int read_as_nobody(void *arg)
{
	struct refusal *f = arg;
	char err[256], code[32];
	uint64_t bytes;
	struct sysq *c = sysq_connect(f->d->sock, err, sizeof(err));
	if (!c)
		return 10;
	if (child_read(c, f->secret, false, code, &bytes) < 0 || strcmp(code, "EACCES") != 0)
		return 11;
	if (child_read(c, f->link, false, code, &bytes) < 0 || strcmp(code, "EACCES") != 0)
		return 12;
	if (child_read(c, f->link, true, code, &bytes) < 0 || strcmp(code, "ELOOP") != 0)
		return 13;
	/* the same caller may read what its uid may read */
	if (child_read(c, f->pub, false, code, &bytes) < 0 || code[0] || bytes != 1000)
		return 14;
	sysq_close(c);
	return 0;
}

Test(file, a_non_root_caller_is_refused_a_0600_root_file_directly_and_by_symlink)
{
	SKIP_UNLESS_ROOT();
	struct refusal f = { .d = &d };
	file_path(f.secret, sizeof(f.secret), "secret");
	file_path(f.link, sizeof(f.link), "link");
	file_path(f.pub, sizeof(f.pub), "public");
	make_file(f.secret, 1000, 0600);
	make_file(f.pub, 1000, 0644);
	cr_assert_eq(symlink(f.secret, f.link), 0);
	cr_assert_eq(run_as(NOBODY_UID, NOBODY_GID, read_as_nobody, &f), 0);
	/* root itself is served: the refusal was the caller's, not the daemon's */
	struct sysq *c = sqd_connect(&d);
	round_trip(c, f.secret, 1000, -1, -1);
	round_trip(c, f.link, 1000, -1, -1);
	sysq_close(c);
}

Test(file, directories_fifos_devices_and_bad_params_are_refused)
{
	char p[128], rel[] = "relative/path";
	struct sysq *c = sqd_connect(&d);
	expect_error(c, dir, -1, false, "EISDIR");
	file_path(p, sizeof(p), "fifo");
	cr_assert_eq(mkfifo(p, 0666), 0);
	expect_error(c, p, -1, false, "ENOTSUP"); /* and returns: no hang on open */
	expect_error(c, "/dev/null", -1, false, "ENOTSUP");
	expect_error(c, "/dev/zero", -1, false, "ENOTSUP");
	file_path(p, sizeof(p), "missing");
	expect_error(c, p, -1, false, "ENOENT");
	expect_error(c, rel, -1, false, "EINVAL");
	struct sysq_reply r;
	cr_assert_eq(sq_call(c, "file.read", "{\"path\": \"/etc/hostname\", \"bogus\": 1}", &r),
	             SYSQ_REMOTE_ERROR);
	cr_assert_str_eq(r.code, "EINVAL");
	cr_assert(strstr(r.message, "bogus"), "%s", r.message);
	sysq_reply_free(&r);
	cr_assert_eq(sq_call(c, "file.read", "{\"path\": \"/etc/hostname\", \"offset\": -1}", &r),
	             SYSQ_REMOTE_ERROR);
	cr_assert_str_eq(r.code, "EINVAL");
	sysq_reply_free(&r);
	cr_assert_eq(sq_call(c, "file.read", "{}", &r), SYSQ_REMOTE_ERROR);
	cr_assert_str_eq(r.code, "EINVAL");
	sysq_reply_free(&r);
	ping(c);
	sysq_close(c);
	cr_assert_eq(active_transfers(), 0);
}

/* A raw connection that asks for a transfer and reads only `keep` bytes. */
static int start_raw_read(const char *path, size_t keep)
{
	int fd = sqd_raw_connect(&d);
	struct sq_buf b;
	msgpack_packer pk;
	sq_buf_init(&b);
	sq_packer_init(&pk, &b);
	sq_pack_request_head(&pk, 1, "file.read");
	msgpack_pack_array(&pk, 1);
	msgpack_pack_map(&pk, 1);
	sq_pack_kv_str(&pk, "path", path);
	cr_assert_eq(write(fd, b.data, b.len), (ssize_t)b.len);
	sq_buf_free(&b);
	char buf[65536];
	for (size_t got = 0; got < keep;) {
		size_t want = keep - got < sizeof(buf) ? keep - got : sizeof(buf);
		ssize_t n = read(fd, buf, want);
		cr_assert_gt(n, 0);
		got += (size_t)n;
	}
	return fd;
}

Test(file, a_client_that_disconnects_mid_transfer_leaves_nothing_behind)
{
	char p[128];
	file_path(p, sizeof(p), "long");
	make_file(p, 64 * CHUNK, 0644);
	long long fds = sqd_stat(&d, "open_fds");
	int fd = start_raw_read(p, 3 * CHUNK);
	cr_assert_eq(active_transfers(), 1);
	close(fd);
	cr_assert_eq(settle("open_fds", fds), fds, "descriptors left behind");
	cr_assert_eq(active_transfers(), 0);
	struct sysq *c = sqd_connect(&d);
	round_trip(c, p, 64 * CHUNK, 0, 2 * CHUNK + 1); /* still serving */
	sysq_close(c);
}

Test(file, a_client_that_stops_reading_holds_no_daemon_memory_and_blocks_no_one)
{
	char p[128], small[128];
	file_path(p, sizeof(p), "long");
	file_path(small, sizeof(small), "small");
	make_file(small, 2 * CHUNK + 3, 0644);
	int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644); /* 256 MiB, sparse */
	cr_assert(fd >= 0 && ftruncate(fd, 256 * CHUNK) == 0);
	close(fd);
	long long fds = sqd_stat(&d, "open_fds");
	long long rss = sqd_stat(&d, "rss_bytes");
	int stalled = start_raw_read(p, 0); /* asks for 256 MiB, reads nothing */
	sleep_ms(300);
	/* other connections are served meanwhile, transfers included */
	struct sysq *c = sqd_connect(&d);
	ping(c);
	round_trip(c, small, 2 * CHUNK + 3, -1, -1);
	sysq_close(c);
	/* what the stalled client costs is kernel socket buffers, not the file */
	long long grown = sqd_stat(&d, "rss_bytes") - rss;
	cr_assert_lt(grown, 64ll << 20, "daemon RSS grew by %lld bytes", grown);
	cr_assert_eq(active_transfers(), 1);
	close(stalled);
	cr_assert_eq(settle("open_fds", fds), fds);
	cr_assert_eq(active_transfers(), 0);
}

Test(file, pings_on_the_same_connection_are_answered_during_a_transfer)
{
	const uint64_t n = 32 * CHUNK;
	char p[128];
	file_path(p, sizeof(p), "long");
	make_file(p, n, 0644);
	struct sysq *c = sqd_connect(&d);
	uint32_t id = send_read(c, p, -1, -1, false);
	unsigned chunks = 0, chunks_at_pong = 0, pongs = 0;
	uint64_t received = 0;
	bool ended = false;
	while (!ended) {
		struct sysq_reply m;
		const msgpack_object *q;
		cr_assert_eq(sysq_read(c, &m), 0, "stream broken after %u chunks", chunks);
		if ((q = notif(&m, "file.data", id))) {
			/* every chunk whole and in place: a reply written into the
			 * middle of one would shift or corrupt it */
			const msgpack_object *data = sq_map_get(q, "data");
			cr_assert_eq(data->via.bin.size, CHUNK);
			for (uint32_t i = 0; i < data->via.bin.size; i++)
				if ((unsigned char)data->via.bin.ptr[i] != pattern(received + i))
					cr_assert_fail("chunk %u byte %u differs", chunks, i);
			received += data->via.bin.size;
			if (++chunks == 1 || chunks == 8) {
				msgpack_pack_array(sysq_begin(c, "sys.ping", NULL), 0);
				cr_assert_eq(sysq_flush(c), 0);
				sleep_ms(100); /* let the daemon be mid-chunk when it arrives */
			}
		} else if (m.type == SQ_MSG_RESPONSE && m.msgid != id) {
			cr_assert(sq_obj_streq(m.result, "pong"));
			pongs++;
			chunks_at_pong = chunks;
		} else if ((q = notif(&m, "file.end", id))) {
			cr_assert_eq(u64(q, "bytes"), n);
			ended = true;
		}
		sysq_reply_free(&m);
	}
	cr_assert_eq(received, n);
	cr_assert_eq(pongs, 2, "pings on the transferring connection went unanswered");
	cr_assert_lt(chunks_at_pong, 32, "the pong waited for the whole transfer");
	sysq_close(c);
}

Test(file, two_transfers_on_one_connection_take_turns)
{
	char a[128], b[128];
	file_path(a, sizeof(a), "a");
	file_path(b, sizeof(b), "b");
	make_file(a, 5 * CHUNK + 1, 0644);
	make_file(b, 3 * CHUNK + 2, 0644);
	struct sysq *c = sqd_connect(&d);
	uint32_t ida = send_read(c, a, -1, -1, false);
	uint32_t idb = send_read(c, b, CHUNK / 2, -1, false);
	uint64_t got[2] = { 0, 0 }, size[2] = { 0, 0 }, off[2] = { 0, CHUNK / 2 };
	int ended = 0;
	while (ended < 2) {
		struct sysq_reply m;
		const msgpack_object *q;
		cr_assert_eq(sysq_read(c, &m), 0);
		int k = -1;
		if (m.type == SQ_MSG_RESPONSE) {
			cr_assert(!m.is_error, "%s", m.message);
			k = m.msgid == ida ? 0 : 1;
			size[k] = u64(m.result, "size");
		} else if ((q = notif(&m, "file.data", ida)) || (q = notif(&m, "file.data", idb))) {
			k = u64(q, "msgid") == ida ? 0 : 1;
			const msgpack_object *data = sq_map_get(q, "data");
			for (uint32_t i = 0; i < data->via.bin.size; i++)
				if ((unsigned char)data->via.bin.ptr[i] != pattern(off[k] + got[k] + i))
					cr_assert_fail("transfer %d byte %llu differs", k,
					               (unsigned long long)(got[k] + i));
			got[k] += data->via.bin.size;
		} else if ((q = notif(&m, "file.end", ida)) || (q = notif(&m, "file.end", idb))) {
			k = u64(q, "msgid") == ida ? 0 : 1;
			cr_assert_eq(u64(q, "bytes"), size[k]);
			cr_assert_eq(got[k], size[k]);
			ended++;
		}
		sysq_reply_free(&m);
	}
	cr_assert_eq(size[0], 5 * CHUNK + 1);
	cr_assert_eq(size[1], 3 * CHUNK + 2 - CHUNK / 2);
	sysq_close(c);
}

Test(file, transfers_beyond_the_cap_are_refused_with_eagain)
{
	enum { MAX = 16 };
	char p[128];
	file_path(p, sizeof(p), "long");
	make_file(p, 64 * CHUNK, 0644);
	long long fds = sqd_stat(&d, "open_fds");
	struct sysq *held[MAX];
	for (int i = 0; i < MAX; i++) { /* each reads its announcement, then stops */
		held[i] = sqd_connect(&d);
		uint32_t id = send_read(held[i], p, -1, -1, false);
		struct sysq_reply m;
		cr_assert_eq(sysq_read(held[i], &m), 0);
		cr_assert(m.type == SQ_MSG_RESPONSE && m.msgid == id && !m.is_error, "%s", m.message);
		sysq_reply_free(&m);
	}
	struct sysq *c = sqd_connect(&d);
	struct xres x;
	read_transfer(c, send_read(c, p, -1, -1, false), &x);
	cr_assert(x.is_error);
	cr_assert_str_eq(x.code, "EAGAIN", "%s", x.message);
	ping(c);
	for (int i = 0; i < MAX; i++)
		sysq_close(held[i]);
	cr_assert_eq(settle("open_fds", fds + 1), fds + 1); /* + c */
	cr_assert_eq(active_transfers(), 0);
	round_trip(c, p, 64 * CHUNK, 0, CHUNK); /* a slot is free again */
	sysq_close(c);
}

Test(file, sigterm_mid_transfer_ends_it_with_a_clear_error)
{
	char p[128];
	file_path(p, sizeof(p), "long");
	make_file(p, 64 * CHUNK, 0644);
	struct sysq *c = sqd_connect(&d);
	uint32_t id = send_read(c, p, -1, -1, false);
	uint64_t received = 0;
	bool signalled = false, ended = false;
	while (!ended) {
		struct sysq_reply m;
		const msgpack_object *q;
		cr_assert_eq(sysq_read(c, &m), 0, "the connection closed before file.end");
		if ((q = notif(&m, "file.data", id))) {
			received += sq_map_get(q, "data")->via.bin.size;
			if (!signalled) {
				kill(d.pid, SIGTERM);
				signalled = true;
			}
		} else if ((q = notif(&m, "file.end", id))) {
			const msgpack_object *e = sq_map_get(q, "error");
			cr_assert(e && e->type == MSGPACK_OBJECT_MAP, "no error on a cut transfer");
			cr_assert(sq_obj_streq(sq_map_get(e, "code"), "ECANCELED"));
			cr_assert_eq(u64(q, "bytes"), received, "all data sent was real");
			cr_assert_lt(received, 64 * CHUNK);
			ended = true;
		}
		sysq_reply_free(&m);
	}
	struct sysq_reply m;
	cr_assert_lt(sysq_read(c, &m), 0, "the daemon closes the connection after");
	sysq_close(c);
	/* it is stopping already: a second SIGTERM from down() could reach it
	 * after its handlers are gone (under valgrind it did) and kill it */
	int st;
	cr_assert_eq(waitpid(d.pid, &st, 0), d.pid);
	d.pid = 0;
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "sysqd exit status %d (under ASan "
	          "a leak makes it non-zero)", st);
}

/* ---- the socket lent to a transfer is the transfer's alone ------------- */

/* Read what is there now (at most max bytes) into b; false at EOF/error. */
static bool read_some(int fd, struct sq_buf *b, size_t max)
{
	cr_assert_eq(sq_buf_reserve(b, max), 0);
	ssize_t k = recv(fd, b->data + b->len, max, MSG_DONTWAIT);
	if (k > 0)
		b->len += (size_t)k;
	return k > 0 || (k < 0 && errno == EAGAIN);
}

/* Wait until the daemon has filled the socket and its sender sleeps: the
 * bytes waiting for us stop growing. */
static void wait_socket_full(int fd)
{
	int last = -1, q = 0, still = 0;
	for (int i = 0; i < 1000 && still < 5; i++) {
		cr_assert_eq(ioctl(fd, FIONREAD, &q), 0);
		still = q > 0 && q == last ? still + 1 : 0;
		last = q;
		sleep_ms(10);
	}
	cr_assert_geq(still, 5, "the daemon's sends never stopped (%d bytes queued)", q);
}

/* While a transfer holds the socket, a batch of requests whose replies pass
 * --max-output in one go.  The transfer's thread sleeps in sendfile on a
 * full socket; the client has read a little, so there is room that does
 * not wake it.  The loop must not write the replies into that room (into
 * the middle of a chunk): over the cap the client is disconnected, as any
 * client over it is, and every file byte it got is the file's. */
Test(file, replies_over_the_cap_never_enter_a_lent_socket)
{
	const uint64_t n = 64 * CHUNK;
	char p[128];
	file_path(p, sizeof(p), "lent");
	make_file(p, n, 0644);
	struct sqd small;
	const char *args[] = { "--max-output", "65536", NULL };
	sqd_start(&small, args);
	int fd = sqd_raw_connect(&small);
	struct sq_buf req, got;
	sq_buf_init(&req);
	sq_buf_init(&got);
	char json[200];
	snprintf(json, sizeof(json), "{\"path\": \"%s\"}", p);
	frame_request(&req, 1, "file.read", json);
	cr_assert_eq(send(fd, req.data, req.len, 0), (ssize_t)req.len);
	req.len = 0;

	wait_socket_full(fd);
	/* room: a few whole skbs freed, under the 3/4 of the buffer that would
	 * wake the sleeping sender (unix_writable) */
	cr_assert(read_some(fd, &got, 128 << 10));
	/* replies that come back from the workers together, past 64 KiB (a
	 * batch of loop replies stops reading at half of it) */
	for (uint32_t i = 0; i < 32; i++)
		frame_request(&req, 2 + i, "proc.list", NULL);
	cr_assert_lt(req.len, 65536, "one read's worth");
	cr_assert_eq(send(fd, req.data, req.len, 0), (ssize_t)req.len);
	sq_buf_free(&req);
	struct pollfd pf = { .fd = fd, .events = POLLIN };
	while (poll(&pf, 1, RAW_TIMEOUT_MS) == 1 && read_some(fd, &got, 1 << 20) &&
	       !(pf.revents & POLLHUP))
		;
	while (read_some(fd, &got, 1 << 20) && got.len < 2 * n) /* what is left */
		if (poll(&pf, 1, RAW_TIMEOUT_MS) != 1)
			break;
	close(fd);

	/* every message whole, every file byte the file's */
	msgpack_unpacker u;
	cr_assert(msgpack_unpacker_init(&u, got.len + 16));
	memcpy(msgpack_unpacker_buffer(&u), got.data, got.len);
	msgpack_unpacker_buffer_consumed(&u, got.len);
	msgpack_unpacked m;
	msgpack_unpacked_init(&m);
	uint64_t received = 0;
	bool ended = false;
	msgpack_unpack_return rc;
	while ((rc = msgpack_unpacker_next(&u, &m)) == MSGPACK_UNPACK_SUCCESS) {
		const msgpack_object *o = &m.data;
		cr_assert(o->type == MSGPACK_OBJECT_ARRAY && (o->via.array.size == 3 ||
		          o->via.array.size == 4) &&
		          o->via.array.ptr[0].type == MSGPACK_OBJECT_POSITIVE_INTEGER,
		          "a message that is not msgpack-rpc after %llu file bytes",
		          (unsigned long long)received);
		if (o->via.array.ptr[0].via.u64 != SQ_MSG_NOTIFY)
			continue;
		const msgpack_object *q = &o->via.array.ptr[2].via.array.ptr[0];
		if (sq_obj_streq(&o->via.array.ptr[1], "file.data")) {
			const msgpack_object *data = sq_map_get(q, "data");
			for (uint32_t i = 0; i < data->via.bin.size; i++)
				if ((unsigned char)data->via.bin.ptr[i] != pattern(received + i))
					cr_assert_fail("file byte %llu differs: a reply was written into "
					               "the chunk", (unsigned long long)(received + i));
			received += data->via.bin.size;
		} else if (sq_obj_streq(&o->via.array.ptr[1], "file.end")) {
			ended = true;
		}
	}
	cr_assert(rc == MSGPACK_UNPACK_CONTINUE, "garbage after %llu file bytes",
	          (unsigned long long)received);
	msgpack_unpacked_destroy(&m);
	msgpack_unpacker_destroy(&u);
	sq_buf_free(&got);
	if (ended)
		cr_assert_eq(received, n);
	assert_alive(&small);
	sqd_stop_clean(&small);
}
