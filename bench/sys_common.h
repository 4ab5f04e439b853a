/* SPDX-License-Identifier: ISC */
/*
 * sys_common.h - small helpers shared by the sys_* bench programs: clocks,
 * blocking socket I/O, and the exact wire bytes of a sys.ping request and its
 * reply, encoded with the same proto/ code the daemon and libsysq use.
 * Header-only (static inline) because each bench C file is its own program.
 */
#ifndef SQ_BENCH_SYS_COMMON_H
#define SQ_BENCH_SYS_COMMON_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "sq_proto.h"

static inline uint64_t bn_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void bn_die(const char *what)
{
	fprintf(stderr, "bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static inline int bn_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static inline int bn_write_full(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t w = write(fd, c, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

static inline int bn_read_full(int fd, void *p, size_t n)
{
	char *c = p;
	while (n) {
		ssize_t r = read(fd, c, n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0) {
			errno = ECONNRESET;
			return -1;
		}
		c += r;
		n -= (size_t)r;
	}
	return 0;
}

/* The bytes of [0, msgid, method, []] and of the reply [1, msgid, nil, "pong"].
 * msgid < 128 keeps both a fixed size (positive fixint). */
struct bn_ping {
	char req[64];
	size_t req_len;
	char rep[64];
	size_t rep_len;
};

static inline void bn_ping_init(struct bn_ping *p, const char *method, uint32_t msgid)
{
	struct sq_buf b;
	msgpack_packer pk;

	sq_buf_init(&b);
	sq_packer_init(&pk, &b);
	sq_pack_request_head(&pk, msgid, method);
	msgpack_pack_array(&pk, 0);
	if (b.len > sizeof(p->req))
		abort();
	memcpy(p->req, b.data, b.len);
	p->req_len = b.len;
	b.len = 0;
	sq_pack_response_head(&pk, msgid);
	msgpack_pack_str_with_body(&pk, "pong", 4);
	memcpy(p->rep, b.data, b.len);
	p->rep_len = b.len;
	sq_buf_free(&b);
}

/* Raise the soft descriptor limit to at least want (up to the hard limit). */
static inline int bn_raise_nofile(rlim_t want)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -1;
	if (rl.rlim_cur >= want)
		return 0;
	rl.rlim_cur = want;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want) {
		rl.rlim_max = want; /* root may raise the hard limit too */
		if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
			return 0;
		getrlimit(RLIMIT_NOFILE, &rl);
		rl.rlim_cur = rl.rlim_max;
	}
	return setrlimit(RLIMIT_NOFILE, &rl);
}

static inline int bn_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* The q-quantile (0..1) of v[0..n), which it sorts. */
static inline double bn_quantile_us(uint64_t *v, size_t n, double q)
{
	qsort(v, n, sizeof(*v), bn_cmp_u64);
	size_t i = (size_t)(q * (double)(n - 1) + 0.5);
	return (double)v[i] / 1000.0;
}

#endif
