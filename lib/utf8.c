/*
 * utf8.c - the one UTF-8 validator (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF).  Bytes from the system go on the wire
 * as a msgpack str only when this says yes (sq_pack_text), else as bin.
 */
#include <stdint.h>

#include "sq_utf8.h"

int sq_utf8_valid(const char *p, size_t n)
{
	const unsigned char *s = (const unsigned char *)p;
	size_t i = 0;
	while (i < n) {
		unsigned c = s[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		/* 0xc0, 0xc1 and 0xf5..0xff never start a sequence */
		unsigned len = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 && c < 0xf0 ? 3
		             : c >= 0xc2 && c < 0xe0 ? 2 : 0;
		if (!len || i + len > n)
			return 0;
		uint32_t cp = c & (0x3fu >> (len - 1));
		for (unsigned k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3fu);
		}
		if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
			return 0;
		i += len;
	}
	return 1;
}

