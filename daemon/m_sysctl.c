/* SPDX-License-Identifier: ISC */
/*
 * m_sysctl.c - sys.sysctl.get and sys.sysctl.set: kernel parameters by name
 * (lib/sq_sysctl.h).  get runs as the caller, so the kernel decides what it
 * may read exactly as if it read /proc/sys itself (macOS: sysctl(3)).  set
 * is root's, or whom the policy grants per key pattern (`allow
 * sys.sysctl.set KEY-PATTERN SUBJECT`): the key is decided on the loop (the
 * policy lives there), the write runs on a worker as the daemon, and every
 * write that reaches the kernel is logged with uid, pid, old and new value.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "handlers.h"
#include "log.h"
#include "policy.h"
#include "request.h"
#include "server.h"
#include "sq_errno.h"
#include "sq_sysctl.h"

/* The value as the kernel typed it: an int, an array of ints, text. */
static void pack_value(msgpack_packer *pk, const struct sq_sysctl_value *v)
{
	if (v->kind == SQ_SYSCTL_NUMS) {
		if (v->n != 1)
			msgpack_pack_array(pk, (uint32_t)v->n);
		for (size_t i = 0; i < v->n; i++) {
			if (v->nums[i].neg)
				msgpack_pack_int64(pk, (int64_t)((uint64_t)0 - v->nums[i].mag));
			else
				msgpack_pack_uint64(pk, v->nums[i].mag);
		}
	} else if (v->kind == SQ_SYSCTL_TEXT) {
		sq_pack_text(pk, v->data, v->len);
	} else {
		msgpack_pack_bin_with_body(pk, v->data, v->len);
	}
}

static void pack_entry(msgpack_packer *pk, const char *name, const struct sq_sysctl_value *v,
                       int err)
{
	msgpack_pack_map(pk, 2);
	sq_pack_kv_str(pk, "name", name);
	if (v) {
		sq_pack_cstr(pk, "value");
		pack_value(pk, v);
	} else {
		sq_pack_kv_str(pk, "error", sq_errno_name(err));
	}
}

/* A name param (already a str or bin without NUL) in canonical form. */
static int canon_of(struct sq_req *r, const char *what, const char *p, size_t len, char *out)
{
	if (sq_sysctl_canon(p, len, out, SQ_SYSCTL_NAME_MAX) < 0)
		return sq_req_fail(r, -EINVAL, "%s '%.*s' is not a kernel parameter name "
		                   "(dotted components, none empty, \".\" or \"..\", no white "
		                   "space, under %d bytes)", what, (int)(len > 64 ? 64 : len), p,
		                   SQ_SYSCTL_NAME_MAX);
	return 0;
}

static int read_error(struct sq_req *r, const char *name, int rc)
{
	switch (rc) {
	case -ENOENT: return sq_req_fail(r, rc, "no kernel parameter '%s'", name);
	case -EACCES:
	case -EPERM:
		return sq_req_fail(r, rc, "'%s': %s (the kernel's answer to this caller)", name,
		                   strerror(-rc));
	case -EISDIR:
		return sq_req_fail(r, rc, "'%s' is a group of parameters: ask for it with "
		                   "'prefix'", name);
	case -E2BIG:
		return sq_req_fail(r, rc, "'%s': the value is over %u bytes", name,
		                   SQ_SYSCTL_VALUE_MAX);
	default: return sq_req_fail(r, rc, "'%s': %s", name, strerror(-rc));
	}
}

struct walk_out {
	msgpack_packer pk;
	struct sq_buf b;
	uint32_t n;
	size_t limit;
};

static int walk_one(const char *name, const struct sq_sysctl_value *v, int err, void *arg)
{
	struct walk_out *w = arg;
	pack_entry(&w->pk, name, v, err);
	w->n++;
	return w->b.len > w->limit ? -E2BIG : 0;
}

static int get_prefix(struct sq_req *r, const char *p, size_t len)
{
	char canon[SQ_SYSCTL_NAME_MAX] = "";
	while (len && p[len - 1] == '.') /* "net." is "net" */
		len--;
	if (len && canon_of(r, "param 'prefix':", p, len, canon) < 0)
		return -EINVAL;
	struct walk_out w = { .limit = sq_req_reply_max(r) };
	sq_buf_init(&w.b);
	sq_packer_init(&w.pk, &w.b);
	int rc = sq_sysctl_walk(canon, walk_one, &w);
	if (rc == 0) {
		msgpack_pack_map(&r->pk, 1);
		sq_pack_cstr(&r->pk, "sysctls");
		msgpack_pack_array(&r->pk, w.n);
		if (w.b.len)
			r->pk.callback(r->pk.data, w.b.data, w.b.len);
	}
	sq_buf_free(&w.b);
	if (rc == -E2BIG)
		return sq_req_too_big(r, "ask for a narrower prefix than '%s'", canon);
	if (rc == -ENOENT)
		return sq_req_fail(r, rc, "no kernel parameter '%s', nor any under it", canon);
	return rc < 0 ? read_error(r, canon, rc) : 0;
}

int m_sys_sysctl_get(struct sq_req *r)
{
	const msgpack_object_array *names;
	const char *p;
	size_t len;
	int rc = sq_param_array(&r->params, "names", false, &names);
	if (rc < 0)
		return sq_req_param_error(r, rc);
	bool has_names = rc == 0;
	rc = sq_param_bytes(&r->params, "prefix", false, &p, &len);
	if (rc < 0)
		return sq_req_param_error(r, rc);
	if (has_names == (rc == 0))
		return sq_req_fail(r, -EINVAL, "give either 'names' (the parameters to read) or "
		                   "'prefix' (a group of them; \"\" for all), not %s",
		                   has_names ? "both" : "neither");
	if (!has_names)
		return get_prefix(r, p, len);

	msgpack_pack_map(&r->pk, 1);
	sq_pack_cstr(&r->pk, "sysctls");
	msgpack_pack_array(&r->pk, names->size);
	for (uint32_t i = 0; i < names->size; i++) {
		const msgpack_object *o = &names->ptr[i];
		char canon[SQ_SYSCTL_NAME_MAX];
		if (canon_of(r, "param 'names':", o->via.str.ptr, o->via.str.size, canon) < 0)
			return -EINVAL;
		struct sq_sysctl_value v;
		if ((rc = sq_sysctl_read(canon, &v)) < 0)
			return read_error(r, canon, rc);
		pack_entry(&r->pk, canon, &v, 0);
		sq_sysctl_value_free(&v);
		if (sq_req_reply_over(r))
			return sq_req_too_big(r, "ask for fewer names");
	}
	return 0;
}

/* --- set ------------------------------------------------------------------ */

/* One write at a time, so that each caller's "previous" is what its own
 * write replaced (among sysqd's callers). */
static pthread_mutex_t set_lock = PTHREAD_MUTEX_INITIALIZER;

struct set_ctx {
	char name[SQ_SYSCTL_NAME_MAX];
	char *text;             /* the value to write (in the request's zone) */
	size_t len;
	int rc, read_rc;
	struct sq_sysctl_value old, now;
};

static void set_work(struct sq_req *r)
{
	struct set_ctx *x = r->ctx;
	pthread_mutex_lock(&set_lock);
	x->rc = sq_sysctl_read(x->name, &x->old);
	if (x->rc == 0)
		x->rc = sq_sysctl_write(x->name, x->text, x->len);
	if (x->rc == 0)
		x->read_rc = sq_sysctl_read(x->name, &x->now);
	pthread_mutex_unlock(&set_lock);
}

static void set_after(struct sq_req *r)
{
	struct set_ctx *x = r->ctx;
	char old[160], want[160], now[224];
	int rc = r->rc;
	if (rc < 0) /* never ran */
		goto out;
	struct sq_sysctl_value asked = { .kind = SQ_SYSCTL_TEXT, .data = x->text, .len = x->len };
	sq_sysctl_format(&asked, want, sizeof(want));
	if (x->rc < 0) {
		if (x->old.data || x->old.nums) {
			sq_sysctl_format(&x->old, old, sizeof(old));
			sq_log(SQ_LOG_NOTICE, "sys.sysctl.set: %s %s -> '%s' by uid %u pid %d "
			       "refused by the kernel: %s", x->name, old, want,
			       (unsigned)r->cred->uid, (int)r->cred->pid, sq_errno_name(x->rc));
			rc = sq_req_fail(r, x->rc, "the kernel refused '%s' for %s: %s", want,
			                 x->name, strerror(-x->rc));
		} else {
			rc = read_error(r, x->name, x->rc);
		}
		goto out;
	}
	sq_sysctl_format(&x->old, old, sizeof(old));
	if (x->read_rc == 0)
		sq_sysctl_format(&x->now, now, sizeof(now));
	else
		snprintf(now, sizeof(now), "'%s' (not read back: %s)", want,
		         sq_errno_name(x->read_rc));
	sq_log(SQ_LOG_NOTICE, "sys.sysctl.set: %s %s -> %s by uid %u pid %d", x->name, old, now,
	       (unsigned)r->cred->uid, (int)r->cred->pid);
	msgpack_pack_map(&r->pk, x->read_rc == 0 ? 3 : 2);
	sq_pack_kv_str(&r->pk, "name", x->name);
	sq_pack_cstr(&r->pk, "previous");
	pack_value(&r->pk, &x->old);
	if (x->read_rc == 0) {
		sq_pack_cstr(&r->pk, "value");
		pack_value(&r->pk, &x->now);
	}
	rc = 0;
out:
	sq_sysctl_value_free(&x->old);
	sq_sysctl_value_free(&x->now);
	sq_req_done(r, rc);
}

/* The value param as the text written: an int, ints separated by spaces,
 * or a str's or bin's bytes as they are. */
static int value_text(struct sq_req *r, struct set_ctx *x)
{
	const msgpack_object *v = sq_param(&r->params, "value");
	if (!v)
		return sq_req_fail(r, -EINVAL, "param 'value' is required");
	const msgpack_object *items = v;
	uint32_t n = 1;
	if (v->type == MSGPACK_OBJECT_STR || v->type == MSGPACK_OBJECT_BIN) {
		x->len = v->via.str.size;
		if (!(x->text = msgpack_zone_malloc_no_align(r->zone, x->len + 1)))
			return -ENOMEM;
		memcpy(x->text, v->via.str.ptr, x->len);
		x->text[x->len] = '\0';
		return 0;
	}
	if (v->type == MSGPACK_OBJECT_ARRAY) {
		items = v->via.array.ptr;
		n = v->via.array.size;
		if (n == 0)
			return sq_req_fail(r, -EINVAL, "param 'value': an empty array");
	}
	size_t cap = (size_t)n * 21 + 1, o = 0;
	if (!(x->text = msgpack_zone_malloc_no_align(r->zone, cap)))
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		const msgpack_object *it = &items[i];
		if (it->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
			o += (size_t)snprintf(x->text + o, cap - o, "%s%" PRIu64, i ? " " : "", it->via.u64);
		else
			o += (size_t)snprintf(x->text + o, cap - o, "%s%" PRId64, i ? " " : "", it->via.i64);
	}
	x->len = o;
	return 0;
}

int m_sys_sysctl_set(struct sq_req *r)
{
	const char *p;
	size_t len;
	int line = 0;
	struct set_ctx *x = msgpack_zone_malloc(r->zone, sizeof(*x));
	if (!x)
		return -ENOMEM;
	memset(x, 0, sizeof(*x));
	int rc = sq_param_bytes(&r->params, "name", true, &p, &len);
	if (rc < 0)
		return sq_req_param_error(r, rc);
	if (canon_of(r, "param 'name':", p, len, x->name) < 0)
		return -EINVAL;
	/* the key, as the policy says (the method itself was checked already) */
	const struct sq_policy *pol = sq_policy_current();
	enum sq_policy_verdict verdict =
		sq_policy_decide_key(pol, r->m, x->name, r->cred, &line);
	if (verdict == SQ_POLICY_DENY || (verdict != SQ_POLICY_ALLOW && r->cred->uid != 0)) {
		sq_log(SQ_LOG_NOTICE, "sys.sysctl.set: %s by uid %u pid %d refused by the policy",
		       x->name, (unsigned)r->cred->uid, (int)r->cred->pid);
		if (verdict == SQ_POLICY_DENY)
			return sq_req_fail(r, -EPERM, "sys.sysctl.set of %s: denied by the policy "
			                   "(%s line %d)", x->name, sq_policy_source(pol), line);
		return sq_req_fail(r, -EPERM, "sys.sysctl.set of %s: only root may, unless the "
		                   "policy grants this key (allow sys.sysctl.set KEY-PATTERN ...)",
		                   x->name);
	}
	if ((rc = value_text(r, x)) < 0)
		return rc;
	r->ctx = x;
	return sq_req_offload(r, set_work, set_after);
}
