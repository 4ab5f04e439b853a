/* SPDX-License-Identifier: ISC */
/*
 * proc_darwin.c - the process table on macOS: sysctl KERN_PROC (kinfo_proc)
 * for the table, KERN_PROCARGS2 for args, proc_pidpath for exe and
 * proc_pidinfo(PROC_PIDTASKINFO) for cpu, memory and threads.  The last
 * three are checked by the kernel against the thread's credential, so they
 * are absent for processes the caller may not inspect.  kill(2) ignores
 * per-thread credentials, so sq_proc_kill applies the rule itself.
 */
#include <errno.h>
#include <libproc.h>
#include <mach/mach_time.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/proc_info.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <sys/sysctl.h>
#include <sys/time.h>
#include <sys/types.h>
#include <unistd.h>

#include "proc_os.h"
#include "sq_proc.h"

#define F(x) SQ_PROC_BIT(SQ_PROC_##x)
#define NEED_TASK (F(CPU_USER) | F(CPU_SYSTEM) | F(RSS) | F(VSIZE) | F(THREADS) | F(STATE) | \
                   F(CPU_PERCENT))

struct scan {
	unsigned fields;
	double tick_ns;         /* mach absolute time unit in ns (1 on x86_64) */
	char *argbuf;           /* KERN_PROCARGS2 scratch, kern.argmax bytes */
	size_t argmax;
	struct sq_proc p;
	char exe[PROC_PIDPATHINFO_MAXSIZE];
};

static int scan_open(struct scan *s, unsigned fields)
{
	memset(s, 0, sizeof(*s));
	s->fields = fields | F(PID);
	mach_timebase_info_data_t tb;
	s->tick_ns = mach_timebase_info(&tb) == KERN_SUCCESS && tb.denom
	                 ? (double)tb.numer / (double)tb.denom : 1.0;
	if (s->fields & F(ARGS)) {
		int mib[2] = { CTL_KERN, KERN_ARGMAX };
		int argmax = 0;
		size_t len = sizeof(argmax);
		if (sysctl(mib, 2, &argmax, &len, NULL, 0) < 0 || argmax <= 0)
			argmax = 1024 * 1024;
		s->argmax = (size_t)argmax;
		s->argbuf = malloc(s->argmax);
		if (!s->argbuf)
			return -ENOMEM;
	}
	return 0;
}

static void scan_close(struct scan *s)
{
	free(s->argbuf);
	sq_proc_release(&s->p);
}

/* KERN_PROCARGS2: int argc, the exec path, NUL padding, then argc
 * NUL-terminated arguments (then the environment, which is not ours). */
static int read_args(struct scan *s, pid_t pid)
{
	struct sq_proc *p = &s->p;
	int mib[3] = { CTL_KERN, KERN_PROCARGS2, pid };
	size_t len = s->argmax;
	if (sysctl(mib, 3, s->argbuf, &len, NULL, 0) < 0 || len < sizeof(int))
		return -1;
	int argc;
	memcpy(&argc, s->argbuf, sizeof(argc));
	const char *q = s->argbuf + sizeof(int), *end = s->argbuf + len;
	while (q < end && *q)
		q++; /* exec path */
	while (q < end && !*q)
		q++; /* padding */
	const char *start = q;
	for (int i = 0; i < argc && q < end; i++) {
		const char *nul = memchr(q, '\0', (size_t)(end - q));
		q = nul ? nul + 1 : end;
	}
	size_t n = (size_t)(q - start);
	p->args_cut = n > SQ_PROC_ARGS_MAX;
	if (p->args_cut)
		n = SQ_PROC_ARGS_MAX;
	if (sq_proc_reserve(p, n + 1) < 0)
		return -ENOMEM;
	memcpy(p->buf, start, n);
	p->args_len = n;
	p->have |= F(ARGS);
	return 0;
}

static char state_of(const struct kinfo_proc *k, const struct proc_taskinfo *ti, int have_ti)
{
	switch (k->kp_proc.p_stat) {
	case SSTOP: return 'T';
	case SZOMB: return 'Z';
	case SSLEEP: return 'S';
	case SIDL: return 'R';
	case SRUN: /* a process "runs" while any thread exists: ask the task */
		return have_ti && ti->pti_numrunning == 0 ? 'S' : 'R';
	default: return '?';
	}
}

/* 0 filled, 1 gone, -ENOMEM. */
static int fill(struct scan *s, const struct kinfo_proc *k)
{
	struct sq_proc *p = &s->p;
	unsigned want = s->fields;
	pid_t pid = k->kp_proc.p_pid;

	p->have = F(PID) | F(PPID) | F(PGID) | F(UID) | F(EUID) | F(GID) | F(COMM) |
	          F(START_TIME) | F(NICE) | F(TTY) | F(STATE);
	p->pid = pid;
	p->ppid = k->kp_eproc.e_ppid;
	p->pgid = k->kp_eproc.e_pgid;
	p->uid = k->kp_eproc.e_pcred.p_ruid;
	p->euid = k->kp_eproc.e_ucred.cr_uid;
	p->gid = k->kp_eproc.e_pcred.p_rgid;
	p->comm_len = strnlen(k->kp_proc.p_comm, sizeof(k->kp_proc.p_comm));
	memcpy(p->comm, k->kp_proc.p_comm, p->comm_len);
	p->start_time = (double)k->kp_proc.p_starttime.tv_sec +
	                (double)k->kp_proc.p_starttime.tv_usec / 1e6;
	p->nice = k->kp_proc.p_nice;
	p->args = p->exe = p->cgroup = NULL;
	p->args_len = p->exe_len = p->cgroup_len = 0;
	p->args_cut = 0;
	p->tty[0] = '\0';
	if ((want & F(TTY)) && k->kp_eproc.e_tdev != NODEV) {
		const char *name = devname(k->kp_eproc.e_tdev, S_IFCHR);
		if (name && strcmp(name, "??") != 0)
			snprintf(p->tty, sizeof(p->tty), "%s", name);
		else
			snprintf(p->tty, sizeof(p->tty), "%d:%d", major(k->kp_eproc.e_tdev),
			         minor(k->kp_eproc.e_tdev));
	}
	if (want & F(SID)) {
		pid_t sid = getsid(pid);
		if (sid >= 0) {
			p->sid = sid;
			p->have |= F(SID);
		}
	}
	struct proc_taskinfo ti;
	int have_ti = 0;
	if (want & NEED_TASK) {
		have_ti = proc_pidinfo(pid, PROC_PIDTASKINFO, 0, &ti, sizeof(ti)) == (int)sizeof(ti);
		if (!have_ti && errno == ESRCH)
			return 1;
	}
	p->state = state_of(k, &ti, have_ti);
	if (have_ti) {
		p->cpu_user_ns = (uint64_t)((double)ti.pti_total_user * s->tick_ns);
		p->cpu_system_ns = (uint64_t)((double)ti.pti_total_system * s->tick_ns);
		p->rss_bytes = ti.pti_resident_size;
		p->vsize_bytes = ti.pti_virtual_size;
		p->threads = ti.pti_threadnum;
		p->have |= F(CPU_USER) | F(CPU_SYSTEM) | F(RSS) | F(VSIZE) | F(THREADS);
		/* as ps(1)'s %CPU: CPU time over the time since the process started */
		struct timeval now;
		gettimeofday(&now, NULL);
		double life = (double)now.tv_sec + (double)now.tv_usec / 1e6 - p->start_time;
		double cpu_s = (double)(p->cpu_user_ns + p->cpu_system_ns) / 1e9;
		p->cpu_percent = life > 0 ? cpu_s / life * 100.0 : 0.0;
		p->have |= F(CPU_PERCENT);
	}
	if (want & F(FDS)) { /* the kernel checks the thread's credential */
		int bytes = proc_pidinfo(pid, PROC_PIDLISTFDS, 0, NULL, 0);
		if (bytes >= 0) {
			p->fds = (uint32_t)((size_t)bytes / sizeof(struct proc_fdinfo));
			p->have |= F(FDS);
		}
	}
	if (want & F(IO)) { /* storage bytes only: no rchar/wchar on macOS */
		struct rusage_info_v2 ru;
		if (proc_pid_rusage(pid, RUSAGE_INFO_V2, (rusage_info_t *)&ru) == 0) {
			p->io_read_bytes = ru.ri_diskio_bytesread;
			p->io_write_bytes = ru.ri_diskio_byteswritten;
			p->io_rchar = p->io_wchar = UINT64_MAX; /* absent */
			p->have |= F(IO);
		}
	}
	if ((want & F(ARGS)) && read_args(s, pid) == -ENOMEM)
		return -ENOMEM;
	size_t exe_len = 0;
	if (want & F(EXE)) {
		int n = proc_pidpath(pid, s->exe, sizeof(s->exe));
		if (n > 0) {
			exe_len = (size_t)n;
			p->have |= F(EXE);
		}
	}
	return sq_proc_own_strings(p, s->exe, exe_len, NULL, 0);
}

/* The kinfo_proc of one pid: 0, 1 when there is none, or a negative errno. */
static int kinfo_one(pid_t pid, struct kinfo_proc *k)
{
	int mib[4] = { CTL_KERN, KERN_PROC, KERN_PROC_PID, pid };
	size_t len = sizeof(*k);
	if (sysctl(mib, 4, k, &len, NULL, 0) < 0)
		return errno == ESRCH ? 1 : -errno;
	return len < sizeof(*k) || k->kp_proc.p_pid != pid ? 1 : 0;
}

/* The whole table (or one real uid's): malloc'd, *n entries. */
static int kinfo_all(int64_t uid, struct kinfo_proc **out, size_t *n)
{
	int mib[4] = { CTL_KERN, KERN_PROC, uid >= 0 ? KERN_PROC_RUID : KERN_PROC_ALL,
	               uid >= 0 ? (int)uid : 0 };
	u_int miblen = uid >= 0 ? 4 : 3;
	for (int tries = 0; tries < 8; tries++) {
		size_t len = 0;
		if (sysctl(mib, miblen, NULL, &len, NULL, 0) < 0)
			return -errno;
		len += len / 8 + 16 * sizeof(struct kinfo_proc); /* room to grow */
		struct kinfo_proc *k = malloc(len);
		if (!k)
			return -ENOMEM;
		if (sysctl(mib, miblen, k, &len, NULL, 0) == 0) {
			*out = k;
			*n = len / sizeof(*k);
			return 0;
		}
		int err = errno;
		free(k);
		if (err != ENOMEM)
			return -err;
	}
	return -EAGAIN;
}

int sq_proc_scan(const struct sq_proc_query *q, sq_proc_cb cb, void *arg)
{
	const pid_t *pids = q->pids;
	size_t npids = q->pids ? q->npids : 0;
	int64_t uid_filter = q->by_uid ? (int64_t)q->uid : -1;
	struct scan *s = malloc(sizeof(*s));
	if (!s)
		return -ENOMEM;
	int rc = scan_open(s, q->fields);
	if (rc == 0 && npids) {
		pid_t *list = malloc(npids * sizeof(*list));
		if (!list)
			rc = -ENOMEM;
		else
			memcpy(list, pids, npids * sizeof(*list));
		size_t n = list ? sq_proc_sort_pids(list, npids) : 0;
		for (size_t i = 0; i < n && rc == 0; i++) {
			struct kinfo_proc k;
			if (list[i] <= 0)
				continue;
			int r1 = kinfo_one(list[i], &k);
			if (r1 == 0 && uid_filter >= 0 && k.kp_eproc.e_pcred.p_ruid != uid_filter)
				r1 = 1;
			if (r1 == 0)
				r1 = fill(s, &k);
			rc = r1 < 0 ? r1 : r1 == 0 ? cb(&s->p, arg) : 0;
		}
		free(list);
	} else if (rc == 0) {
		struct kinfo_proc *all = NULL;
		size_t n = 0;
		rc = kinfo_all(uid_filter, &all, &n);
		/* the kernel lists newest first; report ascending pids like Linux */
		for (size_t i = n; rc == 0 && i-- > 0;) {
			int r1 = fill(s, &all[i]);
			rc = r1 < 0 ? r1 : r1 == 0 ? cb(&s->p, arg) : 0;
		}
		free(all);
	}
	scan_close(s);
	free(s);
	return rc;
}

/* One thread here: everything is chunk 0 (sq_proc.h allows that). */
static int to_sink(const struct sq_proc *p, void *arg)
{
	const struct sq_proc_sink *sink = arg;
	return sink->proc(p, 0, sink->arg);
}

int sq_proc_scan_chunked(const struct sq_proc_query *q, const struct sq_proc_sink *sink)
{
	struct sq_proc_sink copy = *sink;
	int rc = copy.begin ? copy.begin(1, copy.arg) : 0;
	return rc ? rc : sq_proc_scan(q, to_sink, &copy);
}

/* One process at a time, for sq_proc_get (proc.c, proc_os.h). */
struct sq_proc_reader {
	struct scan s;
};

const size_t sq_proc_os_reader_size = sizeof(struct sq_proc_reader);

int sq_proc_os_open(struct sq_proc_reader *rd, unsigned fields)
{
	return scan_open(&rd->s, fields);
}

struct sq_proc *sq_proc_os_proc(struct sq_proc_reader *rd)
{
	return &rd->s.p;
}

int sq_proc_os_read(struct sq_proc_reader *rd, pid_t pid)
{
	struct kinfo_proc k;
	int rc = kinfo_one(pid, &k);
	if (rc)
		return rc > 0 ? 1 : rc;
	return fill(&rd->s, &k);
}

void sq_proc_os_close(struct sq_proc_reader *rd)
{
	scan_close(&rd->s);
}

/*
 * xnu's kill(2) checks the process credential, not the thread's, so the
 * rule is applied here: root, or the caller's uid equal to the target's
 * real or saved uid (cansignal() in xnu, without its same-session SIGCONT
 * case).  sysqd itself and its children are refused for every caller
 * (-EACCES): a STOP would freeze the daemon.  Caveat: between this check
 * and kill(2) the pid could be reused by another process; pids wrap at
 * 99999 on macOS, so that needs a full wrap in microseconds, but it is not
 * impossible.
 */
int sq_proc_kill(pid_t pid, int sig, const struct sq_cred *caller)
{
	if (pid <= 0)
		return -EINVAL;
	if (pid == getpid())
		return -EACCES;
	struct kinfo_proc k;
	int rc = kinfo_one(pid, &k);
	if (rc)
		return rc > 0 ? -ESRCH : rc;
	if (k.kp_eproc.e_ppid == getpid())
		return -EACCES;
	if (caller && caller->uid != 0 &&
	    caller->uid != k.kp_eproc.e_pcred.p_ruid &&
	    caller->uid != k.kp_eproc.e_pcred.p_svuid)
		return -EPERM;
	return kill(pid, sig) < 0 ? -errno : 0;
}
