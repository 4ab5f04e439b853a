/* SPDX-License-Identifier: ISC */
/*
 * xattr_out.c - sysq xattr's ways of showing a value's bytes: safe text
 * (control and invisible characters escaped), hex pairs, a hex dump, and
 * JSON text or base64.
 */
#include <stdbool.h>
#include <stdio.h>

#include <msgpack.h>

#include "json.h"
#include "sq_utf8.h"
#include "xattr_out.h"

/* Code points never printed as themselves: C0, DEL, C1, and the invisible
 * or direction-changing ones that could disguise what is shown. */
static bool unsafe_cp(unsigned cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || (cp >= 0x200b && cp <= 0x200f) ||
	       (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) ||
	       cp == 0xfeff;
}

/* Bytes as text a terminal shows safely: printable UTF-8 as is, \ as \\,
 * \t \n \r as such, everything else \xNN (or \u{XXXX}). */
void print_safe(FILE *f, const char *p, size_t n)
{
	const unsigned char *s = (const unsigned char *)p;
	for (size_t i = 0; i < n;) {
		unsigned cp = 0;
		size_t len = sq_utf8_seq(p + i, n - i, &cp);
		if (len == 0) {
			fprintf(f, "\\x%02x", s[i++]);
			continue;
		}
		if (cp == '\\')
			fputs("\\\\", f);
		else if (cp == '\n')
			fputs("\\n", f);
		else if (cp == '\t')
			fputs("\\t", f);
		else if (cp == '\r')
			fputs("\\r", f);
		else if (cp < 0x80 && unsafe_cp(cp))
			fprintf(f, "\\x%02x", cp);
		else if (unsafe_cp(cp))
			fprintf(f, "\\u{%04x}", cp);
		else
			fwrite(s + i, 1, len, f);
		i += len;
	}
}

/* -px: hex pairs, 16 a line (as macOS's xattr -px). */
void print_hex(FILE *f, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%02X%s", (unsigned char)p[i], i % 16 == 15 || i + 1 == n ? "\n" : " ");
}

/* -lx: offset, hex, and the printable bytes (as hexdump -C). */
void print_dump(FILE *f, const char *p, size_t n)
{
	for (size_t off = 0; off < n; off += 16) {
		fprintf(f, "%08zx ", off);
		for (size_t i = off; i < off + 16; i++) {
			if (i % 8 == 0)
				fputc(' ', f);
			if (i < n)
				fprintf(f, "%02x ", (unsigned char)p[i]);
			else
				fputs("   ", f);
		}
		fputs(" |", f);
		for (size_t i = off; i < off + 16 && i < n; i++) {
			unsigned char c = (unsigned char)p[i];
			fputc(c >= 0x20 && c < 0x7f ? c : '.', f);
		}
		fputs("|\n", f);
	}
}

static void print_base64(FILE *f, const unsigned char *p, size_t n)
{
	static const char abc[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) |
		             (i + 2 < n ? p[i + 2] : 0);
		fputc(abc[v >> 18 & 63], f);
		fputc(abc[v >> 12 & 63], f);
		fputc(i + 1 < n ? abc[v >> 6 & 63] : '=', f);
		fputc(i + 2 < n ? abc[v & 63] : '=', f);
	}
}

void print_json_value(FILE *f, const char *p, size_t n)
{
	if (sq_utf8_valid(p, n)) {
		msgpack_object s = { .type = MSGPACK_OBJECT_STR };
		s.via.str.ptr = p;
		s.via.str.size = (uint32_t)n;
		fputs("\"value\": ", f);
		sq_json_print(f, &s, -1);
		fputs(", \"encoding\": \"utf-8\"", f);
		return;
	}
	fputs("\"value\": \"", f);
	print_base64(f, (const unsigned char *)p, n);
	fputs("\", \"encoding\": \"base64\"", f);
}
