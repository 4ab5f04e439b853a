/* SPDX-License-Identifier: ISC */
/*
 * host_darwin.c - the host's totals on macOS: kern.boottime (uptime and
 * boot time), vm.loadavg, host_processor_info (CPU ticks per CPU: user,
 * nice, system, idle; the rest Linux-only, so absent), host_statistics64
 * (free and inactive pages) with hw.memsize, vm.swapusage, proc_listallpids
 * and the default processor set's task and thread counts.  No pressure
 * stall information: absent.
 */
#include <errno.h>
#include <libproc.h>
#include <mach/mach.h>
#include <mach/mach_host.h>
#include <mach/processor_info.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysctl.h>
#include <sys/time.h>
#include <unistd.h>

#include "sq_host.h"

static void read_boot(struct sq_host *h)
{
	struct timeval bt, now;
	size_t len = sizeof(bt);
	if (sysctlbyname("kern.boottime", &bt, &len, NULL, 0) < 0 || len != sizeof(bt))
		return;
	h->boot_time = (double)bt.tv_sec + (double)bt.tv_usec / 1e6;
	h->have |= SQ_HOST_BOOT;
	if (gettimeofday(&now, NULL) == 0) {
		h->uptime_s = (double)(now.tv_sec - bt.tv_sec) +
		              (double)(now.tv_usec - bt.tv_usec) / 1e6;
		h->have |= SQ_HOST_UPTIME;
	}
}

static void read_load(struct sq_host *h)
{
	struct loadavg la;
	size_t len = sizeof(la);
	if (sysctlbyname("vm.loadavg", &la, &len, NULL, 0) < 0 || la.fscale == 0)
		return;
	for (int i = 0; i < 3; i++)
		h->load[i] = (double)la.ldavg[i] / (double)la.fscale;
	h->have |= SQ_HOST_LOAD;
}

static int read_cpus(struct sq_host *h)
{
	natural_t n = 0;
	processor_info_array_t info;
	mach_msg_type_number_t ninfo;
	if (host_processor_info(mach_host_self(), PROCESSOR_CPU_LOAD_INFO, &n, &info,
	                        &ninfo) != KERN_SUCCESS)
		return 0;
	long tck = sysconf(_SC_CLK_TCK);
	double hz = tck > 0 ? (double)tck : 100.0;
	h->cpus = calloc(n ? n : 1, sizeof(*h->cpus));
	if (!h->cpus) {
		vm_deallocate(mach_task_self(), (vm_address_t)info, ninfo * sizeof(*info));
		return -ENOMEM;
	}
	static const struct { int state; unsigned mode; } map[] = {
		{ CPU_STATE_USER, SQ_CPU_USER }, { CPU_STATE_NICE, SQ_CPU_NICE },
		{ CPU_STATE_SYSTEM, SQ_CPU_SYSTEM }, { CPU_STATE_IDLE, SQ_CPU_IDLE },
	};
	const processor_cpu_load_info_t load = (processor_cpu_load_info_t)info;
	h->cpu.id = -1;
	for (natural_t i = 0; i < n; i++) {
		struct sq_host_cpu *c = &h->cpus[i];
		c->id = (int)i;
		for (size_t k = 0; k < sizeof(map) / sizeof(map[0]); k++) {
			double s = (double)load[i].cpu_ticks[map[k].state] / hz;
			c->s[map[k].mode] = s;
			c->have |= 1u << map[k].mode;
			h->cpu.s[map[k].mode] += s;
			h->cpu.have |= 1u << map[k].mode;
		}
	}
	h->ncpus = n;
	vm_deallocate(mach_task_self(), (vm_address_t)info, ninfo * sizeof(*info));
	return 0;
}

static void read_memory(struct sq_host *h)
{
	uint64_t total;
	size_t len = sizeof(total);
	if (sysctlbyname("hw.memsize", &total, &len, NULL, 0) == 0) {
		h->mem[SQ_MEM_TOTAL] = total;
		h->mem_have |= 1u << SQ_MEM_TOTAL;
	}
	vm_statistics64_data_t vm;
	mach_msg_type_number_t count = HOST_VM_INFO64_COUNT;
	vm_size_t page = 0;
	if (host_page_size(mach_host_self(), &page) == KERN_SUCCESS &&
	    host_statistics64(mach_host_self(), HOST_VM_INFO64, (host_info64_t)&vm,
	                      &count) == KERN_SUCCESS) {
		uint64_t free_b = (uint64_t)(vm.free_count - vm.speculative_count) * page;
		h->mem[SQ_MEM_FREE] = free_b;
		/* what can be had without paging out: free and inactive pages
		 * (psutil's and top(1)'s reading) */
		h->mem[SQ_MEM_AVAILABLE] = free_b +
		        (uint64_t)(vm.inactive_count + vm.speculative_count) * page;
		/* file-backed pages: the page cache */
		h->mem[SQ_MEM_CACHED] = (uint64_t)vm.external_page_count * page;
		h->mem_have |= 1u << SQ_MEM_FREE | 1u << SQ_MEM_AVAILABLE | 1u << SQ_MEM_CACHED;
	}
	struct xsw_usage sw;
	len = sizeof(sw);
	if (sysctlbyname("vm.swapusage", &sw, &len, NULL, 0) == 0) {
		h->mem[SQ_MEM_SWAP_TOTAL] = sw.xsu_total;
		h->mem[SQ_MEM_SWAP_FREE] = sw.xsu_avail;
		h->mem_have |= 1u << SQ_MEM_SWAP_TOTAL | 1u << SQ_MEM_SWAP_FREE;
	}
}

static void read_counts(struct sq_host *h)
{
	int n = proc_listallpids(NULL, 0);
	if (n > 0) {
		h->count[SQ_COUNT_PROCS] = (uint64_t)n;
		h->count_have |= 1u << SQ_COUNT_PROCS;
	}
	processor_set_name_t pset;
	struct processor_set_load_info li;
	mach_msg_type_number_t count = PROCESSOR_SET_LOAD_INFO_COUNT;
	if (processor_set_default(mach_host_self(), &pset) != KERN_SUCCESS)
		return;
	if (processor_set_statistics(pset, PROCESSOR_SET_LOAD_INFO, (processor_set_info_t)&li,
	                             &count) == KERN_SUCCESS) {
		h->count[SQ_COUNT_THREADS] = (uint64_t)li.thread_count;
		h->count_have |= 1u << SQ_COUNT_THREADS;
	}
	mach_port_deallocate(mach_task_self(), pset);
}

int sq_host_read(struct sq_host *h)
{
	memset(h, 0, sizeof(*h));
	h->cpu.id = -1;
	read_boot(h);
	read_load(h);
	int rc = read_cpus(h);
	if (rc < 0)
		return rc;
	read_memory(h);
	read_counts(h);
	return 0;
}

void sq_host_free(struct sq_host *h)
{
	free(h->cpus);
	h->cpus = NULL;
	h->ncpus = 0;
}
