/* SPDX-License-Identifier: ISC */
/*
 * file_bench.c - speed of file.read against raw baselines measured in the
 * same run (bench/b_file.sh drives it): a page-cached file sent to a client
 * that discards it, by (1) sendfile(2) over an AF_UNIX socket pair, (2) a
 * plain read/write copy loop (64 KiB buffer) over the same kind of pair,
 * (3) sysqd's file.read; plus sysqd's RSS growth while it streams.  The
 * first two use default socket buffers, as plain programs do.  A third
 * baseline drives raw sendfile exactly as sysqd's transfer threads do (per
 * 1 MiB: a small header write, then sendfile; non-blocking socket + poll;
 * 1 MiB SO_SNDBUF), so sysqd's own overhead shows alone.  On Linux 6.18
 * that pattern is ~3x faster than one sendfile call for the whole file.
 * With SYSQ and OUT, the CLI end to end as well: `sysq get FILE -o
 * /dev/null` and `sysq get FILE -o OUT` (a new file each round, removed
 * after), the whole command timed from fork to exit, and, in the same
 * rounds, sendfile(2) of the file into a new OUT: the output's own cost.
 *
 *   file_bench SOCKET FILE [ROUNDS [SYSQ OUT]]
 *
 * Prints "name value" lines (MiB/s, bytes) for the script to judge; every
 * receiver recv()s into the same 1 MiB buffer and throws the bytes away.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "libsysq.h"
#include "sq_proto.h"
#include "sq_sendfile.h"

#define RBUF (1u << 20)
#define CHUNK (1u << 20)   /* sysqd's file.data payload */

static char *rbuf;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "file_bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* ---- baselines: a sender thread and a discarding receiver ------------------- */

enum mode {
	SF_PLAIN,    /* sendfile of the whole file, blocking socket, default buffers */
	SF_CHUNKED,  /* what sysqd does, without sysqd: per 1 MiB, a 30-byte header
	              * write then sendfile, non-blocking + poll, 1 MiB SO_SNDBUF */
	READWRITE,   /* pread 64 KiB + write, blocking, default buffers */
};

struct sender {
	int sock, fd;
	off_t size;
	enum mode mode;
};

static void wait_out(int sock)
{
	struct pollfd p = { .fd = sock, .events = POLLOUT };
	poll(&p, 1, -1);
}

static void write_all(int sock, const char *p, size_t n)
{
	while (n) {
		ssize_t k = write(sock, p, n);
		if (k < 0 && errno == EAGAIN) {
			wait_out(sock);
			continue;
		}
		if (k < 0)
			die("write");
		p += k;
		n -= (size_t)k;
	}
}

static void *send_main(void *arg)
{
	struct sender *s = arg;
	static const char head[30];
	off_t off = 0;
	char *buf = s->mode == READWRITE ? malloc(65536) : NULL;
	while (off < s->size) {
		ssize_t n;
		if (s->mode == SF_PLAIN) {
			n = sq_sendfile(s->sock, s->fd, off, (size_t)(s->size - off));
		} else if (s->mode == SF_CHUNKED) {
			size_t want = s->size - off < CHUNK ? (size_t)(s->size - off) : CHUNK;
			write_all(s->sock, head, sizeof(head));
			for (size_t done = 0; done < want; done += (size_t)n) {
				n = sq_sendfile(s->sock, s->fd, off + (off_t)done, want - done);
				if (n == -EAGAIN) {
					wait_out(s->sock);
					n = 0;
				} else if (n <= 0) {
					break;
				}
			}
			n = (ssize_t)want;
		} else {
			n = pread(s->fd, buf, 65536, off);
			if (n > 0)
				write_all(s->sock, buf, (size_t)n);
		}
		if (n < 0) {
			errno = (int)-n;
			die("send");
		}
		if (n == 0)
			break;
		off += n;
	}
	free(buf);
	shutdown(s->sock, SHUT_WR);
	return NULL;
}

/* MiB/s of file payload from fd through an AF_UNIX socket pair. */
static double baseline(int fd, off_t size, enum mode mode)
{
	int sp[2];
	pthread_t t;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) < 0)
		die("socketpair");
	if (mode == SF_CHUNKED) {
		int b = CHUNK;
		setsockopt(sp[0], SOL_SOCKET, SO_SNDBUF, &b, sizeof(b));
		fcntl(sp[0], F_SETFL, fcntl(sp[0], F_GETFL) | O_NONBLOCK);
	}
	struct sender s = { sp[0], fd, size, mode };
	off_t expect = size;
	if (mode == SF_CHUNKED)
		expect += (off_t)(30 * ((size + CHUNK - 1) / CHUNK));
	double t0 = now_s();
	pthread_create(&t, NULL, send_main, &s);
	off_t got = 0;
	for (;;) {
		ssize_t n = recv(sp[1], rbuf, RBUF, 0);
		if (n < 0)
			die("recv");
		if (n == 0)
			break;
		got += n;
	}
	double el = now_s() - t0;
	pthread_join(t, NULL);
	close(sp[0]);
	close(sp[1]);
	if (got != expect) {
		fprintf(stderr, "file_bench: baseline %d moved %lld of %lld bytes\n", (int)mode,
		        (long long)got, (long long)expect);
		exit(1);
	}
	return (double)size / el / (1 << 20);
}

/* ---- sysqd: file.read with a streaming, discarding reader ------------------ */

/* The daemon's resident size as it reports it (sys.stats rss_bytes). */
static long long rss_of(struct sysq *c)
{
	struct sysq_reply r;
	long long v = -1;
	if (sysq_call0(c, "sys.stats", &r) == 0) {
		const msgpack_object *o = sq_map_get(r.result, "rss_bytes");
		if (o && o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
			v = (long long)o->via.u64;
	}
	sysq_reply_free(&r);
	return v;
}

struct sampler {
	struct sysq *c;
	volatile bool stop;
	long long max;
};

static void *sample_main(void *arg)
{
	struct sampler *s = arg;
	while (!s->stop) {
		long long r = rss_of(s->c);
		if (r > s->max)
			s->max = r;
		struct timespec ts = { 0, 10000000 };
		nanosleep(&ts, NULL);
	}
	return NULL;
}

/* One file.read of the whole file: the payload bytes received, or exit. */
static double via_sysqd(const char *sock, const char *file, off_t size)
{
	char err[256];
	struct sysq *c = sysq_connect(sock, err, sizeof(err));
	if (!c) {
		fprintf(stderr, "file_bench: %s\n", err);
		exit(1);
	}
	int fd = sysq_fd(c);
	double t0 = now_s();
	msgpack_packer *pk = sysq_begin(c, "file.read", NULL);
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 1);
	sq_pack_kv_str(pk, "path", file);
	if (sysq_flush(c) < 0)
		die("send");

	struct sq_limits lim = sq_default_limits;
	lim.max_msg = 4u << 20;
	size_t have = 0, skip = 0;
	long long payload = 0;
	bool ended = false;
	msgpack_zone zone;
	msgpack_zone_init(&zone, 4096);
	while (!ended) {
		ssize_t n = recv(fd, rbuf + have, RBUF - have, 0);
		if (n <= 0)
			die("recv from sysqd");
		have += (size_t)n;
		size_t pos = 0;
		for (;;) {
			if (skip) { /* the body of a bin: count and drop */
				size_t k = have - pos < skip ? have - pos : skip;
				pos += k;
				skip -= k;
				payload += (long long)k;
				if (skip)
					break;
				continue;
			}
			/* a file.data header ends with the bin header: find it
			 * without waiting for the body (the stream is ours) */
			const unsigned char *p = (const unsigned char *)rbuf + pos;
			size_t avail = have - pos;
			static const char dhead[] = "\x93\x02\xa9" "file.data" "\x91\x82\xa5" "msgid";
			if (avail >= sizeof(dhead) - 1 && memcmp(p, dhead, sizeof(dhead) - 1) == 0) {
				size_t q = sizeof(dhead) - 1;
				if (avail < q + 1)
					break;
				q += p[q] < 0x80 ? 1 : p[q] == 0xcc ? 2 : p[q] == 0xcd ? 3 : 5;
				if (avail < q + 5 + 1 + 5)
					break;
				q += 5; /* "data" fixstr */
				size_t blen;
				if (p[q] == 0xc4) { blen = p[q + 1]; q += 2; }
				else if (p[q] == 0xc5) { blen = (size_t)p[q + 1] << 8 | p[q + 2]; q += 3; }
				else { blen = (size_t)p[q + 1] << 24 | (size_t)p[q + 2] << 16 |
				              (size_t)p[q + 3] << 8 | p[q + 4]; q += 5; }
				pos += q;
				skip = blen;
				continue;
			}
			size_t flen;
			if (sq_frame_scan(rbuf + pos, avail, &lim, &flen) != 0)
				break;
			struct sq_msg m;
			const char *why;
			msgpack_zone_clear(&zone);
			if (sq_msg_parse(rbuf + pos, flen, &zone, &m, &why) < 0) {
				fprintf(stderr, "file_bench: bad message: %s\n", why);
				exit(1);
			}
			if (m.type == SQ_MSG_RESPONSE && m.error.type != MSGPACK_OBJECT_NIL) {
				fprintf(stderr, "file_bench: file.read failed\n");
				exit(1);
			}
			if (m.type == SQ_MSG_NOTIFY && m.method_len == 8 &&
			    memcmp(m.method, "file.end", 8) == 0) {
				const msgpack_object *e = sq_map_get(&m.params.via.array.ptr[0], "error");
				if (e && e->type != MSGPACK_OBJECT_NIL) {
					fprintf(stderr, "file_bench: file.end reports an error\n");
					exit(1);
				}
				ended = true;
			}
			pos += flen;
		}
		memmove(rbuf, rbuf + pos, have - pos);
		have -= pos;
	}
	double el = now_s() - t0;
	msgpack_zone_destroy(&zone);
	sysq_close(c);
	if (payload != size) {
		fprintf(stderr, "file_bench: sysqd sent %lld of %lld bytes\n", payload,
		        (long long)size);
		exit(1);
	}
	return (double)size / el / (1 << 20);
}

/* ---- the CLI: sysq get FILE -o OUT, from fork to exit ---------------------------------- */

/* MiB/s of the same file written to a new OUT with sendfile(2), file to
 * file: what writing it there costs whoever does it (removed after). */
static double raw_to_file(int fd, off_t size, const char *out)
{
	double t0 = now_s();
	int o = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (o < 0)
		die(out);
	for (off_t off = 0; off < size;) {
		ssize_t n = sq_sendfile(o, fd, off, (size_t)(size - off));
		if (n <= 0) {
			errno = n < 0 ? (int)-n : EIO;
			die("sendfile to a file");
		}
		off += n;
	}
	if (close(o) < 0)
		die(out);
	double el = now_s() - t0;
	unlink(out);
	return (double)size / el / (1 << 20);
}

static double via_cli(const char *sysq, const char *sock, const char *file, const char *out,
                      off_t size)
{
	double t0 = now_s();
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		execl(sysq, sysq, "-s", sock, "get", file, "-o", out, (char *)NULL);
		_exit(127);
	}
	int st;
	if (waitpid(pid, &st, 0) != pid)
		die("waitpid");
	double el = now_s() - t0;
	struct stat o;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || stat(out, &o) < 0 ||
	    (S_ISREG(o.st_mode) && o.st_size != size)) {
		fprintf(stderr, "file_bench: sysq get -o %s failed (status %d)\n", out, st);
		exit(1);
	}
	if (S_ISREG(o.st_mode))
		unlink(out);
	return (double)size / el / (1 << 20);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: file_bench SOCKET FILE [ROUNDS]\n");
		return 2;
	}
	const char *sock = argv[1], *file = argv[2];
	int rounds = argc > 3 ? atoi(argv[3]) : 3;
	const char *sysq = argc > 5 ? argv[4] : NULL, *out = argc > 5 ? argv[5] : NULL;
	char err[256];
	rbuf = malloc(RBUF);
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (!rbuf || fd < 0 || fstat(fd, &st) < 0)
		die(file);

	/* warm: page cache, sysqd's transfer thread, both code paths */
	baseline(fd, st.st_size, READWRITE);
	via_sysqd(sock, file, st.st_size);

	/* best of ROUNDS, interleaved so that load from elsewhere hits all */
	double best_sf = 0, best_sfb = 0, best_rw = 0, best_d = 0, best_null = 0, best_file = 0;
	double best_raw_file = 0;
	if (sysq)
		via_cli(sysq, sock, file, "/dev/null", st.st_size);
	for (int i = 0; i < rounds; i++) {
		double v = baseline(fd, st.st_size, SF_PLAIN);
		if (v > best_sf)
			best_sf = v;
		v = baseline(fd, st.st_size, SF_CHUNKED);
		if (v > best_sfb)
			best_sfb = v;
		v = baseline(fd, st.st_size, READWRITE);
		if (v > best_rw)
			best_rw = v;
		v = via_sysqd(sock, file, st.st_size);
		if (getenv("SQ_BENCH_VERBOSE"))
			fprintf(stderr, "round %d: sendfile %.0f, chunked %.0f, read/write %.0f, "
			        "sysqd %.0f MiB/s\n", i, best_sf, best_sfb, best_rw, v);
		if (v > best_d)
			best_d = v;
		if (!sysq)
			continue;
		v = via_cli(sysq, sock, file, "/dev/null", st.st_size);
		if (v > best_null)
			best_null = v;
		v = via_cli(sysq, sock, file, out, st.st_size);
		if (v > best_file)
			best_file = v;
		v = raw_to_file(fd, st.st_size, out);
		if (v > best_raw_file)
			best_raw_file = v;
		if (getenv("SQ_BENCH_VERBOSE"))
			fprintf(stderr, "round %d: sysq get -o /dev/null %.0f, -o FILE %.0f MiB/s\n", i,
			        best_null, best_file);
	}

	/* RSS: sampled every 10 ms over another connection during one more run */
	struct sampler s = { .c = sysq_connect(sock, err, sizeof(err)) };
	if (!s.c) {
		fprintf(stderr, "file_bench: %s\n", err);
		return 1;
	}
	long long base = rss_of(s.c);
	pthread_t t;
	pthread_create(&t, NULL, sample_main, &s);
	via_sysqd(sock, file, st.st_size);
	s.stop = true;
	pthread_join(t, NULL);
	sysq_close(s.c);

	printf("sendfile_mibs %.0f\n", best_sf);
	printf("sendfile_chunked_mibs %.0f\n", best_sfb);
	printf("readwrite_mibs %.0f\n", best_rw);
	printf("sysqd_mibs %.0f\n", best_d);
	if (sysq) {
		printf("cli_null_mibs %.0f\n", best_null);
		printf("cli_file_mibs %.0f\n", best_file);
		printf("raw_file_mibs %.0f\n", best_raw_file);
	}
	printf("rss_base_bytes %lld\n", base);
	printf("rss_growth_bytes %lld\n", s.max > base ? s.max - base : 0);
	close(fd);
	free(rbuf);
	return 0;
}
