/* SPDX-License-Identifier: ISC */
/*
 * m_file.c - the file.* methods.  file.read streams a regular file to the
 * caller (framing in PROTOCOL.md section 11): params are checked on the loop,
 * the file is opened on the engine AS THE CALLER (the method table says so:
 * the engine switches the worker), so the kernel makes the access decision,
 * and transfer.c streams the descriptor with sendfile(2).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "handlers.h"
#include "request.h"
#include "sq_callerpath.h"
#include "server.h"
#include "sq_file.h"
#include "sq_utf8.h"
#include "transfer.h"

struct read_ctx {
	const char *path;
	char path_text[136];      /* path as message text (sq_text_show) */
	bool nofollow;
	uint64_t offset;
	bool has_length;
	uint64_t length;
	struct sq_xfer *x;
	int fd;
	int err;                  /* negative errno, message in the request */
	struct sq_file_info info;
};

static int open_failed(struct sq_req *r, struct read_ctx *x, int rc)
{
	switch (rc) {
	case -EISDIR:
		return sq_req_fail(r, rc, "'%s' is a directory", x->path_text);
	case -ENOTSUP:
		return sq_req_fail_code(r, rc, "ENOTSUP", "'%s' is %s, not a regular file: "
		                        "file.read reads regular files only", x->path_text,
		                        sq_file_kind(x->info.mode));
	case -ELOOP:
		if (x->nofollow && S_ISLNK(x->info.mode))
			return sq_req_fail(r, rc, "'%s' is a symbolic link and nofollow is set",
			                   x->path_text);
		break;
	}
	return sq_req_fail(r, rc, "cannot open '%s': %s", x->path_text, sq_callerpath_strerror(rc));
}

/* On a worker, as the caller: open and check. */
static void read_open(struct sq_req *r)
{
	struct read_ctx *x = r->ctx;
	int fd = sq_file_open_read(x->path, x->nofollow, &x->info);
	if (fd < 0) {
		x->err = open_failed(r, x, fd);
		return;
	}
	if (x->info.size_known && x->offset > x->info.size) {
		close(fd);
		x->err = sq_req_fail(r, -EINVAL, "param 'offset' (%" PRIu64 ") is past the end "
		                     "of '%s' (%" PRIu64 " bytes)", x->offset, x->path_text,
		                     x->info.size);
		return;
	}
	x->fd = fd;
}

/* Back on the loop: announce the transfer and start it. */
static void read_opened(struct sq_req *r)
{
	struct read_ctx *x = r->ctx;
	if (r->rc < 0 || x->err) { /* the open failed, or never ran */
		sq_xfer_discard(x->x);
		sq_req_done(r, r->rc < 0 ? r->rc : x->err);
		return;
	}
	msgpack_packer *pk = &r->pk;
	msgpack_pack_map(pk, 4);
	if (!x->info.size_known) {
		/* procfs, sysfs, a size of 0: read to the end; file.end counts */
		sq_pack_cstr(pk, "size");
		msgpack_pack_nil(pk);
		sq_pack_kv_u64(pk, "offset", x->offset);
		sq_pack_kv_u64(pk, "chunk", SQ_XFER_CHUNK);
		sq_pack_cstr(pk, "file_size");
		msgpack_pack_nil(pk);
		sq_xfer_start(x->x, r, x->fd, x->offset, x->has_length ? x->length : UINT64_MAX,
		              true);
		return;
	}
	uint64_t avail = x->info.size - x->offset;
	uint64_t n = x->has_length && x->length < avail ? x->length : avail;
	sq_pack_kv_u64(pk, "size", n);
	sq_pack_kv_u64(pk, "offset", x->offset);
	sq_pack_kv_u64(pk, "chunk", SQ_XFER_CHUNK);
	sq_pack_kv_u64(pk, "file_size", x->info.size);
	sq_xfer_start(x->x, r, x->fd, x->offset, n, false);
}

int m_file_read(struct sq_req *r)
{
	struct sq_params *p = &r->params;
	const char *path;
	/* checked with the params (methods.c): types, ranges, defaults */
	int64_t offset = sq_params_int(p, r->m->params, "offset");
	int64_t length = sq_params_has(p, "length") ? sq_params_int(p, r->m->params, "length") : -1;
	bool nofollow = sq_params_bool(p, r->m->params, "nofollow");
	int rc;

	if ((rc = sq_param_cstr(p, "path", true, r->zone, &path)) < 0)
		return sq_req_param_error(r, rc);
	if (path[0] != '/')
		return sq_req_fail(r, -EINVAL, "param 'path' must be an absolute path "
		                   "(sysqd's working directory is not yours)");

	struct read_ctx *x = msgpack_zone_malloc(r->zone, sizeof(*x));
	if (!x)
		return -ENOMEM;
	memset(x, 0, sizeof(*x));
	x->path = path;
	sq_text_show(x->path_text, sizeof(x->path_text), path, strlen(path), SQ_SHOW_UTF8);
	x->nofollow = nofollow;
	x->offset = (uint64_t)offset;
	x->has_length = length >= 0;
	x->length = (uint64_t)(length >= 0 ? length : 0);
	x->fd = -1;
	if ((rc = sq_xfer_new(r, &x->x)) < 0)
		return rc;
	r->ctx = x;
	rc = sq_req_offload(r, read_open, read_opened);
	if (rc < 0)
		sq_xfer_discard(x->x);
	return rc;
}
