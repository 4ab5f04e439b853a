/* SPDX-License-Identifier: ISC */
/*
 * sq_proto.h - the msgpack-rpc codec shared by sysqd and its clients.
 *
 * Frames are found with a bounded scanner (sq_frame_scan) before msgpack-c
 * is allowed to allocate anything, so hostile length prefixes and deep
 * nesting cost nothing.  Then: request/response parsing, typed access to
 * named params, and response/error/notification encoding into an sq_buf.
 */
#ifndef SQ_PROTO_H
#define SQ_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#define SQ_PROTOCOL_VERSION 1

/* msgpack-rpc message types */
enum { SQ_MSG_REQUEST = 0, SQ_MSG_RESPONSE = 1, SQ_MSG_NOTIFY = 2 };

/* Decoder limits.  Defaults are documented in PROTOCOL.md. */
struct sq_limits {
	size_t max_msg;        /* bytes in one message */
	unsigned max_depth;    /* nesting of arrays/maps */
	uint32_t max_elems;    /* elements in one array or map */
	uint32_t max_total;    /* objects in one message */
};
#define SQ_DEFAULT_MAX_MSG   (1024u * 1024u)
#define SQ_DEFAULT_MAX_DEPTH 16u
#define SQ_DEFAULT_MAX_ELEMS 65536u
#define SQ_DEFAULT_MAX_TOTAL 262144u
#define SQ_MAX_DEPTH_LIMIT   30u /* msgpack-c's own stack holds 32 */
extern const struct sq_limits sq_default_limits;

/*
 * Scan buf[0..len) for one complete msgpack object.
 * Returns 0 and sets *frame_len when complete; -EAGAIN when more bytes are
 * needed; -E2BIG when the message exceeds a limit (known as soon as a header
 * claims it); -EPROTO on bytes that are not msgpack (0xc1).
 */
int sq_frame_scan(const char *buf, size_t len, const struct sq_limits *lim,
                  size_t *frame_len);

/* Scanner state for a frame that arrives in pieces (resume where it stopped). */
struct sq_frame_scanner {
	size_t pos;                                  /* bytes accepted so far */
	unsigned depth;
	uint64_t total;                              /* objects seen */
	uint64_t remaining[SQ_MAX_DEPTH_LIMIT + 2];  /* children left per level */
};
void sq_frame_scanner_init(struct sq_frame_scanner *st);
/* Like sq_frame_scan over a buffer that starts at the same frame and has
 * only grown since the last call with st; st must be re-initialised after a
 * result other than -EAGAIN. */
int sq_frame_scan_resume(struct sq_frame_scanner *st, const char *buf, size_t len,
                         const struct sq_limits *lim, size_t *frame_len);

/* A growable byte buffer; also a msgpack_packer write target. */
struct sq_buf {
	char *data;
	size_t len;
	size_t cap;
};
void sq_buf_init(struct sq_buf *b);
void sq_buf_free(struct sq_buf *b);
int sq_buf_reserve(struct sq_buf *b, size_t extra);        /* 0 or -ENOMEM */
int sq_buf_append(struct sq_buf *b, const void *p, size_t n);
void sq_buf_consume(struct sq_buf *b, size_t n);           /* drop n from the front */
int sq_buf_write(void *data, const char *buf, size_t len); /* msgpack write cb */
void sq_packer_init(msgpack_packer *pk, struct sq_buf *b);

/* A parsed message.  Pointers refer into the frame bytes and zone. */
struct sq_msg {
	int type;                 /* SQ_MSG_* */
	bool has_msgid;           /* false for notifications */
	uint32_t msgid;
	const char *method;       /* requests and notifications */
	uint32_t method_len;
	msgpack_object params;    /* requests/notifications: the params array */
	msgpack_object error;     /* responses */
	msgpack_object result;    /* responses */
};

/*
 * Parse one frame (as delimited by sq_frame_scan) into *m, allocating decoded
 * objects in zone.  Returns 0, or -EPROTO with a static reason in *why, or
 * -EINVAL when the method name is a bin that is not UTF-8 (a bin that is
 * valid UTF-8 is taken as the str it spells).  When the frame is shaped
 * wrong but carries a usable msgid, m->has_msgid is set so the caller can
 * answer it; m->type is SQ_MSG_NOTIFY for any [2, ...] of 3 or more.
 */
int sq_msg_parse(const char *frame, size_t len, msgpack_zone *zone,
                 struct sq_msg *m, const char **why);

/* --- named params: params is [] or [{name: value, ...}] --------------- */

struct sq_params {
	const msgpack_object_map *map; /* NULL when no params were given */
	char err[160];                 /* set when a getter fails */
};

/* 0 ok, or -EINVAL with p->err naming the offending param. */
int sq_params_open(struct sq_params *p, const msgpack_object *params);
/* Fails with -EINVAL naming any key not in the NULL-terminated allowed list. */
int sq_params_only(struct sq_params *p, const char *const *allowed);
const msgpack_object *sq_param(const struct sq_params *p, const char *name);

/* Getters: 0 when found, 1 when absent and !required (output untouched),
 * -EINVAL when absent but required or of the wrong type/range. */
int sq_param_int(struct sq_params *p, const char *name, bool required,
                 int64_t min, int64_t max, int64_t *out);
int sq_param_bool(struct sq_params *p, const char *name, bool required, bool *out);
/* A str (or bin) copied NUL-terminated into zone; rejects embedded NULs. */
int sq_param_cstr(struct sq_params *p, const char *name, bool required,
                  msgpack_zone *zone, const char **out);
/* Raw bytes: str or bin; ptr and len point into the message (ptr may be
 * NULL when len is 0: msgpack-c gives an empty str no pointer). */
int sq_param_bytes(struct sq_params *p, const char *name, bool required,
                   const char **ptr, size_t *len);
int sq_param_array(struct sq_params *p, const char *name, bool required,
                   const msgpack_object_array **out);

/* --- encoding ---------------------------------------------------------- */

/* Starts [1, msgid, nil, <result follows>]: the caller packs the result. */
void sq_pack_response_head(msgpack_packer *pk, uint32_t msgid);
/* The protocol's error object {code, message}; nil when code is NULL (the
 * "error" of a stream's end notification that ended well). */
void sq_pack_error(msgpack_packer *pk, const char *code, const char *message);
/* A whole error response [1, msgid, {code, message}, nil]. */
void sq_pack_error_response(msgpack_packer *pk, uint32_t msgid,
                            const char *code, const char *message);
/* [0, msgid, method, [params follow...]]: caller packs the params array. */
void sq_pack_request_head(msgpack_packer *pk, uint32_t msgid, const char *method);
/* [2, method, [params follow...]]: caller packs the params array. */
void sq_pack_notify_head(msgpack_packer *pk, const char *method);

/* Bytes from the system (names, paths, command lines): a str when they are
 * valid UTF-8, else a bin, never a broken str. */
void sq_pack_text(msgpack_packer *pk, const char *p, size_t n);

/* Small helpers for maps built by handlers. */
void sq_pack_cstr(msgpack_packer *pk, const char *s);
void sq_pack_kv_str(msgpack_packer *pk, const char *key, const char *val);
void sq_pack_kv_u64(msgpack_packer *pk, const char *key, uint64_t v);
void sq_pack_kv_i64(msgpack_packer *pk, const char *key, int64_t v);
void sq_pack_kv_bool(msgpack_packer *pk, const char *key, bool v);
void sq_pack_kv_double(msgpack_packer *pk, const char *key, double v);

/* A map whose entries are counted as they are packed, for maps with many
 * optional or contributed keys (a hand-kept count goes wrong in merges). */
struct sq_mapbuf {
	struct sq_buf buf;
	msgpack_packer pk;
	uint32_t n;
};
void sq_mapbuf_init(struct sq_mapbuf *m);
/* Pack key; the caller then packs exactly one value into the returned packer. */
msgpack_packer *sq_mapbuf_key(struct sq_mapbuf *m, const char *key);
/* Pack the whole map into out and release m. */
void sq_mapbuf_finish(struct sq_mapbuf *m, msgpack_packer *out);

/* --- reading decoded objects (clients, and the daemon's params) ----------- */

/* Look a key up in a map object; NULL when absent or obj is not a map. */
const msgpack_object *sq_map_get(const msgpack_object *obj, const char *key);
/* True when obj is a str/bin equal to s (false for NULL: a missing key). */
bool sq_obj_streq(const msgpack_object *obj, const char *s);
/* A deep copy of src into zone z (strings, bins and exts copied too), so it
 * outlives the buffer it was decoded from: 0 or -ENOMEM.  It recurses once
 * per level: src must come from a frame the scanner passed, whose depth is
 * at most SQ_MAX_DEPTH_LIMIT. */
int sq_obj_clone(msgpack_zone *z, const msgpack_object *src, msgpack_object *dst);

#endif
