/* SPDX-License-Identifier: ISC */
/*
 * libsysq.c - the blocking client: connect, queue requests, flush, and
 * read whole frames (cut with the same bounded scanner the daemon uses,
 * resumed across reads).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "libsysq.h"
#include "sq_os.h"
#include "sq_paths.h"
#include "sq_proto.h"

struct sysq {
	int fd;
	uint32_t next_id;
	uint32_t last_id;
	struct sq_buf out;
	msgpack_packer pk;
	struct sq_buf in;
	struct sq_frame_scanner scan;  /* where the cut of in's first frame stands */
	struct sq_limits lim;
	char path[108];
	void (*notify)(const struct sysq_reply *, void *);
	void *notify_arg;
};

/* A connected socket on path, or -errno. */
static int connect_path(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

/* The paths to try, in order: path or $SYSQ_SOCKET alone when given; else
 * the system socket when something is there, then the per-user one (the
 * same path for root).  Returns how many, or -ENAMETOOLONG. */
static int candidates(const char *path, const char *out[2], char *def, size_t size)
{
	if (!path)
		path = getenv("SYSQ_SOCKET");
	if (path && *path) {
		out[0] = path;
		return 1;
	}
	int n = 0;
	struct stat st;
	const char *sys = sq_system_socket_path();
	if (lstat(sys, &st) == 0)
		out[n++] = sys;
	if (sq_default_socket_path(def, size) < 0)
		return -ENAMETOOLONG;
	if (n == 0 || strcmp(def, sys) != 0)
		out[n++] = def;
	return n;
}

struct sysq *sysq_connect(const char *path, char *err, size_t errlen)
{
	char def[108];
	const char *paths[2];
	int n = candidates(path, paths, def, sizeof(def));
	if (n < 0) {
		snprintf(err, errlen, "default socket path too long");
		return NULL;
	}
	int fd = -1;
	bool hint = false;
	size_t used = 0;
	for (int i = 0; i < n && fd < 0; i++) {
		fd = connect_path(paths[i]);
		if (fd >= 0) {
			path = paths[i];
			break;
		}
		hint |= fd == -ENOENT || fd == -ECONNREFUSED;
		int w = snprintf(err + used, errlen - used, "%s%s: %s",
		                 i == 0 ? "cannot connect to " : "; nor to ", paths[i],
		                 fd == -ENAMETOOLONG ? "socket path too long" : strerror(-fd));
		if (w > 0 && (size_t)w < errlen - used)
			used += (size_t)w;
	}
	if (fd < 0) {
		if (hint && used < errlen)
			snprintf(err + used, errlen - used, " (is sysqd running?)");
		return NULL;
	}
	struct sysq *c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->fd = fd;
	c->next_id = 1;
	sq_buf_init(&c->out);
	sq_buf_init(&c->in);
	sq_frame_scanner_init(&c->scan);
	sq_packer_init(&c->pk, &c->out);
	c->lim = sq_default_limits;
	c->lim.max_msg = 256u << 20; /* replies can be large (process tables) */
	c->lim.max_elems = 1u << 24;
	c->lim.max_total = 1u << 26;
	c->lim.max_depth = SQ_MAX_DEPTH_LIMIT;
	snprintf(c->path, sizeof(c->path), "%s", path);
	return c;
}

void sysq_close(struct sysq *c)
{
	if (!c)
		return;
	close(c->fd);
	sq_buf_free(&c->out);
	sq_buf_free(&c->in);
	free(c);
}

int sysq_fd(const struct sysq *c)
{
	return c->fd;
}

const char *sysq_socket_path(const struct sysq *c)
{
	return c->path;
}

void sysq_set_notify(struct sysq *c, void (*fn)(const struct sysq_reply *, void *),
                     void *arg)
{
	c->notify = fn;
	c->notify_arg = arg;
}

msgpack_packer *sysq_begin(struct sysq *c, const char *method, uint32_t *msgid)
{
	uint32_t id = c->next_id++;
	sq_pack_request_head(&c->pk, id, method);
	c->last_id = id;
	if (msgid)
		*msgid = id;
	return &c->pk;
}

int sysq_flush(struct sysq *c)
{
	size_t off = 0;
	while (off < c->out.len) {
		ssize_t n = send(c->fd, c->out.data + off, c->out.len - off, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		off += (size_t)n;
	}
	c->out.len = 0;
	return 0;
}

static void copy_str(char *dst, size_t size, const msgpack_object *o)
{
	dst[0] = '\0';
	if (!o || (o->type != MSGPACK_OBJECT_STR && o->type != MSGPACK_OBJECT_BIN))
		return;
	size_t n = o->via.str.size < size - 1 ? o->via.str.size : size - 1;
	if (n) /* an empty str has a NULL pointer */
		memcpy(dst, o->via.str.ptr, n);
	dst[n] = '\0';
}

void sysq_reply_free(struct sysq_reply *r)
{
	if (r->zone)
		msgpack_zone_free(r->zone);
	free(r->frame);
	memset(r, 0, sizeof(*r));
}

/*
 * The decoded objects of a frame take about four times its bytes (an
 * object is 24 bytes, a map pair 48): one chunk that size, not the hundred
 * 4 KiB ones msgpack-c's default would add one by one.  Those were given
 * back to the system at each reply's free and faulted in again at the next
 * (half the bench client's time on net.sockets batches); a large block,
 * once freed, raises glibc's mmap and trim thresholds to its size, so the
 * next reply's comes from the heap as it is.
 */
static size_t zone_chunk(size_t frame_len)
{
	size_t max = 64u << 20;
	return frame_len < (max - 4096) / 4 ? frame_len * 4 + 4096 : max;
}

int sysq_read(struct sysq *c, struct sysq_reply *r)
{
	memset(r, 0, sizeof(*r));
	for (;;) {
		size_t flen;
		/* resumed where the last read stopped: a large reply is cut in
		 * O(size), not scanned again from its start after every recv */
		int rc = sq_frame_scan_resume(&c->scan, c->in.data, c->in.len, &c->lim, &flen);
		if (rc != -EAGAIN)
			sq_frame_scanner_init(&c->scan);
		if (rc == 0) {
			r->frame = malloc(flen ? flen : 1);
			r->zone = msgpack_zone_new(zone_chunk(flen));
			if (!r->frame || !r->zone) {
				sysq_reply_free(r);
				return -ENOMEM;
			}
			memcpy(r->frame, c->in.data, flen);
			r->frame_len = flen;
			sq_buf_consume(&c->in, flen);
			struct sq_msg m;
			const char *why;
			if (sq_msg_parse(r->frame, flen, r->zone, &m, &why) < 0 ||
			    m.type == SQ_MSG_REQUEST) {
				sysq_reply_free(r);
				return -EPROTO;
			}
			r->type = m.type;
			r->msgid = m.msgid;
			if (m.type == SQ_MSG_NOTIFY) {
				size_t n = m.method_len < sizeof(r->method) - 1 ? m.method_len
				                                                : sizeof(r->method) - 1;
				if (n)
					memcpy(r->method, m.method, n);
				r->method[n] = '\0';
				msgpack_object *p = msgpack_zone_malloc(r->zone, sizeof(*p));
				*p = m.params;
				r->result = p;
				return 0;
			}
			msgpack_object *pair = msgpack_zone_malloc(r->zone, 2 * sizeof(*pair));
			pair[0] = m.error;
			pair[1] = m.result;
			r->error = &pair[0];
			r->result = &pair[1];
			if (m.error.type != MSGPACK_OBJECT_NIL) {
				r->is_error = 1;
				copy_str(r->code, sizeof(r->code), sq_map_get(&m.error, "code"));
				copy_str(r->message, sizeof(r->message), sq_map_get(&m.error, "message"));
				if (!r->code[0])
					strcpy(r->code, "EUNKNOWN");
			}
			return 0;
		}
		if (rc != -EAGAIN)
			return rc;
		/* room for as much again as is here (64 KiB at least): a large
		 * reply comes in a few reads */
		if (sq_buf_reserve(&c->in, c->in.len > 65536 ? c->in.len : 65536) < 0)
			return -ENOMEM;
		ssize_t n = recv(c->fd, c->in.data + c->in.len, c->in.cap - c->in.len, 0);
		if (n == 0)
			return -ECONNRESET;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		c->in.len += (size_t)n;
	}
}

int sysq_call_end(struct sysq *c, struct sysq_reply *r)
{
	uint32_t want = c->last_id;
	int rc = sysq_flush(c);
	if (rc < 0)
		return rc;
	for (;;) {
		rc = sysq_read(c, r);
		if (rc < 0)
			return rc;
		if (r->type == SQ_MSG_RESPONSE && r->msgid == want)
			return r->is_error ? SYSQ_REMOTE_ERROR : 0;
		if (r->type == SQ_MSG_NOTIFY && strcmp(r->method, "sys.error") == 0 &&
		    r->result->type == MSGPACK_OBJECT_ARRAY && r->result->via.array.size == 1) {
			/* the daemon is closing this connection and says why */
			const msgpack_object *e = &r->result->via.array.ptr[0];
			r->is_error = 1;
			copy_str(r->code, sizeof(r->code), sq_map_get(e, "code"));
			copy_str(r->message, sizeof(r->message), sq_map_get(e, "message"));
			return SYSQ_REMOTE_ERROR;
		}
		if (c->notify)
			c->notify(r, c->notify_arg);
		sysq_reply_free(r);
	}
}

int sysq_call0(struct sysq *c, const char *method, struct sysq_reply *r)
{
	msgpack_packer *pk = sysq_begin(c, method, NULL);
	msgpack_pack_array(pk, 0);
	return sysq_call_end(c, r);
}
