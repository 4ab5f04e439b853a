/* SPDX-License-Identifier: ISC */
/*
 * sq_host.h - the host's totals: uptime, boot time, load averages, CPU
 * times (all CPUs and each), memory and swap, process and thread counts,
 * and (Linux) pressure stall information.  Linux reads /proc in
 * host_linux.c; macOS asks Mach and sysctl in host_darwin.c; the names of
 * the figures (shared by both and by the protocol) live in host.c.
 *
 * A figure the OS does not give is absent (its bit clear in `have`), never
 * zero.  CPU times are seconds (Linux: clock ticks / USER_HZ; macOS: ticks /
 * CLK_TCK), memory in bytes, pressure totals in microseconds.
 */
#ifndef SQ_HOST_H
#define SQ_HOST_H

#include <stddef.h>
#include <stdint.h>

enum sq_cpu_mode {
	SQ_CPU_USER, SQ_CPU_NICE, SQ_CPU_SYSTEM, SQ_CPU_IDLE, SQ_CPU_IOWAIT,
	SQ_CPU_IRQ, SQ_CPU_SOFTIRQ, SQ_CPU_STEAL, SQ_CPU_NMODES
};

struct sq_host_cpu {
	int id;                      /* -1 for the total */
	unsigned have;               /* 1u << SQ_CPU_* */
	double s[SQ_CPU_NMODES];     /* seconds */
};

enum sq_mem_figure {
	SQ_MEM_TOTAL, SQ_MEM_AVAILABLE, SQ_MEM_FREE, SQ_MEM_BUFFERS, SQ_MEM_CACHED,
	SQ_MEM_SHARED, SQ_MEM_SWAP_TOTAL, SQ_MEM_SWAP_FREE, SQ_MEM_N
};

/* Counts: processes and threads that exist now, and Linux's /proc/stat
 * figures (runnable, blocked in I/O, forks and context switches since boot). */
enum sq_count {
	SQ_COUNT_PROCS, SQ_COUNT_THREADS, SQ_COUNT_RUNNING, SQ_COUNT_BLOCKED,
	SQ_COUNT_FORKS, SQ_COUNT_CTXT, SQ_COUNT_N
};

enum sq_psi_resource { SQ_PSI_CPU, SQ_PSI_MEMORY, SQ_PSI_IO, SQ_PSI_N };

struct sq_psi_line {
	int have;
	double avg10, avg60, avg300; /* percent of wall time */
	uint64_t total_us;
};
struct sq_psi {
	struct sq_psi_line some, full;
};

#define SQ_HOST_UPTIME (1u << 0)
#define SQ_HOST_BOOT   (1u << 1)
#define SQ_HOST_LOAD   (1u << 2)

struct sq_host {
	unsigned have;               /* SQ_HOST_* */
	double uptime_s;             /* seconds since boot */
	double boot_time;            /* Unix seconds */
	double load[3];              /* 1, 5 and 15 minutes */
	struct sq_host_cpu cpu;      /* all CPUs (have 0: unknown) */
	struct sq_host_cpu *cpus;    /* each online CPU, by id */
	size_t ncpus;
	unsigned mem_have;           /* 1u << SQ_MEM_* */
	uint64_t mem[SQ_MEM_N];      /* bytes */
	unsigned count_have;         /* 1u << SQ_COUNT_* */
	uint64_t count[SQ_COUNT_N];
	struct sq_psi psi[SQ_PSI_N]; /* Linux with CONFIG_PSI; else none */
};

/* Fill *h (zeroed here).  0, or a negative errno when nothing could be
 * read; what is missing is left out.  Free with sq_host_free. */
int sq_host_read(struct sq_host *h);
void sq_host_free(struct sq_host *h);

/* --- portable (host.c) --- */
/* Wire names: "user", "iowait"...; "total", "available", "swap_total"...;
 * "procs", "threads"...; "cpu", "memory", "io". */
const char *sq_cpu_mode_name(unsigned mode);
const char *sq_mem_name(unsigned fig);
const char *sq_count_name(unsigned c);
const char *sq_psi_name(unsigned res);

#endif
