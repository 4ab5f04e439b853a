/* SPDX-License-Identifier: ISC */
/*
 * test_watch.c - lib/sq_watch.h in isolation: the mount table diff and the
 * interface state machine on made-up input, then (Linux, as root) the real
 * notices: mountinfo POLLPRI in a private mount namespace, rtnetlink in a
 * private network namespace, and a pidfd for a child we kill.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/mount.h>
#endif

#include "sq_watch.h"

/* ---- mount diff ------------------------------------------------------------ */

#define MI_ROOT "1 0 8:1 / / rw,relatime - ext4 /dev/sda1 rw\n"
#define MI_PROC "2 1 0:5 / /proc rw - proc proc rw\n"
#define MI_TMP "7 1 0:40 / /mnt/t rw,relatime - tmpfs sq size=16m\n"
#define MI_TMP_RO "7 1 0:40 / /mnt/t ro,relatime - tmpfs sq size=16m\n"
#define MI_SPACE "9 1 0:41 / /mnt/a\\040b rw - tmpfs x rw\n"

struct mev {
	int n;
	enum sq_mount_change what[8];
	char mp[8][64];
	bool old_ro[8];
};

static void on_mount(void *arg, enum sq_mount_change what, const struct sq_mount *m,
                     const struct sq_mount *old)
{
	struct mev *e = arg;
	cr_assert_lt(e->n, 8);
	e->what[e->n] = what;
	snprintf(e->mp[e->n], sizeof(e->mp[0]), "%s", m->mountpoint);
	e->old_ro[e->n] = old ? old->readonly : false;
	cr_assert_eq(what == SQ_MOUNT_CHANGED, old != NULL);
	e->n++;
}

static struct sq_mount_table *table(const char *text)
{
	struct sq_mount_table *t = NULL;
	cr_assert_eq(sq_fs_mountinfo_parse(text, strlen(text), &t), 0);
	return t;
}

static struct mev diff(const char *a, const char *b, bool no_ids)
{
	struct sq_mount_table *ta = table(a), *tb = table(b);
	if (no_ids) { /* as on macOS: no mount ids */
		for (size_t i = 0; i < ta->n; i++)
			ta->m[i].mount_id = -1;
		for (size_t i = 0; i < tb->n; i++)
			tb->m[i].mount_id = -1;
	}
	struct mev e;
	memset(&e, 0, sizeof(e));
	cr_assert_eq(sq_mount_diff(ta, tb, on_mount, &e), 0);
	sq_fs_mounts_release(ta);
	sq_fs_mounts_release(tb);
	return e;
}

Test(watch, mount_diff_same_table_is_silent)
{
	for (int ids = 0; ids < 2; ids++) {
		struct mev e = diff(MI_ROOT MI_PROC MI_TMP, MI_ROOT MI_PROC MI_TMP, ids);
		cr_assert_eq(e.n, 0);
	}
}

Test(watch, mount_diff_added_removed_changed)
{
	for (int ids = 0; ids < 2; ids++) {
		struct mev e = diff(MI_ROOT MI_PROC, MI_ROOT MI_TMP MI_PROC MI_SPACE, ids);
		cr_assert_eq(e.n, 2, "two mounts added (ids %d)", ids);
		cr_assert_eq(e.what[0], SQ_MOUNT_ADDED);
		cr_assert_str_eq(e.mp[0], "/mnt/t");
		cr_assert_eq(e.what[1], SQ_MOUNT_ADDED);
		cr_assert_str_eq(e.mp[1], "/mnt/a b", "octal escapes undone");

		e = diff(MI_ROOT MI_TMP MI_PROC, MI_ROOT MI_PROC, ids);
		cr_assert_eq(e.n, 1);
		cr_assert_eq(e.what[0], SQ_MOUNT_REMOVED);
		cr_assert_str_eq(e.mp[0], "/mnt/t");
	}
	/* a remount read-only is a change of the same mount (same id) */
	struct mev e = diff(MI_ROOT MI_TMP, MI_ROOT MI_TMP_RO, false);
	cr_assert_eq(e.n, 1);
	cr_assert_eq(e.what[0], SQ_MOUNT_CHANGED);
	cr_assert_str_eq(e.mp[0], "/mnt/t");
	cr_assert_eq(e.old_ro[0], false);
	/* the same mount point mounted again is a new mount (another id) */
	e = diff(MI_ROOT MI_TMP, MI_ROOT "8 1 0:40 / /mnt/t rw,relatime - tmpfs sq size=16m\n",
	         false);
	cr_assert_eq(e.n, 2);
	cr_assert_eq(e.what[0], SQ_MOUNT_REMOVED);
	cr_assert_eq(e.what[1], SQ_MOUNT_ADDED);
}

Test(watch, mount_diff_from_and_to_nothing)
{
	struct sq_mount_table *t = table(MI_ROOT MI_PROC);
	struct mev e;
	memset(&e, 0, sizeof(e));
	cr_assert_eq(sq_mount_diff(NULL, t, on_mount, &e), 0);
	cr_assert_eq(e.n, 2);
	memset(&e, 0, sizeof(e));
	cr_assert_eq(sq_mount_diff(t, NULL, on_mount, &e), 0);
	cr_assert_eq(e.n, 2);
	cr_assert_eq(e.what[0], SQ_MOUNT_REMOVED);
	sq_fs_mounts_release(t);
}

/* ---- interface state ----------------------------------------------------------- */

struct nev {
	int n;
	struct sq_net_event ev[16];
};

static void on_net(void *arg, const struct sq_net_event *ev)
{
	struct nev *e = arg;
	cr_assert_lt(e->n, 16);
	e->ev[e->n++] = *ev;
}

static struct sq_net_addr addr(int family, const char *text, unsigned prefixlen)
{
	struct sq_net_addr a;
	memset(&a, 0, sizeof(a));
	a.family = family;
	snprintf(a.addr, sizeof(a.addr), "%s", text);
	a.prefixlen = prefixlen;
	return a;
}

static void two_links(struct sq_netw *w)
{
	memset(w, 0, sizeof(*w));
	w->fd = -1;
	struct sq_net_list l;
	memset(&l, 0, sizeof(l));
	struct sq_net_if *lo = sq_net_list_intern(&l, "lo");
	struct sq_net_if *e0 = sq_net_list_intern(&l, "eth0");
	cr_assert(lo && e0);
	lo = &l.ifs[0];
	e0 = &l.ifs[1];
	lo->index = 1, lo->mtu = 65536, lo->flags = SQ_NET_UP | SQ_NET_RUNNING | SQ_NET_LOOPBACK;
	e0->index = 2, e0->mtu = 1500, e0->flags = SQ_NET_BROADCAST;
	struct sq_net_addr a = addr(AF_INET, "127.0.0.1", 8);
	cr_assert_eq(sq_net_if_add_addr(lo, &a), 0);
	struct nev e = { 0 };
	cr_assert_eq(sq_netw_sync(w, &l, NULL, &e), 0);
	cr_assert_eq(e.n, 0, "a silent first sync");
	sq_net_list_free(&l);
	cr_assert_eq(w->n, 2);
}

Test(watch, net_repeated_notices_are_silent)
{
	struct sq_netw w;
	two_links(&w);
	struct nev e = { 0 };
	struct sq_net_addr a = addr(AF_INET, "127.0.0.1", 8);
	cr_assert_eq(sq_netw_link(&w, 1, "lo", SQ_NET_UP | SQ_NET_RUNNING | SQ_NET_LOOPBACK,
	                          65536, on_net, &e), 0);
	cr_assert_eq(sq_netw_addr(&w, 1, true, &a, on_net, &e), 0);
	cr_assert_eq(sq_netw_link(&w, 2, "", SQ_NET_BROADCAST, -1, on_net, &e), 0);
	cr_assert_eq(e.n, 0);
	sq_netw_free(&w);
}

Test(watch, net_changes_say_what)
{
	struct sq_netw w;
	two_links(&w);
	struct nev e = { 0 };
	/* eth0 up and running, then its MTU, then renamed, then gone */
	sq_netw_link(&w, 2, "eth0", SQ_NET_BROADCAST | SQ_NET_UP, 1500, on_net, &e);
	sq_netw_link(&w, 2, "eth0", SQ_NET_BROADCAST | SQ_NET_UP | SQ_NET_RUNNING, 1500, on_net, &e);
	sq_netw_link(&w, 2, "eth0", SQ_NET_BROADCAST | SQ_NET_UP | SQ_NET_RUNNING, 9000, on_net, &e);
	sq_netw_link(&w, 2, "wan0", SQ_NET_BROADCAST | SQ_NET_UP | SQ_NET_RUNNING, 9000, on_net, &e);
	sq_netw_link_gone(&w, 2, on_net, &e);
	sq_netw_link_gone(&w, 2, on_net, &e); /* again: nothing */
	cr_assert_eq(e.n, 5);
	cr_assert_eq(e.ev[0].what, SQ_NETEV_CHANGED);
	cr_assert_eq(e.ev[0].changes, SQ_NETCH_UP);
	cr_assert(e.ev[0].flags & SQ_NET_UP);
	cr_assert_eq(e.ev[1].changes, SQ_NETCH_RUNNING);
	cr_assert_eq(e.ev[2].changes, SQ_NETCH_MTU);
	cr_assert_eq(e.ev[2].old_mtu, 1500);
	cr_assert_eq(e.ev[2].mtu, 9000);
	cr_assert_eq(e.ev[3].changes, SQ_NETCH_NAME);
	cr_assert_str_eq(e.ev[3].old_name, "eth0");
	cr_assert_str_eq(e.ev[3].name, "wan0");
	cr_assert_eq(e.ev[4].what, SQ_NETEV_REMOVED);
	cr_assert_str_eq(e.ev[4].name, "wan0");
	cr_assert_eq(w.n, 1);
	sq_netw_free(&w);
}

Test(watch, net_addresses_once_each)
{
	struct sq_netw w;
	two_links(&w);
	struct nev e = { 0 };
	struct sq_net_addr a = addr(AF_INET6, "fe80::1", 64);
	struct sq_net_addr b = addr(AF_INET6, "fe80::1", 128); /* another prefix: another address */
	sq_netw_addr(&w, 2, true, &a, on_net, &e);
	sq_netw_addr(&w, 2, true, &a, on_net, &e); /* DAD done: the same again */
	sq_netw_addr(&w, 2, true, &b, on_net, &e);
	sq_netw_addr(&w, 2, false, &a, on_net, &e);
	sq_netw_addr(&w, 2, false, &a, on_net, &e);
	sq_netw_addr(&w, 77, true, &a, on_net, &e); /* no such link */
	cr_assert_eq(e.n, 3);
	cr_assert_eq(e.ev[0].what, SQ_NETEV_ADDR_ADDED);
	cr_assert_str_eq(e.ev[0].addr.addr, "fe80::1");
	cr_assert_eq(e.ev[0].addr.prefixlen, 64);
	cr_assert_str_eq(e.ev[0].name, "eth0");
	cr_assert_eq(e.ev[1].addr.prefixlen, 128);
	cr_assert_eq(e.ev[2].what, SQ_NETEV_ADDR_REMOVED);
	cr_assert_eq(e.ev[2].addr.prefixlen, 64);
	sq_netw_free(&w);
}

Test(watch, net_sync_reports_the_differences)
{
	struct sq_netw w;
	two_links(&w);
	struct sq_net_list l;
	memset(&l, 0, sizeof(l));
	struct sq_net_if *lo = sq_net_list_intern(&l, "lo");
	lo->index = 1, lo->mtu = 65536, lo->flags = SQ_NET_LOOPBACK; /* down now */
	struct sq_net_addr a = addr(AF_INET, "10.0.0.1", 8);
	cr_assert_eq(sq_net_if_add_addr(lo, &a), 0);
	struct nev e = { 0 };
	cr_assert_eq(sq_netw_sync(&w, &l, on_net, &e), 0); /* eth0 gone too */
	sq_net_list_free(&l);
	cr_assert_eq(e.n, 4, "removed, changed, addr removed, addr added: %d", e.n);
	cr_assert_eq(e.ev[0].what, SQ_NETEV_REMOVED);
	cr_assert_str_eq(e.ev[0].name, "eth0");
	cr_assert_eq(e.ev[1].what, SQ_NETEV_CHANGED);
	cr_assert_eq(e.ev[1].changes, SQ_NETCH_UP | SQ_NETCH_RUNNING);
	cr_assert_eq(e.ev[2].what, SQ_NETEV_ADDR_REMOVED);
	cr_assert_str_eq(e.ev[2].addr.addr, "127.0.0.1");
	cr_assert_eq(e.ev[3].what, SQ_NETEV_ADDR_ADDED);
	cr_assert_str_eq(e.ev[3].addr.addr, "10.0.0.1");
	sq_netw_free(&w);
}

/* ---- the real thing (Linux, root) ------------------------------------------------ */

#ifdef __linux__
static void need_root(void)
{
	if (geteuid() != 0)
		cr_skip_test("SKIPPED: needs root (a private namespace)");
}

Test(watch, mountinfo_polls_on_mount_and_unmount)
{
	need_root();
	if (unshare(CLONE_NEWNS) < 0)
		cr_skip_test("SKIPPED: unshare(CLONE_NEWNS): %s", strerror(errno));
	cr_assert_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
	char dir[] = "/tmp/sq-watch-unit.XXXXXX";
	cr_assert(mkdtemp(dir));
	int fd, how;
	cr_assert_eq(sq_watch_mounts_open(&fd, &how), 0);
	cr_assert_eq(how, SQ_WATCH_PRIORITY);
	struct pollfd p = { .fd = fd, .events = POLLPRI };
	cr_assert_eq(poll(&p, 1, 0), 0, "no change yet");
	int rc = mount("sq-unit", dir, "tmpfs", 0, "size=1m");
	int err = errno;
	if (rc == 0) {
		int n = poll(&p, 1, 5000); /* a deadline, not a timing */
		umount(dir);
		cr_assert_eq(n, 1);
		cr_assert(p.revents & POLLPRI);
		cr_assert_eq(poll(&p, 1, 5000), 1, "the unmount is told too");
		cr_assert_eq(poll(&p, 1, 0), 0, "each change once");
	}
	close(fd);
	rmdir(dir);
	cr_assert_eq(rc, 0, "mount tmpfs: %s", strerror(err));
}

static void set_lo(bool up, int mtu)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	cr_assert_eq(ioctl(s, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags = (short)(up ? ifr.ifr_flags | IFF_UP : ifr.ifr_flags & ~IFF_UP);
	cr_assert_eq(ioctl(s, SIOCSIFFLAGS, &ifr), 0);
	if (mtu > 0) {
		ifr.ifr_mtu = mtu;
		cr_assert_eq(ioctl(s, SIOCSIFMTU, &ifr), 0);
	}
	close(s);
}

/* Events read but not yet looked at (one read can bring several). */
static struct nev pending;

static bool take_lo(enum sq_net_change what, unsigned ch, struct sq_net_event *out)
{
	for (int i = 0; i < pending.n; i++) {
		struct sq_net_event *ev = &pending.ev[i];
		if (ev->what == what && strcmp(ev->name, "lo") == 0 && (ev->changes & ch) == ch) {
			*out = *ev;
			memmove(ev, ev + 1, sizeof(*ev) * (size_t)(pending.n - i - 1));
			pending.n--;
			return true;
		}
	}
	return false;
}

/* Read notices until an event matching what/changes on lo comes (deadline). */
static struct sq_net_event wait_lo(struct sq_netw *w, enum sq_net_change what, unsigned ch)
{
	struct sq_net_event ev;
	memset(&ev, 0, sizeof(ev));
	for (int round = 0; round < 100 && !take_lo(what, ch, &ev); round++) {
		struct pollfd p = { .fd = w->fd, .events = POLLIN };
		cr_assert_eq(poll(&p, 1, 5000), 1, "no notice within 5 s (waiting for %d)", what);
		pending.n = pending.n > 8 ? 8 : pending.n; /* keep room: the oldest stay */
		cr_assert_eq(sq_watch_net_read(w, on_net, &pending), 0);
	}
	cr_assert_neq(ev.index, 0, "the event never came");
	return ev;
}

Test(watch, rtnetlink_tells_up_down_and_mtu)
{
	need_root();
	if (unshare(CLONE_NEWNET) < 0)
		cr_skip_test("SKIPPED: unshare(CLONE_NEWNET): %s", strerror(errno));
	struct sq_netw w;
	int how;
	cr_assert_eq(sq_watch_net_open(&w, &how), 0);
	struct sq_net_list l;
	memset(&l, 0, sizeof(l));
	cr_assert_eq(sq_net_list(&l), 0);
	cr_assert_eq(sq_netw_sync(&w, &l, NULL, NULL), 0);
	sq_net_list_free(&l);
	const struct sq_netw_link *lo = sq_netw_find(&w, 1);
	cr_assert(lo && strcmp(lo->name, "lo") == 0);
	cr_assert(!(lo->flags & SQ_NET_UP), "lo starts down in a new namespace");

	set_lo(true, 0);
	struct sq_net_event ev = wait_lo(&w, SQ_NETEV_CHANGED, SQ_NETCH_UP);
	cr_assert(ev.flags & SQ_NET_UP);
	ev = wait_lo(&w, SQ_NETEV_ADDR_ADDED, 0); /* 127.0.0.1 or ::1 */
	cr_assert(strcmp(ev.addr.addr, "127.0.0.1") == 0 || strcmp(ev.addr.addr, "::1") == 0);
	set_lo(true, 9000);
	ev = wait_lo(&w, SQ_NETEV_CHANGED, SQ_NETCH_MTU);
	cr_assert_eq(ev.mtu, 9000);
	cr_assert_neq(ev.old_mtu, 9000);
	set_lo(false, 0);
	ev = wait_lo(&w, SQ_NETEV_CHANGED, SQ_NETCH_UP);
	cr_assert(!(ev.flags & SQ_NET_UP));
	sq_netw_free(&w);
}

Test(watch, pidfd_exit_and_status)
{
	int fd, how;
	cr_assert_eq(sq_watch_pid_open(0, &fd, &how), -ESRCH);
	pid_t c = fork();
	cr_assert_geq(c, 0);
	if (c == 0) {
		pause();
		_exit(0);
	}
	cr_assert_eq(sq_watch_pid_open(c, &fd, &how), 0);
	struct pollfd p = { .fd = fd, .events = POLLIN };
	cr_assert_eq(poll(&p, 1, 0), 0, "alive");
	struct sq_exit_status st;
	cr_assert_eq(sq_watch_pid_status(fd, &st), 0);
	cr_assert(!st.known);
	kill(c, SIGKILL);
	cr_assert_eq(poll(&p, 1, 5000), 1, "the exit is told");
	int ws;
	cr_assert_eq(waitpid(c, &ws, 0), c);
	cr_assert_eq(sq_watch_pid_status(fd, &st), 0);
	struct utsname u;
	int major = 0, minor = 0;
	if (uname(&u) == 0 && sscanf(u.release, "%d.%d", &major, &minor) == 2 &&
	    (major > 6 || (major == 6 && minor >= 15)))
		cr_assert(st.known, "kernel %s has PIDFD_INFO_EXIT", u.release);
	if (st.known) { /* kernels with PIDFD_INFO_EXIT (6.15+) */
		cr_assert(st.signaled);
		cr_assert_eq(st.code, SIGKILL);
	}
	close(fd);
	cr_assert_eq(sq_watch_pid_open(c, &fd, &how), -ESRCH, "reaped: gone");
}
#endif
