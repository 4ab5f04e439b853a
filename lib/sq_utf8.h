/* SPDX-License-Identifier: ISC */
/*
 * sq_utf8.h - is this byte string valid UTF-8 (RFC 3629)?  And a printable,
 * bounded copy of one that may not be, for messages and the log.  Shared by
 * the daemon (str or bin on the wire) and the clients (printing, JSON).
 */
#ifndef SQ_UTF8_H
#define SQ_UTF8_H

#include <stddef.h>

/* 1 when [p, p+n) is valid UTF-8 (any code point but surrogates). */
int sq_utf8_valid(const char *p, size_t n);
/* Length of the valid UTF-8 sequence at p[0, n) (1 for ASCII), its code
 * point in *code_point (unless NULL); 0 when none starts there. */
size_t sq_utf8_seq(const char *p, size_t n, unsigned *code_point);

/* How sq_text_show writes what it copies (flags, or 0). */
#define SQ_SHOW_HEX  1u /* a byte it does not keep as \xNN, and ' and \ too
                           (default: a byte it does not keep as '?') */
#define SQ_SHOW_UTF8 2u /* keep valid UTF-8 sequences too (default: only
                           printable ASCII) */
#define SQ_SHOW_TAIL 4u /* too long: keep the end, after "...", where a path's
                           file name is (default: the start, then "...") */

/*
 * A printable, bounded copy of the untrusted bytes s[0, len) for an error
 * message or a log line: printable ASCII kept (and valid UTF-8, with
 * SQ_SHOW_UTF8), any other byte as '?' (or \xNN).  Cut between characters
 * to fit dst[size] with its NUL (size at least 8), "..." marking the cut.
 * The copy is valid UTF-8 and one line, whatever s holds.  Returns dst.
 */
const char *sq_text_show(char *dst, size_t size, const char *s, size_t len, unsigned how);

#endif
