/* SPDX-License-Identifier: ISC */
/*
 * host.c - the names of sq_host.h's figures, shared by Linux and macOS and
 * used as the protocol's keys (sys.host).
 */
#include "sq_host.h"

static const char *const cpu_modes[SQ_CPU_NMODES] = {
	"user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal",
};
static const char *const mems[SQ_MEM_N] = {
	"total", "available", "free", "buffers", "cached", "shared", "swap_total", "swap_free",
};
static const char *const counts[SQ_COUNT_N] = {
	"procs", "threads", "procs_running", "procs_blocked", "forks", "context_switches",
};
static const char *const psis[SQ_PSI_N] = { "cpu", "memory", "io" };

const char *sq_cpu_mode_name(unsigned mode)
{
	return mode < SQ_CPU_NMODES ? cpu_modes[mode] : NULL;
}

const char *sq_mem_name(unsigned fig)
{
	return fig < SQ_MEM_N ? mems[fig] : NULL;
}

const char *sq_count_name(unsigned c)
{
	return c < SQ_COUNT_N ? counts[c] : NULL;
}

const char *sq_psi_name(unsigned res)
{
	return res < SQ_PSI_N ? psis[res] : NULL;
}
