/* SPDX-License-Identifier: ISC */
/*
 * plain_req.h - private to proto/: recognise the commonest frame, a request
 * with no params [0, msgid, "method", []], straight from its bytes.  The frame
 * scanner and the message parser use it to skip their general walks (and
 * msgpack_unpack) for it; any other shape, even an equivalent one, is left to
 * the general code, so behaviour does not change.
 */
#ifndef SQ_PLAIN_REQ_H
#define SQ_PLAIN_REQ_H

#include <stddef.h>
#include <stdint.h>

/* Length of the plain request starting at p (p[0..len) may hold more after
 * it), or 0 when p does not start with a complete one. */
static inline size_t sq_plain_request(const char *buf, size_t len, uint32_t *msgid,
                                      const char **method, uint32_t *method_len)
{
	const unsigned char *p = (const unsigned char *)buf;
	size_t i = 3;
	uint32_t id;

	if (len < 5 || p[0] != 0x94 || p[1] != 0x00)
		return 0;
	if (p[2] <= 0x7f) {
		id = p[2];
	} else if (p[2] == 0xcc) {
		id = p[3];
		i = 4;
	} else if (p[2] == 0xcd) {
		if (len < 7)
			return 0;
		id = (uint32_t)p[3] << 8 | p[4];
		i = 5;
	} else if (p[2] == 0xce) {
		if (len < 9)
			return 0;
		id = (uint32_t)p[3] << 24 | (uint32_t)p[4] << 16 | (uint32_t)p[5] << 8 | p[6];
		i = 7;
	} else {
		return 0;
	}
	if (i >= len)
		return 0;
	size_t n;
	if ((p[i] & 0xe0) == 0xa0) {
		n = p[i] & 0x1f;
		i += 1;
	} else if (p[i] == 0xd9 && i + 1 < len) {
		n = p[i + 1];
		i += 2;
	} else {
		return 0;
	}
	if (n >= len - i || p[i + n] != 0x90) /* the method, then [] */
		return 0;
	*msgid = id;
	*method = buf + i;
	*method_len = (uint32_t)n;
	return i + n + 1;
}

#endif
