/* SPDX-License-Identifier: ISC */
/*
 * m_proc.c - the proc.* methods: list, get, signal.  Pool methods run as
 * the caller (SQ_ACCESS_AS_CALLER), so /proc visibility and kill(2) are the
 * caller's own; this file only validates params and packs lib/sq_proc.h
 * structs straight into the reply (proc.list: on the scan's own threads).
 * comm, args and exe are arbitrary bytes: str when valid UTF-8, bin
 * otherwise (PROTOCOL.md section 7, "Bytes from other users").
 * cpu_interval_ms: a first sample of the processes' CPU times, a sleep of
 * the worker (the caller's job: its share pays for it, the loop runs on),
 * then the scan, whose cpu_percent is the difference over the time between
 * each process's two readings.
 */
#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "handlers.h"
#include "request.h"
#include "server.h"
#include "sq_proc.h"
#include "sq_signame.h"

/* args are NUL-terminated strings back to back; a last one without its NUL
 * (a process that rewrote its argument area) still counts. */
static void pack_args(msgpack_packer *pk, const char *a, size_t len)
{
	uint32_t n = 0;
	for (size_t i = 0; i < len; i++)
		n += a[i] == '\0';
	if (len && a[len - 1] != '\0')
		n++;
	msgpack_pack_array(pk, n);
	size_t start = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i == len && (len == 0 || a[len - 1] == '\0'))
			break;
		if (i == len || a[i] == '\0') {
			sq_pack_text(pk, a + start, i - start);
			start = i + 1;
		}
	}
}

/* UINT64_MAX: a counter the OS does not keep (macOS: rchar, wchar) */
static void pack_io(msgpack_packer *pk, const struct sq_proc *p)
{
	const struct { const char *key; uint64_t v; } k[] = {
		{ "rchar", p->io_rchar }, { "wchar", p->io_wchar },
		{ "read_bytes", p->io_read_bytes }, { "write_bytes", p->io_write_bytes },
	};
	uint32_t n = 0;
	for (size_t i = 0; i < 4; i++)
		n += k[i].v != UINT64_MAX;
	msgpack_pack_map(pk, n);
	for (size_t i = 0; i < 4; i++)
		if (k[i].v != UINT64_MAX)
			sq_pack_kv_u64(pk, k[i].key, k[i].v);
}

/* cpu: the figure for cpu_percent, p's own (over its life) or one over an
 * interval */
static void pack_proc(msgpack_packer *pk, const struct sq_proc *p, unsigned want, double cpu)
{
	unsigned have = (p->have & want) | SQ_PROC_BIT(SQ_PROC_PID);
	size_t n = (size_t)__builtin_popcount(have);
	int cut = (have & SQ_PROC_BIT(SQ_PROC_ARGS)) && p->args_cut;
	msgpack_pack_map(pk, n + (size_t)cut);
	for (unsigned f = 0; f < SQ_PROC_NFIELDS; f++) {
		if (!(have & SQ_PROC_BIT(f)))
			continue;
		sq_pack_cstr(pk, sq_proc_field_name(f));
		switch ((enum sq_proc_field)f) {
		case SQ_PROC_PID: msgpack_pack_int64(pk, p->pid); break;
		case SQ_PROC_PPID: msgpack_pack_int64(pk, p->ppid); break;
		case SQ_PROC_PGID: msgpack_pack_int64(pk, p->pgid); break;
		case SQ_PROC_SID: msgpack_pack_int64(pk, p->sid); break;
		case SQ_PROC_UID: msgpack_pack_uint64(pk, p->uid); break;
		case SQ_PROC_EUID: msgpack_pack_uint64(pk, p->euid); break;
		case SQ_PROC_GID: msgpack_pack_uint64(pk, p->gid); break;
		case SQ_PROC_STATE: msgpack_pack_str_with_body(pk, &p->state, 1); break;
		case SQ_PROC_COMM: sq_pack_text(pk, p->comm, p->comm_len); break;
		case SQ_PROC_ARGS: pack_args(pk, p->args, p->args_len); break;
		case SQ_PROC_EXE: sq_pack_text(pk, p->exe, p->exe_len); break;
		case SQ_PROC_START_TIME: msgpack_pack_double(pk, p->start_time); break;
		case SQ_PROC_CPU_USER: msgpack_pack_uint64(pk, p->cpu_user_ns); break;
		case SQ_PROC_CPU_SYSTEM: msgpack_pack_uint64(pk, p->cpu_system_ns); break;
		case SQ_PROC_RSS: msgpack_pack_uint64(pk, p->rss_bytes); break;
		case SQ_PROC_VSIZE: msgpack_pack_uint64(pk, p->vsize_bytes); break;
		case SQ_PROC_THREADS: msgpack_pack_int64(pk, p->threads); break;
		case SQ_PROC_NICE: msgpack_pack_int64(pk, p->nice); break;
		case SQ_PROC_TTY:
			if (p->tty[0])
				sq_pack_text(pk, p->tty, strlen(p->tty));
			else
				msgpack_pack_nil(pk);
			break;
		case SQ_PROC_CPU_PERCENT: msgpack_pack_double(pk, cpu); break;
		case SQ_PROC_FDS: msgpack_pack_uint64(pk, p->fds); break;
		case SQ_PROC_CGROUP: sq_pack_text(pk, p->cgroup, p->cgroup_len); break;
		case SQ_PROC_IO: pack_io(pk, p); break;
		case SQ_PROC_NFIELDS: break;
		}
	}
	if (cut)
		sq_pack_kv_bool(pk, "args_truncated", true);
}

/* `fields`: an array of field names (strs: checked with the params);
 * absent means def. */
static int get_fields(struct sq_req *r, unsigned def, unsigned *out)
{
	const msgpack_object_array *a;
	int rc = sq_param_array(&r->params, "fields", false, &a);
	if (rc < 0)
		return sq_req_param_error(r, rc);
	*out = def;
	if (rc == 1)
		return 0;
	unsigned f = SQ_PROC_BIT(SQ_PROC_PID);
	for (uint32_t i = 0; i < a->size; i++) {
		const msgpack_object *o = &a->ptr[i];
		int k = sq_proc_field_find(o->via.str.ptr, o->via.str.size);
		if (k < 0)
			return sq_req_fail(r, -EINVAL, "param 'fields': unknown field '%.*s' "
			                   "(pid ppid pgid sid uid euid gid state comm args exe "
			                   "start_time cpu_user_ns cpu_system_ns rss_bytes "
			                   "vsize_bytes threads nice tty cpu_percent fds cgroup io)",
			                   (int)(o->via.str.size > 40 ? 40 : o->via.str.size),
			                   o->via.str.ptr);
		f |= SQ_PROC_BIT((unsigned)k);
	}
	*out = f;
	return 0;
}

/* ---- cpu_interval_ms -------------------------------------------------------- */

#define CPU_FIELDS (SQ_PROC_BIT(SQ_PROC_CPU_USER) | SQ_PROC_BIT(SQ_PROC_CPU_SYSTEM) | \
                    SQ_PROC_BIT(SQ_PROC_START_TIME))

/* One process's CPU time (ns) when it was read (monotonic s); start_time
 * tells a process from a later one with its pid. */
struct cpu_sample {
	pid_t pid;
	double start_time, at;
	uint64_t ns;
};

/* The first samples, in pid order. */
struct cpu_first {
	struct cpu_sample *v;
	size_t n, cap;
	unsigned ms;            /* the interval asked for; 0: none */
};

static double mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int first_one(const struct sq_proc *p, void *arg)
{
	struct cpu_first *f = arg;
	if ((p->have & CPU_FIELDS) != CPU_FIELDS)
		return 0; /* hidden from the caller: so will its figure be */
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 256;
		struct cpu_sample *v = realloc(f->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		f->v = v;
		f->cap = cap;
	}
	f->v[f->n++] = (struct cpu_sample){ p->pid, p->start_time, mono_s(),
	                                    p->cpu_user_ns + p->cpu_system_ns };
	return 0;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { (time_t)(ms / 1000u), (long)(ms % 1000u) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* The interval's param (0: not given); with it, the first sample of what q
 * selects (q->fields is replaced for it), then the wait.  0 or a negative
 * errno. */
static int cpu_first_sample(struct sq_req *r, struct sq_proc_query q, struct cpu_first *f)
{
	memset(f, 0, sizeof(*f));
	if (!sq_params_has(&r->params, "cpu_interval_ms"))
		return 0;
	f->ms = (unsigned)sq_params_int(&r->params, r->m->params, "cpu_interval_ms");
	q.fields = CPU_FIELDS;
	q.max_held = 0;
	int rc = sq_proc_scan(&q, first_one, f);
	if (rc < 0)
		return rc;
	sleep_ms(f->ms);
	return 0;
}

/* p's cpu_percent: over the interval when p was in the first sample, else
 * (no interval asked, or p born since, or hidden then) its life's figure. */
static double cpu_of(const struct cpu_first *f, const struct sq_proc *p)
{
	if (!f->ms || (p->have & CPU_FIELDS) != CPU_FIELDS)
		return p->cpu_percent;
	size_t lo = 0, hi = f->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (f->v[mid].pid < p->pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* start times come in clock ticks (Linux: 10 ms), each reading's with
	 * its own estimate of the boot time: another process differs by a tick */
	if (lo == f->n || f->v[lo].pid != p->pid ||
	    fabs(f->v[lo].start_time - p->start_time) >= 0.005)
		return p->cpu_percent;
	const struct cpu_sample *s = &f->v[lo];
	uint64_t ns = p->cpu_user_ns + p->cpu_system_ns;
	double dt = mono_s() - s->at;
	if (ns < s->ns || dt <= 0)
		return 0.0;
	return (double)(ns - s->ns) / 1e9 / dt * 100.0;
}

/* The result would not fit the connection's output limit (request.h). */
static int too_big(struct sq_req *r)
{
	return sq_req_too_big(r, "narrow it with 'fields', 'uid' or 'pid'");
}

static int check_size(struct sq_req *r)
{
	return sq_req_reply_over(r) ? too_big(r) : 0;
}

/*
 * proc.list packs on the scan's threads: each chunk of pids (lib/sq_proc.h,
 * sq_proc_scan_chunked) gets its own buffer, filled by whichever thread
 * reads that chunk; the buffers are joined in chunk order, which is pid
 * order.  The running total stops the scan once the reply cannot be sent.
 */
struct chunk_out {
	struct sq_buf b;
	uint32_t count;
};

struct list_ctx {
	unsigned want;
	const struct cpu_first *first;
	/* the euid and comm params (NULL: not given): a process is listed
	 * when its euid is one of euid's and its comm one of comm's */
	const msgpack_object_array *euid, *comm;
	size_t limit;
	struct chunk_out *chunks;
	size_t nchunks;
	atomic_size_t bytes;
};

#define LIST_TOO_BIG 1

static int list_begin(size_t nchunks, void *arg)
{
	struct list_ctx *x = arg;
	x->chunks = calloc(nchunks ? nchunks : 1, sizeof(*x->chunks));
	if (!x->chunks)
		return -ENOMEM;
	x->nchunks = nchunks;
	for (size_t i = 0; i < nchunks; i++)
		sq_buf_init(&x->chunks[i].b);
	return 0;
}

/* A field the OS hides from the caller matches nothing. */
static int list_keeps(const struct list_ctx *x, const struct sq_proc *p)
{
	int ok = 1;
	if (x->euid) {
		ok = 0;
		for (uint32_t i = 0; i < x->euid->size && !ok && (p->have & SQ_PROC_BIT(SQ_PROC_EUID)); i++)
			ok = x->euid->ptr[i].via.u64 == p->euid;
	}
	if (ok && x->comm) {
		ok = 0;
		for (uint32_t i = 0; i < x->comm->size && !ok && (p->have & SQ_PROC_BIT(SQ_PROC_COMM)); i++) {
			const msgpack_object *c = &x->comm->ptr[i];
			ok = c->via.str.size == p->comm_len &&
			     memcmp(c->via.str.ptr, p->comm, p->comm_len) == 0;
		}
	}
	return ok;
}

static int list_one(const struct sq_proc *p, size_t chunk, void *arg)
{
	struct list_ctx *x = arg;
	if (!list_keeps(x, p))
		return 0;
	struct chunk_out *c = &x->chunks[chunk];
	msgpack_packer pk;
	size_t before = c->b.len;
	sq_packer_init(&pk, &c->b);
	pack_proc(&pk, p, x->want, cpu_of(x->first, p));
	c->count++;
	size_t added = c->b.len - before;
	return atomic_fetch_add(&x->bytes, added) + added > x->limit ? LIST_TOO_BIG : 0;
}

static void list_free(struct list_ctx *x)
{
	for (size_t i = 0; x->chunks && i < x->nchunks; i++)
		sq_buf_free(&x->chunks[i].b);
	free(x->chunks);
}

int m_proc_list(struct sq_req *r)
{
	/* types and ranges (uid 0..4294967294, pids 1..2^31-1) were checked
	 * with the params (methods.c) */
	const msgpack_object_array *pa = NULL;
	int64_t uid = sq_params_has(&r->params, "uid") ? sq_params_int(&r->params, r->m->params, "uid")
	                                          : -1;
	pid_t *pids = NULL;
	size_t npids = 0;
	unsigned want;

	int rc;
	if ((rc = get_fields(r, SQ_PROC_LIST_DEFAULT, &want)) < 0)
		return rc;
	rc = sq_param_array(&r->params, "pid", false, &pa);
	if (rc < 0)
		return sq_req_param_error(r, rc);
	if (pa && pa->size) {
		pids = msgpack_zone_malloc(r->zone, pa->size * sizeof(*pids));
		if (!pids)
			return -ENOMEM;
		for (uint32_t i = 0; i < pa->size; i++)
			pids[npids++] = (pid_t)pa->ptr[i].via.u64;
	}

	struct list_ctx x = { .want = want, .limit = sq_req_reply_max(r) };
	const msgpack_object_array *ea = NULL, *ca = NULL;
	if ((rc = sq_param_array(&r->params, "euid", false, &ea)) < 0 ||
	    (rc = sq_param_array(&r->params, "comm", false, &ca)) < 0)
		return sq_req_param_error(r, rc);
	x.euid = ea;
	x.comm = ca;
	unsigned read = want | (ea ? SQ_PROC_BIT(SQ_PROC_EUID) : 0) |
	                (ca ? SQ_PROC_BIT(SQ_PROC_COMM) : 0);
	struct cpu_first first;

	msgpack_packer *pk = &r->pk;
	msgpack_pack_map(pk, 1);
	sq_pack_cstr(pk, "procs");
	/* an empty pid, euid or comm list selects nothing */
	if ((pa && pa->size == 0) || (ea && ea->size == 0) || (ca && ca->size == 0)) {
		msgpack_pack_array(pk, 0);
		return 0;
	}
	atomic_init(&x.bytes, 0);
	struct sq_proc_query q = {
		.fields = read, .pids = pids, .npids = npids,
		.by_uid = uid >= 0, .uid = uid >= 0 ? (uint32_t)uid : 0,
	};
	if ((rc = cpu_first_sample(r, q, &first)) < 0) {
		free(first.v);
		return sq_req_fail(r, rc, "cannot read the process table: %s", strerror(-rc));
	}
	if (first.ms && (want & SQ_PROC_BIT(SQ_PROC_CPU_PERCENT)))
		q.fields |= CPU_FIELDS;
	x.first = &first;
	struct sq_proc_sink sink = { list_begin, list_one, &x, 1 };
	rc = sq_proc_scan_chunked(&q, &sink);
	free(first.v);
	if (rc == 0) {
		uint32_t n = 0;
		for (size_t i = 0; i < x.nchunks; i++)
			n += x.chunks[i].count;
		msgpack_pack_array(pk, n);
		for (size_t i = 0; i < x.nchunks && rc == 0; i++)
			rc = sq_buf_append(r->out, x.chunks[i].b.data, x.chunks[i].b.len);
	}
	list_free(&x);
	if (rc == LIST_TOO_BIG)
		return too_big(r);
	if (rc < 0)
		return sq_req_fail(r, rc, "cannot read the process table: %s", strerror(-rc));
	return check_size(r);
}

/* pid: required, 1..2^31-1 (checked with the params, methods.c: pid <= 0,
 * kill(2)'s process-group and broadcast forms, never gets here). */
static pid_t get_pid(struct sq_req *r)
{
	return (pid_t)sq_params_int(&r->params, r->m->params, "pid");
}

int m_proc_get(struct sq_req *r)
{
	unsigned want;
	pid_t pid = get_pid(r);
	int rc;
	if ((rc = get_fields(r, SQ_PROC_ALL, &want)) < 0)
		return rc;
	struct cpu_first first;
	struct sq_proc_query q = { .pids = &pid, .npids = 1 };
	if ((rc = cpu_first_sample(r, q, &first)) < 0) {
		free(first.v);
		return sq_req_fail(r, rc, "cannot read process %d: %s", (int)pid, strerror(-rc));
	}
	unsigned read = want | (first.ms && (want & SQ_PROC_BIT(SQ_PROC_CPU_PERCENT))
	                        ? CPU_FIELDS : 0);
	struct sq_proc p;
	memset(&p, 0, sizeof(p));
	rc = sq_proc_get(pid, read, &p);
	if (rc == 0) {
		pack_proc(&r->pk, &p, want, cpu_of(&first, &p));
		rc = check_size(r);
	} else if (rc == -ESRCH) {
		rc = sq_req_fail(r, rc, "no process with pid %d", (int)pid);
	} else {
		rc = sq_req_fail(r, rc, "cannot read process %d: %s", (int)pid, strerror(-rc));
	}
	sq_proc_release(&p);
	free(first.v);
	return rc;
}

int m_proc_signal(struct sq_req *r)
{
	pid_t pid = get_pid(r);
	int sig, rc;
	/* there, a str or an int (checked with the params); which signal, here */
	const msgpack_object *o = sq_param(&r->params, "signal");
	if (o->type == MSGPACK_OBJECT_STR) {
		sig = sq_signal_parse(o->via.str.ptr, o->via.str.size);
		if (sig < 0)
			return sq_req_fail(r, -EINVAL, "param 'signal': unknown signal '%.*s' "
			                   "on this system", (int)(o->via.str.size > 32 ? 32
			                   : o->via.str.size), o->via.str.ptr);
	} else if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
		sig = o->via.u64 > INT32_MAX ? -EINVAL : sq_signal_check((long long)o->via.u64);
		if (sig < 0)
			return sq_req_fail(r, -EINVAL, "param 'signal': %llu is not a signal "
			                   "number on this system (0..%d)",
			                   (unsigned long long)o->via.u64, sq_signal_max());
	} else {
		return sq_req_fail(r, -EINVAL, "param 'signal' must be a signal name (\"TERM\", "
		                   "\"SIGTERM\") or a number from 0 to %d", sq_signal_max());
	}
	rc = sq_proc_kill(pid, sig, r->cred);
	if (rc == -EACCES)
		return sq_req_fail(r, -EPERM, "pid %d is sysqd or one of its threads or helper "
		                   "processes: sysqd does not signal itself for a caller",
		                   (int)pid);
	if (rc == -ETIMEDOUT || rc == -EINTR)
		return sq_req_fail(r, rc, "the helper that signals as uid %u was %s before it "
		                   "reported; it was killed, pid %d may or may not have got "
		                   "the signal", (unsigned)r->cred->uid,
		                   rc == -EINTR ? "stopped or killed" : "not done in 5 s",
		                   (int)pid);
	if (rc == -ESRCH)
		return sq_req_fail(r, rc, "no process with pid %d", (int)pid);
	if (rc == -EPERM)
		return sq_req_fail(r, rc, "uid %u may not signal pid %d",
		                   (unsigned)r->cred->uid, (int)pid);
	if (rc < 0)
		return sq_req_fail(r, rc, "kill(%d, %d): %s", (int)pid, sig, strerror(-rc));
	char name[32];
	msgpack_packer *pk = &r->pk;
	msgpack_pack_map(pk, 3);
	sq_pack_kv_i64(pk, "pid", pid);
	sq_pack_kv_i64(pk, "signal", sig);
	sq_pack_cstr(pk, "name");
	const char *nm = sq_signal_name(sig, name, sizeof(name));
	if (nm)
		sq_pack_cstr(pk, nm);
	else
		msgpack_pack_nil(pk);
	return 0;
}
