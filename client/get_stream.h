/* SPDX-License-Identifier: ISC */
/*
 * get_stream.h - the reading side of sysq get: the connection read by hand,
 * message by message, so that a file.data payload can go from the socket to
 * the output (splice(2)) without passing through a whole-message buffer.
 */
#ifndef SQ_GET_STREAM_H
#define SQ_GET_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "sq_proto.h"

struct gstream {
	int fd;                  /* the connection (blocking) */
	uint32_t id;             /* the file.read's msgid */
	struct sq_buf in;        /* read from the socket, from in_pos on not used yet */
	size_t in_pos;
	struct sq_buf frame;     /* the last whole message (m points into it) */
	msgpack_zone zone;
	struct sq_limits lim;
};

enum { GS_MESSAGE = 1, GS_DATA = 2 };

void gs_init(struct gstream *s, int fd, uint32_t id);
void gs_free(struct gstream *s);

/*
 * The next message.  GS_DATA: the header of a file.data for s->id was
 * taken; its bin payload (*payload bytes) follows, first in the buffer
 * (gs_buffered) and then on the socket.  GS_MESSAGE: any other message,
 * whole, parsed into m (valid until the next call).  Or -errno:
 * -ECONNRESET when the daemon closed the connection, -EPROTO/-E2BIG on
 * bytes that are not a message.
 */
int gs_next(struct gstream *s, struct sq_msg *m, uint64_t *payload);

/* Up to max payload bytes already read from the socket: their address and
 * count (0: read the rest from s->fd); gs_consume(s, n) when used. */
size_t gs_buffered(const struct gstream *s, uint64_t max, const char **p);
void gs_consume(struct gstream *s, size_t n);

/*
 * A file.data header for msgid id at buf[0..len): 1 with the header's
 * length and the bin's (*hlen, *blen), 0 when buf starts with something
 * else (or a header this reader does not cut: the bin not last, a nested
 * value before it), -EAGAIN when more bytes are needed to tell.
 */
int gs_data_head(const unsigned char *buf, size_t len, uint32_t id, size_t *hlen,
                 uint64_t *blen);

#endif
