/* SPDX-License-Identifier: ISC */
/*
 * m_fs.c - the fs.* methods: fs.list (every mount with its usage) and
 * fs.stat (the file system holding a path, looked up as the caller).
 * Packing only (their params, defaults included, are the method table's,
 * checked before they run): the hang-safe probing is prober.c's.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "handlers.h"
#include "prober.h"
#include "request.h"
#include "sq_callerpath.h"
#include "server.h"
#include "sq_errno.h"
#include "sq_utf8.h"

static void pack_kv_bytes(msgpack_packer *pk, const char *key, const char *p, size_t n)
{
	sq_pack_cstr(pk, key);
	if (p)
		sq_pack_text(pk, p, n);
	else
		msgpack_pack_nil(pk);
}

static void pack_kv_size(msgpack_packer *pk, const char *key, bool known, uint64_t v)
{
	sq_pack_cstr(pk, key);
	if (known)
		msgpack_pack_uint64(pk, v);
	else
		msgpack_pack_nil(pk);
}

static const char *state_name(enum sq_probe_state st)
{
	return st == SQ_PROBE_OK ? "ok" : st == SQ_PROBE_STALE ? "stale" : "error";
}

/* The map both methods answer with. */
static void pack_fs(msgpack_packer *pk, const struct sq_probe_item *it)
{
	const struct sq_mount *m = it->mount;
	bool ok = it->state == SQ_PROBE_OK;
	const struct sq_fs_usage *u = &it->usage;

	msgpack_pack_map(pk, ok ? 12 : 13);
	pack_kv_bytes(pk, "mountpoint", m ? m->mountpoint : NULL, m ? m->mountpoint_len : 0);
	pack_kv_bytes(pk, "source", m ? m->source : NULL, m ? m->source_len : 0);
	pack_kv_bytes(pk, "fstype", m ? m->fstype : NULL, m ? strlen(m->fstype) : 0);
	sq_pack_cstr(pk, "options");
	msgpack_pack_array(pk, m ? m->noptions : 0);
	for (size_t i = 0; m && i < m->noptions; i++)
		sq_pack_text(pk, m->options[i], strlen(m->options[i]));
	sq_pack_kv_bool(pk, "readonly", (m && m->readonly) || (ok && u->readonly));
	pack_kv_size(pk, "block_size", ok, u->block_size);
	pack_kv_size(pk, "total_bytes", ok, u->total_bytes);
	pack_kv_size(pk, "free_bytes", ok, u->free_bytes);
	pack_kv_size(pk, "avail_bytes", ok, u->avail_bytes);
	pack_kv_size(pk, "files", ok, u->files);
	pack_kv_size(pk, "files_free", ok, u->files_free);
	sq_pack_kv_str(pk, "state", state_name(it->state));
	if (!ok)
		sq_pack_kv_str(pk, "error", sq_errno_name(it->err));
}

struct fs_ctx {
	struct sq_req *r;
	bool all;
	int64_t timeout_ms;
	const char *path;
};

/* Whether fs.list reports a mount the prober probed: df leaves out what
 * has no blocks (unless -a); a mount whose size is not known (stale,
 * error) is always reported: that is news. */
static bool reported(const struct fs_ctx *x, const struct sq_probe_item *it)
{
	return x->all || it->state != SQ_PROBE_OK || it->usage.total_bytes > 0;
}

static void list_done(struct sq_scan *s, void *arg)
{
	struct fs_ctx *x = arg;
	struct sq_req *r = x->r;
	const char *msg;
	int err = sq_scan_error(s, &msg);
	if (err < 0) {
		sq_req_done(r, sq_req_fail(r, err, "fs.list: %s", msg));
		return;
	}
	size_t n = sq_scan_count(s), nreported = 0;
	for (size_t i = 0; i < n; i++)
		nreported += reported(x, sq_scan_item(s, i));
	msgpack_packer *pk = &r->pk;
	msgpack_pack_map(pk, 1);
	sq_pack_cstr(pk, "mounts");
	msgpack_pack_array(pk, nreported);
	for (size_t i = 0; i < n; i++)
		if (reported(x, sq_scan_item(s, i)))
			pack_fs(pk, sq_scan_item(s, i));
	sq_req_done(r, 0);
}

int m_fs_list(struct sq_req *r)
{
	struct fs_ctx *x = msgpack_zone_malloc(r->zone, sizeof(*x));
	if (!x)
		return -ENOMEM;
	memset(x, 0, sizeof(*x));
	x->r = r;
	x->timeout_ms = sq_params_int(&r->params, r->m->params, "timeout_ms");
	x->all = sq_params_bool(&r->params, r->m->params, "all");
	int rc = sq_prober_list(r->srv->prober, x->all, (uint64_t)x->timeout_ms, list_done, x);
	if (rc < 0)
		return sq_req_fail(r, rc, "fs.list: cannot start the probes: %s", strerror(-rc));
	return SQ_ASYNC;
}


static void stat_done(struct sq_scan *s, void *arg)
{
	struct fs_ctx *x = arg;
	struct sq_req *r = x->r;
	const struct sq_probe_item *it = sq_scan_item(s, 0);
	const char *msg;
	char p[200];
	sq_text_show(p, sizeof(p), x->path, strlen(x->path), 0);
	if (it->state == SQ_PROBE_STALE) {
		sq_scan_error(s, &msg);
		sq_req_done(r, sq_req_fail(r, -ETIMEDOUT,
		            "fs.stat: '%s': no answer within %lld ms (%s)", p,
		            (long long)x->timeout_ms,
		            msg[0] ? msg : "the path lookup or statfs is stuck: "
		                           "a hung file system?"));
		return;
	}
	if (it->state == SQ_PROBE_ERROR) {
		sq_req_done(r, sq_req_fail(r, it->err, "fs.stat: '%s' (as uid %u): %s", p,
		                           (unsigned)r->cred->uid, sq_callerpath_strerror(it->err)));
		return;
	}
	pack_fs(&r->pk, it);
	sq_req_done(r, 0);
}

int m_fs_stat(struct sq_req *r)
{
	struct fs_ctx *x = msgpack_zone_malloc(r->zone, sizeof(*x));
	if (!x)
		return -ENOMEM;
	memset(x, 0, sizeof(*x));
	x->r = r;
	int rc = sq_param_cstr(&r->params, "path", true, r->zone, &x->path);
	if (rc < 0)
		return sq_req_param_error(r, rc);
	if (x->path[0] != '/')
		return sq_req_fail(r, -EINVAL, "fs.stat: param 'path' must be absolute "
		                   "(sysqd does not know your working directory)");
	x->timeout_ms = sq_params_int(&r->params, r->m->params, "timeout_ms");
	rc = sq_prober_stat(r->srv->prober, r->cred, x->path, (uint64_t)x->timeout_ms,
	                    stat_done, x);
	if (rc < 0)
		return sq_req_fail(r, rc, "fs.stat: cannot start the probe: %s", strerror(-rc));
	return SQ_ASYNC;
}
