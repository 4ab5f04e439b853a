/* SPDX-License-Identifier: ISC */
/*
 * libsysq.h - a small blocking C client for sysqd.
 *
 *   struct sysq *c = sysq_connect(NULL, err, sizeof(err));   // default socket
 *   struct sysq_reply r;
 *   msgpack_packer *pk = sysq_begin(c, "proc.get", NULL);
 *   msgpack_pack_array(pk, 1); msgpack_pack_map(pk, 1); ... pack params ...
 *   if (sysq_call_end(c, &r) == 0) use(r.result);
 *   sysq_reply_free(&r);
 *
 * Pipelining: call sysq_begin/pack params several times, sysq_flush once,
 * then sysq_read replies (they may come back in any order; match msgid).
 * Every function returns 0 or a negative errno; sysq_call* return
 * SYSQ_REMOTE_ERROR (> 0) when the daemon answered with an error.
 */
#ifndef LIBSYSQ_H
#define LIBSYSQ_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#define SYSQ_REMOTE_ERROR 1

/* What the shared library exports: it is built with -fvisibility=hidden
 * (and, with GNU ld, client/libsysq.map), so these functions alone. */
#if defined(__GNUC__) || defined(__clang__)
#define SYSQ_API __attribute__((visibility("default")))
#else
#define SYSQ_API
#endif

struct sysq;

struct sysq_reply {
	int type;                      /* 1 response, 2 notification */
	uint32_t msgid;                /* responses */
	char method[64];               /* notifications */
	int is_error;                  /* responses: error was not nil */
	char code[32];                 /* "EACCES", ... when is_error */
	char message[512];
	const msgpack_object *result;  /* response result, or notification params */
	const msgpack_object *error;
	msgpack_zone *zone;            /* owns result/error */
	char *frame;                   /* the raw bytes, owned */
	size_t frame_len;
};

/* path NULL: $SYSQ_SOCKET when set, else the system socket when it exists,
 * then the per-user one (sq_default_socket_path); on failure err names
 * every path tried and why each failed. */
SYSQ_API struct sysq *sysq_connect(const char *path, char *err, size_t errlen);
SYSQ_API void sysq_close(struct sysq *c);
SYSQ_API int sysq_fd(const struct sysq *c);
SYSQ_API const char *sysq_socket_path(const struct sysq *c);

/* Start a request; pack exactly one params array into the returned packer. */
SYSQ_API msgpack_packer *sysq_begin(struct sysq *c, const char *method, uint32_t *msgid);
/* Send everything begun so far. */
SYSQ_API int sysq_flush(struct sysq *c);
/* The next message from the daemon (response or notification). */
SYSQ_API int sysq_read(struct sysq *c, struct sysq_reply *r);
SYSQ_API void sysq_reply_free(struct sysq_reply *r);

/* Flush, then read until the reply to the last sysq_begin arrives;
 * notifications and other replies meanwhile go to the notify callback. */
SYSQ_API int sysq_call_end(struct sysq *c, struct sysq_reply *r);
/* A call with no params. */
SYSQ_API int sysq_call0(struct sysq *c, const char *method, struct sysq_reply *r);
SYSQ_API void sysq_set_notify(struct sysq *c, void (*fn)(const struct sysq_reply *, void *),
                              void *arg);

#endif
