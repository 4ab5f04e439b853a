/* SPDX-License-Identifier: ISC */
/*
 * sysctl_darwin.c - kernel parameters on macOS: sysctl(3) by name, typed
 * by the kernel's own description of each OID (the undocumented but stable
 * {0,3} name-to-OID, {0,4} format and {0,2} next-OID nodes that sysctl(8)
 * and Go's x/sys/unix use): integers of every width as integers (several
 * as an array), strings as text, anything else as opaque bytes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysctl.h>
#include <sys/types.h>

#include "sq_sysctl.h"

#define MIB_MAX CTL_MAXNAME

static int name_to_mib(const char *name, int *mib, size_t *n)
{
	int q[2] = { 0, 3 };
	size_t len = MIB_MAX * sizeof(int);
	if (sysctl(q, 2, mib, &len, (void *)name, strlen(name)) < 0)
		return -errno;
	*n = len / sizeof(int);
	return 0;
}

/* The OID's type (CTLTYPE_*, in the low bits) and whether its format says
 * unsigned ("IU", "LU", "QU"). */
static int mib_kind(const int *mib, size_t n, unsigned *kind, bool *is_unsigned)
{
	int q[2 + MIB_MAX] = { 0, 4 };
	unsigned char buf[256];
	size_t len = sizeof(buf);
	memcpy(q + 2, mib, n * sizeof(int));
	if (sysctl(q, (u_int)(n + 2), buf, &len, NULL, 0) < 0)
		return -errno;
	if (len < sizeof(unsigned))
		return -EINVAL;
	memcpy(kind, buf, sizeof(unsigned));
	buf[len < sizeof(buf) ? len : sizeof(buf) - 1] = '\0';
	*is_unsigned = strchr((const char *)buf + sizeof(unsigned), 'U') != NULL;
	return 0;
}

/* the width of one integer of an OID's type, 0 for a non-integer */
static size_t int_width(unsigned type, bool *is_signed)
{
	*is_signed = type == CTLTYPE_INT || type == CTLTYPE_QUAD;
	switch (type) {
	case CTLTYPE_INT: return sizeof(int);
#ifdef CTLTYPE_UINT
	case CTLTYPE_UINT: return sizeof(unsigned);
#endif
#ifdef CTLTYPE_LONG
	case CTLTYPE_LONG: *is_signed = true; return sizeof(long);
#endif
#ifdef CTLTYPE_ULONG
	case CTLTYPE_ULONG: return sizeof(unsigned long);
#endif
	case CTLTYPE_QUAD: return sizeof(int64_t);
	default: return 0;
	}
}

static int type_value(unsigned type, bool is_unsigned, char *data, size_t len,
                      struct sq_sysctl_value *v)
{
	bool sgn;
	size_t w = int_width(type, &sgn);
	sgn = sgn && !is_unsigned;
	memset(v, 0, sizeof(*v));
	v->data = data;
	v->len = len;
	if (type == CTLTYPE_STRING) {
		v->kind = SQ_SYSCTL_TEXT;
		while (v->len && data[v->len - 1] == '\0')
			v->len--;
		return 0;
	}
	if (!w || len == 0 || len % w) {
		v->kind = SQ_SYSCTL_OPAQUE;
		return 0;
	}
	v->n = len / w;
	if (!(v->nums = calloc(v->n, sizeof(*v->nums))))
		return -ENOMEM;
	for (size_t i = 0; i < v->n; i++) {
		int64_t s = 0;
		uint64_t u = 0;
		if (w == 4) {
			uint32_t x;
			memcpy(&x, data + i * w, 4);
			u = x;
			s = (int32_t)x;
		} else {
			memcpy(&u, data + i * w, 8);
			s = (int64_t)u;
		}
		v->nums[i].neg = sgn && s < 0;
		v->nums[i].mag = v->nums[i].neg ? (uint64_t)0 - (uint64_t)s : u;
	}
	v->kind = SQ_SYSCTL_NUMS;
	return 0;
}

static int read_mib(const int *mib, size_t n, struct sq_sysctl_value *v)
{
	unsigned kind;
	bool uns;
	int rc = mib_kind(mib, n, &kind, &uns);
	if (rc < 0)
		return rc;
	if ((kind & CTLTYPE) == CTLTYPE_NODE)
		return -EISDIR;
	size_t len = 0;
	if (sysctl((int *)mib, (u_int)n, NULL, &len, NULL, 0) < 0)
		return -errno;
	if (len > SQ_SYSCTL_VALUE_MAX)
		return -E2BIG;
	char *buf = malloc(len + 1);
	if (!buf)
		return -ENOMEM;
	if (sysctl((int *)mib, (u_int)n, buf, &len, NULL, 0) < 0) {
		int e = errno;
		free(buf);
		return -e;
	}
	buf[len] = '\0';
	rc = type_value(kind & CTLTYPE, uns, buf, len, v);
	if (rc < 0)
		free(buf);
	return rc;
}

int sq_sysctl_read(const char *canon, struct sq_sysctl_value *v)
{
	int mib[MIB_MAX];
	size_t n;
	memset(v, 0, sizeof(*v));
	int rc = name_to_mib(canon, mib, &n);
	return rc < 0 ? rc : read_mib(mib, n, v);
}

static int mib_name(const int *mib, size_t n, char *name, size_t size)
{
	int q[2 + MIB_MAX] = { 0, 1 };
	size_t len = size;
	memcpy(q + 2, mib, n * sizeof(int));
	if (sysctl(q, (u_int)(n + 2), name, &len, NULL, 0) < 0)
		return -errno;
	name[size - 1] = '\0';
	return 0;
}

int sq_sysctl_walk(const char *prefix, sq_sysctl_cb cb, void *arg)
{
	int mib[MIB_MAX], start[MIB_MAX];
	size_t n = 0, nstart = 0;
	struct sq_sysctl_value v;
	if (*prefix) {
		int rc = name_to_mib(prefix, start, &nstart);
		if (rc < 0)
			return rc;
		rc = read_mib(start, nstart, &v);
		if (rc != -EISDIR) {
			rc = rc == 0 ? cb(prefix, &v, 0, arg) : cb(prefix, NULL, rc, arg);
			sq_sysctl_value_free(&v);
			return rc;
		}
	}
	memcpy(mib, start, nstart * sizeof(int));
	n = nstart;
	if (n == 0) { /* from the first OID there is */
		mib[0] = CTL_KERN;
		n = 1;
	}
	for (int first = 1;; first = 0) {
		int q[2 + MIB_MAX] = { 0, 2 }, next[MIB_MAX];
		size_t len = sizeof(next);
		if (!(first && nstart == 0)) {
			memcpy(q + 2, mib, n * sizeof(int));
			if (sysctl(q, (u_int)(n + 2), next, &len, NULL, 0) < 0)
				return errno == ENOENT ? 0 : -errno;
			n = len / sizeof(int);
			memcpy(mib, next, len);
		}
		if (n < nstart || memcmp(mib, start, nstart * sizeof(int)) != 0)
			return 0; /* past the subtree */
		char name[SQ_SYSCTL_NAME_MAX];
		if (mib_name(mib, n, name, sizeof(name)) < 0)
			continue;
		int rc = read_mib(mib, n, &v);
		if (rc == -EISDIR)
			continue;
		rc = rc == 0 ? cb(name, &v, 0, arg) : cb(name, NULL, rc, arg);
		sq_sysctl_value_free(&v);
		if (rc)
			return rc;
	}
}

/* The text as the OID's type: integers (one or several, separated by white
 * space) or the string itself. */
int sq_sysctl_write(const char *canon, const char *text, size_t len)
{
	int mib[MIB_MAX];
	size_t n;
	unsigned kind;
	bool uns;
	int rc = name_to_mib(canon, mib, &n);
	if (rc == 0)
		rc = mib_kind(mib, n, &kind, &uns);
	if (rc < 0)
		return rc;
	kind &= CTLTYPE;
	if (kind == CTLTYPE_NODE)
		return -EISDIR;
	if (kind == CTLTYPE_STRING)
		return sysctl(mib, (u_int)n, NULL, NULL, (void *)text, len) < 0 ? -errno : 0;
	bool sgn;
	size_t w = int_width(kind, &sgn);
	sgn = sgn && !uns;
	if (!w)
		return -EINVAL; /* opaque: nothing a text can say */
	char *copy = malloc(len + 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, text, len);
	copy[len] = '\0';
	struct sq_sysctl_value v;
	rc = sq_sysctl_type_text(&v, copy, len); /* takes copy */
	if (rc < 0) {
		free(copy);
		return rc;
	}
	unsigned char *out = v.kind == SQ_SYSCTL_NUMS ? calloc(v.n, w) : NULL;
	rc = -EINVAL;
	if (out) {
		for (size_t i = 0; i < v.n; i++) {
			const struct sq_sysctl_num *x = &v.nums[i];
			uint64_t u = x->neg ? (uint64_t)0 - x->mag : x->mag;
			/* what does not fit the OID's integer is refused, not cut */
			if ((x->neg && !sgn) || (w == 4 && (x->neg ? x->mag > 0x80000000u
			                                    : x->mag > (sgn ? 0x7fffffffu : 0xffffffffu))) ||
			    (w == 8 && sgn && !x->neg && x->mag > (uint64_t)INT64_MAX)) {
				free(out);
				out = NULL;
				break;
			}
			if (w == 4) {
				uint32_t u32 = (uint32_t)u;
				memcpy(out + i * w, &u32, 4);
			} else {
				memcpy(out + i * w, &u, 8);
			}
		}
	}
	if (out) {
		rc = sysctl(mib, (u_int)n, NULL, NULL, out, v.n * w) < 0 ? -errno : 0;
		free(out);
	}
	sq_sysctl_value_free(&v);
	return rc;
}
