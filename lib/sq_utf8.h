/*
 * sq_utf8.h - is this byte string valid UTF-8 (RFC 3629)?  Shared by the
 * daemon (str or bin on the wire) and the clients (printing, JSON).
 */
#ifndef SQ_UTF8_H
#define SQ_UTF8_H

#include <stddef.h>

/* 1 when [p, p+n) is valid UTF-8 (any code point but surrogates). */
int sq_utf8_valid(const char *p, size_t n);

#endif
