/* SPDX-License-Identifier: ISC */
/*
 * m_host.c - sys.host: the host's totals (lib/sq_host.h) packed as the
 * protocol says (PROTOCOL.md, sys.host).  A worker job, as the daemon:
 * these figures are anyone's to read.  Only what the OS gave is packed.
 */
#include <errno.h>
#include <string.h>

#include "handlers.h"
#include "request.h"
#include "sq_host.h"

static void pack_cpu(msgpack_packer *pk, const struct sq_host_cpu *c, int with_id)
{
	uint32_t n = (uint32_t)__builtin_popcount(c->have) + (with_id ? 1u : 0u);
	msgpack_pack_map(pk, n);
	if (with_id)
		sq_pack_kv_i64(pk, "cpu", c->id);
	for (unsigned m = 0; m < SQ_CPU_NMODES; m++)
		if (c->have & (1u << m))
			sq_pack_kv_double(pk, sq_cpu_mode_name(m), c->s[m]);
}

static void pack_psi_line(msgpack_packer *pk, const struct sq_psi_line *l)
{
	msgpack_pack_map(pk, 4);
	sq_pack_kv_double(pk, "avg10", l->avg10);
	sq_pack_kv_double(pk, "avg60", l->avg60);
	sq_pack_kv_double(pk, "avg300", l->avg300);
	sq_pack_kv_u64(pk, "total_us", l->total_us);
}

static void pack_pressure(msgpack_packer *pk, const struct sq_host *h)
{
	uint32_t n = 0;
	for (unsigned i = 0; i < SQ_PSI_N; i++)
		n += h->psi[i].some.have || h->psi[i].full.have;
	msgpack_pack_map(pk, n);
	for (unsigned i = 0; i < SQ_PSI_N; i++) {
		const struct sq_psi *s = &h->psi[i];
		if (!s->some.have && !s->full.have)
			continue;
		sq_pack_cstr(pk, sq_psi_name(i));
		msgpack_pack_map(pk, (uint32_t)(s->some.have + s->full.have));
		if (s->some.have) {
			sq_pack_cstr(pk, "some");
			pack_psi_line(pk, &s->some);
		}
		if (s->full.have) {
			sq_pack_cstr(pk, "full");
			pack_psi_line(pk, &s->full);
		}
	}
}

/* memory: total..shared; swap: its total and free under those names */
static void pack_mem(msgpack_packer *pk, const struct sq_host *h, unsigned from, unsigned to,
                     size_t skip)
{
	uint32_t n = 0;
	for (unsigned f = from; f < to; f++)
		n += (h->mem_have >> f) & 1u;
	msgpack_pack_map(pk, n);
	for (unsigned f = from; f < to; f++)
		if (h->mem_have & (1u << f))
			sq_pack_kv_u64(pk, sq_mem_name(f) + skip, h->mem[f]);
}

static void pack_host(msgpack_packer *out, const struct sq_host *h)
{
	struct sq_mapbuf m;
	msgpack_packer *pk;
	sq_mapbuf_init(&m);
	if (h->have & SQ_HOST_UPTIME)
		msgpack_pack_double(sq_mapbuf_key(&m, "uptime_s"), h->uptime_s);
	if (h->have & SQ_HOST_BOOT)
		msgpack_pack_double(sq_mapbuf_key(&m, "boot_time"), h->boot_time);
	if (h->have & SQ_HOST_LOAD) {
		pk = sq_mapbuf_key(&m, "load");
		msgpack_pack_array(pk, 3);
		for (int i = 0; i < 3; i++)
			msgpack_pack_double(pk, h->load[i]);
	}
	if (h->cpu.have)
		pack_cpu(sq_mapbuf_key(&m, "cpu"), &h->cpu, 0);
	if (h->ncpus) {
		pk = sq_mapbuf_key(&m, "cpus");
		msgpack_pack_array(pk, (uint32_t)h->ncpus);
		for (size_t i = 0; i < h->ncpus; i++)
			pack_cpu(pk, &h->cpus[i], 1);
	}
	if (h->mem_have & ((1u << SQ_MEM_SWAP_TOTAL) - 1u))
		pack_mem(sq_mapbuf_key(&m, "memory"), h, 0, SQ_MEM_SWAP_TOTAL, 0);
	if (h->mem_have >> SQ_MEM_SWAP_TOTAL)
		pack_mem(sq_mapbuf_key(&m, "swap"), h, SQ_MEM_SWAP_TOTAL, SQ_MEM_N,
		         strlen("swap_"));
	for (unsigned c = 0; c < SQ_COUNT_N; c++)
		if (h->count_have & (1u << c))
			msgpack_pack_uint64(sq_mapbuf_key(&m, sq_count_name(c)), h->count[c]);
	int psi = 0;
	for (unsigned i = 0; i < SQ_PSI_N; i++)
		psi |= h->psi[i].some.have | h->psi[i].full.have;
	if (psi)
		pack_pressure(sq_mapbuf_key(&m, "pressure"), h);
	sq_mapbuf_finish(&m, out);
}

int m_sys_host(struct sq_req *r)
{
	struct sq_host h;
	int rc = sq_host_read(&h);
	if (rc < 0)
		return sq_req_fail(r, rc, "cannot read the host's figures: %s", strerror(-rc));
	pack_host(&r->pk, &h);
	sq_host_free(&h);
	return 0;
}
