/* SPDX-License-Identifier: ISC */
/*
 * m_xattr.c - xattr.list/get/set/remove: pool methods with access
 * "as-caller" (they run as jobs of the worker engine, as the peer, so the
 * kernel decides; lib/sq_xattr.h works on a descriptor opened once).
 * Values travel as bin; names as str, or bin when they are not UTF-8.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "handlers.h"
#include "request.h"
#include "sq_callerpath.h"
#include "sq_utf8.h"
#include "sq_xattr.h"

/* The largest value or name list sent back: the protocol's default message
 * limit, so what xattr.get returns can be given back to xattr.set.  Linux
 * values stop at 64 KiB; macOS resource forks can be bigger.  A reply is
 * also held to the one rule for results (sq_req_reply_max, request.h). */
#define XATTR_VALUE_MAX (1024u * 1024u)

struct xargs {
	const char *path;
	const char *name;
	int flags;
};

/* A path or name as message text: \xNN for what is not printable ASCII,
 * and a long one keeps its end, where a path's file name is. */
static const char *text_of(char *dst, size_t size, const char *s)
{
	return sq_text_show(dst, size, s, strlen(s), SQ_SHOW_HEX | SQ_SHOW_TAIL);
}

/* path (absolute), name (when want_name) and nofollow; their types were
 * checked with the params (methods.c). */
static int get_args(struct sq_req *r, bool want_name, struct xargs *a)
{
	bool nofollow = sq_params_bool(&r->params, r->m->params, "nofollow");
	int rc = sq_param_cstr(&r->params, "path", true, r->zone, &a->path);
	if (rc >= 0 && want_name)
		rc = sq_param_cstr(&r->params, "name", true, r->zone, &a->name);
	if (rc < 0)
		return sq_req_param_error(r, rc);
	if (a->path[0] != '/')
		return sq_req_fail(r, -EINVAL, "param 'path' must be an absolute path");
	if (want_name) {
		size_t n = strlen(a->name);
		if (n == 0 || n > SQ_XATTR_NAME_MAX)
			return sq_req_fail(r, -EINVAL, "param 'name' must be 1 to %d bytes",
			                   SQ_XATTR_NAME_MAX);
	}
	a->flags = nofollow ? SQ_XATTR_NOFOLLOW : 0;
	return 0;
}

/* The OS's answer as a wire error, "no such attribute" named ENOATTR on
 * every OS. */
/* What a value or name list may take: XATTR_VALUE_MAX, or less when the
 * connection's reply room is smaller. */
static size_t value_max(const struct sq_req *r)
{
	size_t room = sq_req_reply_max(r);
	return room < XATTR_VALUE_MAX ? room : XATTR_VALUE_MAX;
}

/* Over value_max only for the reply room's sake: the one rule's E2BIG. */
static int too_big(struct sq_req *r)
{
	return sq_req_too_big(r, "sysqd's --max-output is too small for it");
}

static int xfail(struct sq_req *r, int rc, const struct xargs *a)
{
	char p[128], n[80];
	text_of(p, sizeof(p), a->path);
	if (a->name && rc == -sq_xattr_enoattr)
		return sq_req_fail_code(r, rc, "ENOATTR", "%s has no attribute '%s'", p,
		                        text_of(n, sizeof(n), a->name));
	if (rc == -ENOSYS)
		return sq_req_fail(r, rc, "%s: /proc is not mounted where sysqd runs "
		                   "(attribute calls go through /proc/self/fd)", p);
	if (a->name)
		return sq_req_fail(r, rc, "%s, attribute '%s': %s", p,
		                   text_of(n, sizeof(n), a->name), sq_callerpath_strerror(rc));
	return sq_req_fail(r, rc, "%s: %s", p, sq_callerpath_strerror(rc));
}

int m_xattr_list(struct sq_req *r)
{
	struct xargs a = { 0 };
	struct sq_xattr_buf b;
	int rc = get_args(r, false, &a);
	if (rc < 0)
		return rc;
	rc = sq_xattr_list(a.path, a.flags, value_max(r), &b);
	if (rc == -E2BIG && value_max(r) < XATTR_VALUE_MAX)
		return too_big(r);
	if (rc < 0)
		return xfail(r, rc, &a);

	size_t count = 0;
	for (size_t i = 0; i < b.len; i++) /* names end with a NUL; skip empty ones */
		count += b.data[i] != '\0' && (i + 1 == b.len || b.data[i + 1] == '\0');

	msgpack_packer *pk = &r->pk;
	msgpack_pack_map(pk, 1);
	sq_pack_cstr(pk, "names");
	msgpack_pack_array(pk, count);
	for (size_t i = 0; i < b.len;) {
		size_t n = strnlen(b.data + i, b.len - i);
		if (n) {
			const char *s = b.data + i;
			sq_pack_text(pk, s, n);
		}
		i += n + 1;
	}
	sq_xattr_buf_free(&b);
	return sq_req_reply_over(r) ? too_big(r) : 0;
}

int m_xattr_get(struct sq_req *r)
{
	struct xargs a = { 0 };
	struct sq_xattr_buf b;
	int rc = get_args(r, true, &a);
	if (rc < 0)
		return rc;
	rc = sq_xattr_get(a.path, a.name, a.flags, value_max(r), &b);
	if (rc == -E2BIG && value_max(r) < XATTR_VALUE_MAX)
		return too_big(r);
	if (rc < 0)
		return xfail(r, rc, &a);
	msgpack_pack_map(&r->pk, 1);
	sq_pack_cstr(&r->pk, "value");
	msgpack_pack_bin_with_body(&r->pk, b.data, b.len);
	sq_xattr_buf_free(&b);
	return sq_req_reply_over(r) ? too_big(r) : 0;
}

int m_xattr_set(struct sq_req *r)
{
	struct xargs a = { 0 };
	const char *value, *mode = NULL;
	size_t len;
	enum sq_xattr_mode m = SQ_XATTR_ANY;
	int rc = get_args(r, true, &a);
	if (rc < 0)
		return rc;
	rc = sq_param_bytes(&r->params, "value", true, &value, &len);
	if (rc >= 0)
		rc = sq_param_cstr(&r->params, "mode", false, r->zone, &mode);
	if (rc < 0)
		return sq_req_param_error(r, rc);
	if (mode && strcmp(mode, "create") == 0)
		m = SQ_XATTR_CREATE;
	else if (mode && strcmp(mode, "replace") == 0)
		m = SQ_XATTR_REPLACE;
	else if (mode)
		return sq_req_fail(r, -EINVAL, "param 'mode' must be \"create\" or \"replace\"");
	rc = sq_xattr_set(a.path, a.name, value, len, m, a.flags);
	if (rc < 0)
		return xfail(r, rc, &a);
	msgpack_pack_map(&r->pk, 0);
	return 0;
}

int m_xattr_remove(struct sq_req *r)
{
	struct xargs a = { 0 };
	int rc = get_args(r, true, &a);
	if (rc < 0)
		return rc;
	rc = sq_xattr_remove(a.path, a.name, a.flags);
	if (rc < 0)
		return xfail(r, rc, &a);
	msgpack_pack_map(&r->pk, 0);
	return 0;
}
