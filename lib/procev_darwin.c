/* SPDX-License-Identifier: ISC */
/*
 * procev_darwin.c - process events on macOS: one kqueue with EVFILT_PROC
 * (NOTE_FORK, NOTE_EXEC, NOTE_EXIT) on every process.  NOTE_FORK names the
 * parent only, so a fork re-lists the processes (proc_listallpids) and
 * each new one is told as its parent's fork and watched in turn.
 * Snapshots from proc_pidinfo(PROC_PIDTBSDINFO) and KERN_PROCARGS2; the
 * view rule is proc.list's: others' args only for root.
 */
#include <errno.h>
#include <fcntl.h>
#include <libproc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/event.h>
#include <sys/proc_info.h>
#include <sys/sysctl.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sq_procev.h"

struct sq_procev_src {
	int kq;
	pid_t *known;               /* sorted: the processes watched */
	size_t nknown;
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
	return (x > y) - (x < y);
}

static void watch_pid(int kq, pid_t pid)
{
	struct kevent ev;
	EV_SET(&ev, (uintptr_t)pid, EVFILT_PROC, EV_ADD | EV_CLEAR,
	       NOTE_FORK | NOTE_EXEC | NOTE_EXIT | NOTE_EXITSTATUS, 0, NULL);
	if (kevent(kq, &ev, 1, NULL, 0, NULL) < 0) {
		/* NOTE_EXITSTATUS is the parent's only */
		EV_SET(&ev, (uintptr_t)pid, EVFILT_PROC, EV_ADD | EV_CLEAR,
		       NOTE_FORK | NOTE_EXEC | NOTE_EXIT, 0, NULL);
		(void)kevent(kq, &ev, 1, NULL, 0, NULL);
	}
}

/* List the processes now; watch the new ones and tell their forks (when
 * emit).  0 or -errno. */
static int relist(struct sq_procev_src *s, sq_procev_emit_fn emit, void *arg)
{
	int n = proc_listallpids(NULL, 0);
	if (n <= 0)
		return -errno;
	size_t cap = (size_t)n + 256;
	pid_t *now = malloc(cap * sizeof(*now));
	if (!now)
		return -ENOMEM;
	n = proc_listallpids(now, (int)(cap * sizeof(*now)));
	if (n <= 0) {
		free(now);
		return -errno;
	}
	qsort(now, (size_t)n, sizeof(*now), cmp_pid);
	for (int i = 0; i < n; i++) {
		if (s->known && bsearch(&now[i], s->known, s->nknown, sizeof(pid_t), cmp_pid))
			continue;
		watch_pid(s->kq, now[i]);
		if (!emit)
			continue;
		struct proc_bsdinfo bi;
		struct sq_procev ev;
		memset(&ev, 0, sizeof(ev));
		ev.what = SQ_PROCEV_FORK;
		ev.pid = now[i];
		ev.ppid = proc_pidinfo(now[i], PROC_PIDTBSDINFO, 0, &bi, sizeof(bi)) ==
		          (int)sizeof(bi) ? (pid_t)bi.pbi_ppid : -1;
		ev.time_ns = now_ns();
		emit(arg, &ev);
	}
	free(s->known);
	s->known = now;
	s->nknown = (size_t)n;
	return 0;
}

int sq_procev_open(struct sq_procev_src **out, int rcvbuf, int *fd, int *how)
{
	(void)rcvbuf; /* a kqueue has no buffer to size */
	struct sq_procev_src *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->kq = kqueue();
	if (s->kq < 0) {
		int err = -errno;
		free(s);
		return err;
	}
	(void)fcntl(s->kq, F_SETFD, FD_CLOEXEC);
	int rc = relist(s, NULL, NULL);
	if (rc < 0) {
		close(s->kq);
		free(s);
		return rc;
	}
	*out = s;
	*fd = s->kq;
	*how = SQ_WATCH_READABLE;
	return 0;
}

int sq_procev_read(struct sq_procev_src *s, sq_procev_emit_fn emit, void *arg)
{
	struct kevent evs[64];
	struct timespec zero = { 0, 0 };
	int n;
	/* kevents are state on each knote: none is dropped, no gap */
	while ((n = kevent(s->kq, NULL, 0, evs, 64, &zero)) > 0) {
		bool forked = false;
		for (int i = 0; i < n; i++) {
			const struct kevent *k = &evs[i];
			if (k->filter != EVFILT_PROC)
				continue;
			struct sq_procev ev;
			memset(&ev, 0, sizeof(ev));
			ev.pid = (pid_t)k->ident;
			ev.ppid = -1;
			ev.time_ns = now_ns();
			if (k->fflags & NOTE_FORK)
				forked = true;
			if (k->fflags & NOTE_EXEC) {
				ev.what = SQ_PROCEV_EXEC;
				emit(arg, &ev);
			}
			if (k->fflags & NOTE_EXIT) {
				ev.what = SQ_PROCEV_EXIT;
				if (k->fflags & NOTE_EXITSTATUS) {
					int st = (int)k->data;
					ev.status.known = true;
					if (WIFSIGNALED(st)) {
						ev.status.signaled = true;
						ev.status.code = WTERMSIG(st);
						ev.status.core = WCOREDUMP(st) != 0;
					} else {
						ev.status.code = WEXITSTATUS(st);
					}
				}
				emit(arg, &ev);
			}
		}
		if (forked) {
			int rc = relist(s, emit, arg);
			if (rc < 0)
				return rc;
		}
	}
	return n < 0 && errno != EINTR ? -errno : 0;
}

void sq_procev_close(struct sq_procev_src *s)
{
	if (!s)
		return;
	close(s->kq);
	free(s->known);
	free(s);
}

bool sq_proc_exited(pid_t pid)
{
	struct proc_bsdinfo bi;
	if (proc_pidinfo(pid, PROC_PIDTBSDINFO, 0, &bi, sizeof(bi)) != (int)sizeof(bi))
		return true;
	return bi.pbi_status == SZOMB;
}

int sq_proc_seen(pid_t pid, bool *exited)
{
	struct proc_bsdinfo bi;
	*exited = false;
	if (pid <= 0)
		return -ESRCH;
	/* the process table is everyone's on macOS */
	if (proc_pidinfo(pid, PROC_PIDTBSDINFO, 0, &bi, sizeof(bi)) != (int)sizeof(bi))
		return -ESRCH;
	*exited = bi.pbi_status == SZOMB;
	return 0;
}

void sq_procsnap_read(pid_t pid, bool with_args, struct sq_procsnap *s)
{
	memset(s, 0, sizeof(*s));
	s->ppid = -1;
	struct proc_bsdinfo bi;
	if (proc_pidinfo(pid, PROC_PIDTBSDINFO, 0, &bi, sizeof(bi)) != (int)sizeof(bi))
		return;
	s->known = true;
	s->ppid = (pid_t)bi.pbi_ppid;
	s->uid[0] = bi.pbi_ruid;
	s->uid[1] = bi.pbi_uid;
	s->uid[2] = bi.pbi_svuid;
	s->gid[0] = bi.pbi_rgid;
	s->gid[1] = bi.pbi_gid;
	s->gid[2] = bi.pbi_svgid;
	s->owner = bi.pbi_uid;
	s->comm_len = strnlen(bi.pbi_comm, sizeof(bi.pbi_comm));
	if (s->comm_len >= sizeof(s->comm))
		s->comm_len = sizeof(s->comm) - 1;
	memcpy(s->comm, bi.pbi_comm, s->comm_len);
	if (!with_args)
		return;
	int mib[3] = { CTL_KERN, KERN_PROCARGS2, pid };
	size_t len = 65536;
	char *buf = malloc(len);
	if (!buf || sysctl(mib, 3, buf, &len, NULL, 0) < 0 || len < sizeof(int)) {
		free(buf);
		return;
	}
	int argc;
	memcpy(&argc, buf, sizeof(argc));
	const char *q = buf + sizeof(int), *end = buf + len;
	while (q < end && *q)
		q++; /* the exec path */
	while (q < end && !*q)
		q++;
	const char *start = q;
	for (int i = 0; i < argc && q < end; i++) {
		const char *nul = memchr(q, '\0', (size_t)(end - q));
		q = nul ? nul + 1 : end;
	}
	size_t n = (size_t)(q - start);
	memmove(buf, start, n);
	s->args = buf;
	s->args_len = n && buf[n - 1] == '\0' ? n - 1 : n;
}

void sq_procsnap_free(struct sq_procsnap *s)
{
	free(s->args);
	s->args = NULL;
}

int sq_procvis_read(struct sq_procvis *v)
{
	memset(v, 0, sizeof(*v)); /* no hidepid on macOS */
	return 0;
}

enum sq_procview sq_procview(const struct sq_procvis *v, const struct sq_cred *caller,
                             const struct sq_procsnap *s)
{
	(void)v;
	if (caller->uid == 0 || (s->known && s->uid[0] == caller->uid && s->uid[1] == caller->uid))
		return SQ_VIEW_ALL;
	return SQ_VIEW_NOARGS; /* the process table is everyone's; args are not */
}
