/* SPDX-License-Identifier: ISC */
/*
 * procev_linux.c - process events on Linux: the process-events connector
 * (a NETLINK_CONNECTOR socket joined to CN_IDX_PROC, PROC_CN_MCAST_LISTEN;
 * needs CAP_NET_ADMIN), snapshots read from /proc/PID as the daemon, and
 * the view rule of /proc's hidepid= and gid= options and the kernel's
 * ptrace read check.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "netlink_linux.h"
#include "sq_procev.h"

struct sq_procev_src {
	int fd;
	int64_t mono_to_real;       /* CLOCK_REALTIME - CLOCK_MONOTONIC, ns */
};

static int64_t clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* One connector message: the netlink header, cn_msg, then the payload (in
 * a buffer: a struct holding cn_msg, whose data[] is a flexible array,
 * followed by the payload is a GNU extension). */
static int send_op(int fd, enum proc_cn_mcast_op op)
{
	union {
		struct nlmsghdr align;
		char bytes[NLMSG_LENGTH(sizeof(struct cn_msg) + sizeof(op))];
	} m;
	memset(&m, 0, sizeof(m));
	struct nlmsghdr *nl = (struct nlmsghdr *)m.bytes;
	nl->nlmsg_len = sizeof(m.bytes);
	nl->nlmsg_type = NLMSG_DONE;
	nl->nlmsg_pid = 0;
	struct cn_msg *cn = NLMSG_DATA(nl);
	cn->id.idx = CN_IDX_PROC;
	cn->id.val = CN_VAL_PROC;
	cn->len = sizeof(op);
	memcpy(cn->data, &op, sizeof(op));
	return send(fd, m.bytes, sizeof(m.bytes), 0) < 0 ? -errno : 0;
}

int sq_procev_open(struct sq_procev_src **out, int rcvbuf, int *fd, int *how)
{
	struct sq_procev_src *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	int f = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_CONNECTOR);
	if (f < 0) {
		free(s);
		return -errno;
	}
	/* room for a burst (a fork storm); beyond it the kernel says ENOBUFS */
	int sz = rcvbuf > 0 ? rcvbuf : 8 << 20;
	if (setsockopt(f, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
		setsockopt(f, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = CN_IDX_PROC };
	int rc = 0;
	if (bind(f, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    (rc = send_op(f, PROC_CN_MCAST_LISTEN)) < 0) {
		int err = rc ? rc : -errno;
		close(f);
		free(s);
		return err;
	}
	s->fd = f;
	s->mono_to_real = clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_MONOTONIC);
	*out = s;
	*fd = f;
	*how = SQ_WATCH_READABLE;
	return 0;
}

static void status_of(int w, struct sq_exit_status *st)
{
	memset(st, 0, sizeof(*st));
	st->known = true;
	if ((w & 0x7f) == 0) {
		st->code = (w >> 8) & 0xff;
	} else {
		st->signaled = true;
		st->code = w & 0x7f;
		st->core = (w & 0x80) != 0;
	}
}

static void on_event(struct sq_procev_src *s, const struct proc_event *pe,
                     sq_procev_emit_fn emit, void *arg)
{
	struct sq_procev ev;
	memset(&ev, 0, sizeof(ev));
	ev.ppid = -1;
	ev.time_ns = (uint64_t)((int64_t)pe->timestamp_ns + s->mono_to_real);
	switch (pe->what) {
	case PROC_EVENT_FORK:
		if (pe->event_data.fork.child_pid != pe->event_data.fork.child_tgid)
			return; /* a new thread, not a process */
		ev.what = SQ_PROCEV_FORK;
		ev.pid = pe->event_data.fork.child_tgid;
		ev.ppid = pe->event_data.fork.parent_tgid;
		break;
	case PROC_EVENT_EXEC:
		ev.what = SQ_PROCEV_EXEC;
		ev.pid = pe->event_data.exec.process_tgid;
		break;
	case PROC_EVENT_EXIT:
		if (pe->event_data.exit.process_pid != pe->event_data.exit.process_tgid)
			return; /* a thread */
		ev.what = SQ_PROCEV_EXIT;
		ev.pid = pe->event_data.exit.process_tgid;
		ev.ppid = pe->event_data.exit.parent_tgid > 0
		          ? (pid_t)pe->event_data.exit.parent_tgid : -1;
		status_of((int)pe->event_data.exit.exit_code, &ev.status);
		break;
	default:
		return;
	}
	emit(arg, &ev);
}

struct reading {
	struct sq_procev_src *s;
	sq_procev_emit_fn emit;
	void *arg;
};

static void on_message(const struct nlmsghdr *h, void *data)
{
	struct reading *rd = data;
	if (h->nlmsg_type == NLMSG_NOOP || h->nlmsg_type == NLMSG_ERROR)
		return;
	const struct cn_msg *cn = NLMSG_DATA(h);
	if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*cn)) || cn->id.idx != CN_IDX_PROC ||
	    cn->id.val != CN_VAL_PROC ||
	    h->nlmsg_len < NLMSG_LENGTH(sizeof(*cn) + sizeof(struct proc_event)) ||
	    cn->len < sizeof(struct proc_event) - sizeof(((struct proc_event *)0)->event_data))
		return;
	/* the payload sits after cn_msg, not aligned for proc_event */
	struct proc_event pe;
	size_t have = h->nlmsg_len - NLMSG_LENGTH(sizeof(*cn));
	memset(&pe, 0, sizeof(pe));
	memcpy(&pe, cn->data, have < sizeof(pe) ? have : sizeof(pe));
	on_event(rd->s, &pe, rd->emit, rd->arg);
}

static void on_lost(void *data)
{
	struct reading *rd = data; /* the kernel dropped events */
	struct sq_procev gap = { .what = SQ_PROCEV_GAP, .ppid = -1 };
	gap.time_ns = (uint64_t)clock_ns(CLOCK_REALTIME);
	rd->emit(rd->arg, &gap);
}

int sq_procev_read(struct sq_procev_src *s, sq_procev_emit_fn emit, void *arg)
{
	struct reading rd = { s, emit, arg };
	return sq_nl_drain(s->fd, on_message, on_lost, &rd);
}

void sq_procev_close(struct sq_procev_src *s)
{
	if (!s)
		return;
	send_op(s->fd, PROC_CN_MCAST_IGNORE);
	close(s->fd);
	free(s);
}

bool sq_proc_exited(pid_t pid)
{
	char path[32], text[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT || errno == ESRCH;
	ssize_t n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0)
		return true;
	text[n] = '\0';
	const char *paren = strrchr(text, ')'); /* comm may hold anything */
	return paren && (paren[2] == 'Z' || paren[2] == 'X');
}

int sq_proc_seen(pid_t pid, bool *exited)
{
	char path[32];
	struct stat st;
	*exited = false;
	if (pid <= 0)
		return -ESRCH;
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	if (stat(path, &st) < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	*exited = sq_proc_exited(pid);
	return 0;
}

/* ---- snapshots --------------------------------------------------------------- */

static ssize_t read_at(int dirfd, const char *name, char *buf, size_t size)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t got = 0;
	while (got < size) {
		ssize_t n = read(fd, buf + got, size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	return (ssize_t)got;
}

/* The three or four numbers after "Key:" in status text. */
static int ids(const char *text, const char *key, unsigned long v[3])
{
	const char *p = strstr(text, key);
	if (!p)
		return -1;
	p += strlen(key);
	char *end;
	for (int i = 0; i < 3; i++) {
		v[i] = strtoul(p, &end, 10);
		if (end == p)
			return -1;
		p = end;
	}
	return 0;
}

void sq_procsnap_read(pid_t pid, bool with_args, struct sq_procsnap *s)
{
	memset(s, 0, sizeof(*s));
	s->ppid = -1;
	char path[32];
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	int dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return;
	struct stat st;
	char text[4096];
	ssize_t n = fstat(dir, &st) == 0 ? read_at(dir, "status", text, sizeof(text) - 1) : -1;
	if (n <= 0) {
		close(dir);
		return;
	}
	text[n] = '\0';
	unsigned long u[3], g[3];
	const char *name = strncmp(text, "Name:\t", 6) == 0 ? text + 6 : NULL;
	const char *pp = strstr(text, "\nPPid:\t");
	const char *cap = strstr(text, "\nCapPrm:\t");
	if (!name || !pp || ids(text, "\nUid:\t", u) < 0 || ids(text, "\nGid:\t", g) < 0) {
		close(dir);
		return;
	}
	/* status escapes the name ("\n" as "\\n"): take comm from its own file */
	n = read_at(dir, "comm", s->comm, sizeof(s->comm));
	s->comm_len = n > 0 && s->comm[n - 1] == '\n' ? (size_t)n - 1 : n > 0 ? (size_t)n : 0;
	s->ppid = (pid_t)strtol(pp + 7, NULL, 10);
	if (s->ppid == 0 && pid > 2)
		s->ppid = -1; /* a process being released shows 0: unknown */
	for (int i = 0; i < 3; i++) {
		s->uid[i] = (uid_t)u[i];
		s->gid[i] = (gid_t)g[i];
	}
	s->owner = st.st_uid;
	s->caps = cap && strtoull(cap + 9, NULL, 16) != 0;
	s->known = true;
	if (with_args) {
		size_t cap_args = 4096;
		char *a = malloc(cap_args);
		n = a ? read_at(dir, "cmdline", a, cap_args) : -1;
		if (n > 0) {
			s->args = a;
			s->args_len = a[n - 1] == '\0' ? (size_t)n - 1 : (size_t)n;
		} else {
			free(a);
		}
	}
	close(dir);
}

void sq_procsnap_free(struct sq_procsnap *s)
{
	free(s->args);
	s->args = NULL;
}

/* ---- who sees what ------------------------------------------------------------ */

int sq_procvis_read(struct sq_procvis *v)
{
	memset(v, 0, sizeof(*v));
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -errno;
	char line[4096];
	while (fgets(line, sizeof(line), f)) {
		/* id parent maj:min root mountpoint opts [optional...] - fstype source super */
		char mp[256];
		if (sscanf(line, "%*s %*s %*s %*s %255s", mp) != 1 || strcmp(mp, "/proc") != 0)
			continue;
		const char *sep = strstr(line, " - proc ");
		if (!sep)
			continue;
		const char *super = strchr(sep + 8, ' '); /* after the source */
		struct sq_procvis now = { 0 };
		for (const char *o = super; o && *o; o = strchr(o + 1, ',')) {
			const char *opt = o + 1;
			if (strncmp(opt, "hidepid=", 8) == 0) {
				const char *w = opt + 8;
				now.hidepid = strncmp(w, "invisible", 9) == 0 ? 2
				            : strncmp(w, "noaccess", 8) == 0 ? 1
				            : strncmp(w, "ptraceable", 10) == 0 ? 4
				            : strncmp(w, "off", 3) == 0 ? 0 : atoi(w);
			} else if (strncmp(opt, "gid=", 4) == 0) {
				now.has_gid = true;
				now.gid = (gid_t)strtoul(opt + 4, NULL, 10);
			}
		}
		*v = now; /* the last mount on /proc is the one in force */
	}
	fclose(f);
	return 0;
}

/* The kernel's PTRACE_MODE_READ_FSCREDS check for an unprivileged caller:
 * all of the target's uids and gids are the caller's, the target is
 * dumpable (its /proc directory is then the caller's) and holds no
 * capability the caller lacks (a caller other than root holds none). */
static bool ptraceable(const struct sq_cred *c, const struct sq_procsnap *s)
{
	for (int i = 0; i < 3; i++)
		if (s->uid[i] != c->uid || s->gid[i] != c->gid)
			return false;
	return s->owner == c->uid && !s->caps;
}

enum sq_procview sq_procview(const struct sq_procvis *v, const struct sq_cred *caller,
                             const struct sq_procsnap *s)
{
	if (caller->uid == 0)
		return SQ_VIEW_ALL;
	if (v->hidepid == 0 || (v->has_gid && sq_cred_in_group(caller, v->gid)))
		return SQ_VIEW_ALL; /* of a process gone already: what the event says */
	if (s->known && ptraceable(caller, s))
		return SQ_VIEW_ALL;
	return v->hidepid == 1 ? SQ_VIEW_PID : SQ_VIEW_NONE;
}
