/* SPDX-License-Identifier: ISC */
/*
 * xattr_out.h - how sysq xattr shows attribute values: as text a terminal
 * shows safely, as hex, as a hex dump, or in JSON as text or base64 saying
 * which (xattr_out.c).
 */
#ifndef SQ_XATTR_OUT_H
#define SQ_XATTR_OUT_H

#include <stddef.h>
#include <stdio.h>

/* Bytes as text a terminal shows safely: printable UTF-8 as is, \ as \\,
 * \t \n \r as such, everything else \xNN (or \u{XXXX}). */
void print_safe(FILE *f, const char *p, size_t n);
/* -px: hex pairs, 16 a line (as macOS's xattr -px). */
void print_hex(FILE *f, const char *p, size_t n);
/* -lx: offset, hex, and the printable bytes (as hexdump -C). */
void print_dump(FILE *f, const char *p, size_t n);
/* JSON members for a value: "value": "text", "encoding": "utf-8" when the
 * bytes are valid UTF-8, else "value": "<base64>", "encoding": "base64". */
void print_json_value(FILE *f, const char *p, size_t n);

#endif
