/* SPDX-License-Identifier: ISC */
/*
 * proc.c - the portable half of the process layer (sq_proc.h): field
 * names as the wire spells them, pid list normalising, the owned buffer
 * and its layout (arguments, exe, cgroup path), and sq_proc_get over
 * proc_<os>.c's one-process reader (proc_os.h).  comm, args and exe
 * stay bytes here: whether they go out as str or bin is the codec's
 * choice (sq_pack_text, proto/msg.c).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proc_os.h"
#include "sq_proc.h"

static const char *const names[SQ_PROC_NFIELDS] = {
	[SQ_PROC_PID] = "pid",
	[SQ_PROC_PPID] = "ppid",
	[SQ_PROC_PGID] = "pgid",
	[SQ_PROC_SID] = "sid",
	[SQ_PROC_UID] = "uid",
	[SQ_PROC_EUID] = "euid",
	[SQ_PROC_GID] = "gid",
	[SQ_PROC_STATE] = "state",
	[SQ_PROC_COMM] = "comm",
	[SQ_PROC_ARGS] = "args",
	[SQ_PROC_EXE] = "exe",
	[SQ_PROC_START_TIME] = "start_time",
	[SQ_PROC_CPU_USER] = "cpu_user_ns",
	[SQ_PROC_CPU_SYSTEM] = "cpu_system_ns",
	[SQ_PROC_RSS] = "rss_bytes",
	[SQ_PROC_VSIZE] = "vsize_bytes",
	[SQ_PROC_THREADS] = "threads",
	[SQ_PROC_NICE] = "nice",
	[SQ_PROC_TTY] = "tty",
	[SQ_PROC_CPU_PERCENT] = "cpu_percent",
	[SQ_PROC_FDS] = "fds",
	[SQ_PROC_CGROUP] = "cgroup",
	[SQ_PROC_IO] = "io",
};

const char *sq_proc_field_name(unsigned field)
{
	return field < SQ_PROC_NFIELDS ? names[field] : NULL;
}

int sq_proc_field_find(const char *name, size_t len)
{
	for (int i = 0; i < SQ_PROC_NFIELDS; i++)
		if (strlen(names[i]) == len && memcmp(names[i], name, len) == 0)
			return i;
	return -1;
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
	return (x > y) - (x < y);
}

size_t sq_proc_sort_pids(pid_t *pids, size_t n)
{
	if (n == 0)
		return 0;
	qsort(pids, n, sizeof(*pids), cmp_pid);
	size_t k = 1;
	for (size_t i = 1; i < n; i++)
		if (pids[i] != pids[k - 1])
			pids[k++] = pids[i];
	return k;
}

int sq_proc_reserve(struct sq_proc *p, size_t n)
{
	if (n <= p->cap)
		return 0;
	size_t cap = p->cap ? p->cap : 4096;
	while (cap < n)
		cap *= 2;
	char *b = realloc(p->buf, cap);
	if (!b)
		return -ENOMEM;
	p->buf = b;
	p->cap = cap;
	return 0;
}

int sq_proc_get(pid_t pid, unsigned fields, struct sq_proc *p)
{
	if (pid <= 0)
		return -EINVAL;
	struct sq_proc_reader *rd = malloc(sq_proc_os_reader_size);
	if (!rd)
		return -ENOMEM;
	int rc = sq_proc_os_open(rd, fields);
	if (rc == 0) {
		struct sq_proc *q = sq_proc_os_proc(rd);
		q->buf = p->buf; /* lend the reader the caller's buffer */
		q->cap = p->cap;
		rc = sq_proc_os_read(rd, pid);
		*p = *q;
		q->buf = NULL; /* and take it back */
		q->cap = 0;
	}
	sq_proc_os_close(rd);
	free(rd);
	return rc == 1 ? -ESRCH : rc;
}

int sq_proc_own_strings(struct sq_proc *p, const char *exe, size_t exe_len,
                        const char *cgroup, size_t cgroup_len)
{
	size_t alen = (p->have & SQ_PROC_BIT(SQ_PROC_ARGS)) ? p->args_len : 0;
	size_t elen = (p->have & SQ_PROC_BIT(SQ_PROC_EXE)) ? exe_len : 0;
	size_t clen = (p->have & SQ_PROC_BIT(SQ_PROC_CGROUP)) ? cgroup_len : 0;
	if (p->have & (SQ_PROC_BIT(SQ_PROC_EXE) | SQ_PROC_BIT(SQ_PROC_CGROUP))) {
		if (sq_proc_reserve(p, alen + elen + clen + 1) < 0)
			return -ENOMEM;
		if (elen)
			memcpy(p->buf + alen, exe, elen);
		if (clen)
			memcpy(p->buf + alen + elen, cgroup, clen);
	}
	if (p->have & SQ_PROC_BIT(SQ_PROC_EXE)) {
		p->exe = p->buf + alen;
		p->exe_len = elen;
	}
	if (p->have & SQ_PROC_BIT(SQ_PROC_CGROUP)) {
		p->cgroup = p->buf + alen + elen;
		p->cgroup_len = clen;
	}
	if (p->have & SQ_PROC_BIT(SQ_PROC_ARGS))
		p->args = p->buf;
	return 0;
}

void sq_proc_release(struct sq_proc *p)
{
	free(p->buf);
	p->buf = NULL;
	p->cap = 0;
	p->args = p->exe = NULL;
	p->args_len = p->exe_len = 0;
}
