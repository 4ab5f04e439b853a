/* SPDX-License-Identifier: ISC */
/*
 * utf8.c - the one UTF-8 validator and decoder (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF).  Bytes from the system go on the wire
 * as a msgpack str only when this says yes (sq_pack_text), else as bin.
 * And the one printable copy of untrusted bytes for messages and the log
 * (sq_text_show).
 */
#include <stdint.h>
#include <string.h>

#include "sq_utf8.h"

size_t sq_utf8_seq(const char *p, size_t n, unsigned *code_point)
{
	const unsigned char *s = (const unsigned char *)p;
	unsigned c = s[0];
	if (c < 0x80) {
		if (code_point)
			*code_point = c;
		return 1;
	}
	/* 0xc0, 0xc1 and 0xf5..0xff never start a sequence */
	unsigned len = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 && c < 0xf0 ? 3
	             : c >= 0xc2 && c < 0xe0 ? 2 : 0;
	if (!len || len > n)
		return 0;
	uint32_t cp = c & (0x3fu >> (len - 1));
	for (unsigned k = 1; k < len; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[k] & 0x3fu);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	if (code_point)
		*code_point = cp;
	return len;
}

int sq_utf8_valid(const char *p, size_t n)
{
	const unsigned char *s = (const unsigned char *)p;
	size_t i = 0;
	while (i < n) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		size_t len = sq_utf8_seq(p + i, n - i, NULL);
		if (!len)
			return 0;
		i += len;
	}
	return 1;
}

/* How the character at s[0, n) is shown: *in bytes of s, written as *out
 * bytes, kept as they are (*keep) or replaced. */
static void show_one(const unsigned char *s, size_t n, unsigned how, size_t *in,
                     size_t *out, int *keep)
{
	size_t hex = how & SQ_SHOW_HEX ? 4 : 1;
	unsigned c = s[0];
	*in = 1;
	if (c >= 0x20 && c < 0x7f) {
		*keep = !(how & SQ_SHOW_HEX) || (c != '\'' && c != '\\');
		*out = *keep ? 1 : hex;
	} else if (c >= 0x80 && (how & SQ_SHOW_UTF8) &&
	           (*in = sq_utf8_seq((const char *)s, n, NULL)) > 0) {
		*keep = 1;
		*out = *in;
	} else {
		*in = 1;
		*keep = 0;
		*out = hex;
	}
}

const char *sq_text_show(char *dst, size_t size, const char *str, size_t len, unsigned how)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;
	size_t in, out, total = 0, i, n = 0, limit = size - 1;
	int keep;
	for (i = 0; i < len; i += in) {
		show_one(s + i, len - i, how, &in, &out, &keep);
		total += out;
	}
	int cut = total > limit;
	i = 0;
	if (cut && (how & SQ_SHOW_TAIL)) {
		/* "..." and the longest end that fits after it */
		memcpy(dst, "...", 3);
		n = 3;
		for (; total > limit - 3; i += in) {
			show_one(s + i, len - i, how, &in, &out, &keep);
			total -= out;
		}
	} else if (cut) {
		limit -= 3; /* room for the "..." after */
	}
	for (; i < len; i += in) {
		show_one(s + i, len - i, how, &in, &out, &keep);
		if (n + out > limit)
			break;
		if (keep) {
			memcpy(dst + n, s + i, in);
		} else if (out == 4) {
			dst[n] = '\\';
			dst[n + 1] = 'x';
			dst[n + 2] = digits[s[i] >> 4];
			dst[n + 3] = digits[s[i] & 0xf];
		} else {
			dst[n] = '?';
		}
		n += out;
	}
	if (cut && !(how & SQ_SHOW_TAIL)) {
		memcpy(dst + n, "...", 3);
		n += 3;
	}
	dst[n] = '\0';
	return dst;
}
