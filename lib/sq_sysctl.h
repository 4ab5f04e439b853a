/* SPDX-License-Identifier: ISC */
/*
 * sq_sysctl.h - kernel parameters by name: read one, walk a subtree, write
 * one.  Linux reads and writes /proc/sys (every path through
 * lib/sq_callerpath.h, so with the calling thread's identity and never
 * through a magic link); macOS uses sysctl(3) by name, with the type the
 * kernel gives each OID.  Names, their check and the typing of Linux's text
 * values are portable (sysctl.c).
 */
#ifndef SQ_SYSCTL_H
#define SQ_SYSCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A name: dotted components ("net.ipv4.ip_forward").  Linux also takes the
 * slash form ("net/ipv4/conf/eth0.100/rp_filter"); a dot inside a component
 * is written '/' in the dotted form, as sysctl(8) does. */
#define SQ_SYSCTL_NAME_MAX 256
/* The most bytes of one value read. */
#define SQ_SYSCTL_VALUE_MAX (64u * 1024u)

struct sq_sysctl_num {
	bool neg;               /* -mag */
	uint64_t mag;
};

enum sq_sysctl_kind {
	SQ_SYSCTL_NUMS,         /* integers: one (a scalar) or several (an array) */
	SQ_SYSCTL_TEXT,         /* text: str when UTF-8, else bin */
	SQ_SYSCTL_OPAQUE,       /* bytes the kernel does not type (macOS structs): bin */
};

struct sq_sysctl_value {
	enum sq_sysctl_kind kind;
	size_t n;               /* NUMS: how many */
	struct sq_sysctl_num *nums;
	char *data;             /* the bytes read (Linux: without the last newline) */
	size_t len;
};

/* The canonical dotted name of name (len bytes) into out (at least
 * SQ_SYSCTL_NAME_MAX bytes): 0, or -EINVAL when it is no sysctl name
 * (empty, over-long, white space or control bytes, an empty, "." or ".."
 * component). */
int sq_sysctl_canon(const char *name, size_t len, char *out, size_t size);

/* Read one parameter, as the calling thread: 0, or -ENOENT (no such
 * parameter), -EACCES, -EISDIR (a subtree: use sq_sysctl_walk), -E2BIG
 * (over SQ_SYSCTL_VALUE_MAX), or the kernel's errno.  Free v with
 * sq_sysctl_value_free. */
int sq_sysctl_read(const char *canon, struct sq_sysctl_value *v);
void sq_sysctl_value_free(struct sq_sysctl_value *v);

/* Every parameter under prefix (a canonical name; "" for all), in name
 * order, or prefix itself when it is a parameter: cb gets each name and its
 * value, or a negative errno when it could not be read (then v is NULL).  A
 * non-zero return from cb stops the walk and is returned.  0, -ENOENT when
 * prefix names nothing, or a negative errno. */
typedef int (*sq_sysctl_cb)(const char *canon, const struct sq_sysctl_value *v, int err,
                            void *arg);
int sq_sysctl_walk(const char *prefix, sq_sysctl_cb cb, void *arg);

/* Write one parameter: the value as text (Linux writes it as it is; macOS
 * converts it to the OID's type: one or more integers, or a string).  0, or
 * the kernel's errno (-EINVAL, -ERANGE, -EPERM ...). */
int sq_sysctl_write(const char *canon, const char *text, size_t len);

/* --- portable (sysctl.c) --- */
/* Linux's typing of a value's text: integers when every white-space
 * separated word is one (in range of int64 or uint64), else text.  Fills v
 * from data (taken over: v->data = data).  0 or -ENOMEM. */
int sq_sysctl_type_text(struct sq_sysctl_value *v, char *data, size_t len);
/* The value for a log line: numbers as text, text with bytes outside
 * printable ASCII as \xNN (sq_text_show), opaque as "<N bytes>"; cut to fit
 * size (size at least 8). */
void sq_sysctl_format(const struct sq_sysctl_value *v, char *buf, size_t size);

#endif
