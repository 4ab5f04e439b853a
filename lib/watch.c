/* SPDX-License-Identifier: ISC */
/*
 * watch.c - the portable half of sq_watch.h: the mount table diff (sorted
 * keys, one merge) and the interface state that turns the kernel's notices
 * into events that say what changed, and nothing when nothing did.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sq_watch.h"

/* ---- mounts ---------------------------------------------------------------- */

static int str_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen;
	int c = memcmp(a, b, n);
	return c ? c : (alen > blen) - (alen < blen);
}

/* The identity of a mount: its id when the OS numbers mounts, else what
 * it is and where. */
static int mount_key_cmp(const struct sq_mount *a, const struct sq_mount *b)
{
	if (a->mount_id >= 0 || b->mount_id >= 0)
		return (a->mount_id > b->mount_id) - (a->mount_id < b->mount_id);
	int c = str_cmp(a->mountpoint, a->mountpoint_len, b->mountpoint, b->mountpoint_len);
	if (!c)
		c = str_cmp(a->source, a->source_len, b->source, b->source_len);
	if (!c)
		c = strcmp(a->fstype, b->fstype);
	return c;
}

static int ptr_cmp(const void *x, const void *y)
{
	const struct sq_mount *a = *(const struct sq_mount *const *)x;
	const struct sq_mount *b = *(const struct sq_mount *const *)y;
	int c = mount_key_cmp(a, b);
	/* equal keys (two identical macOS mounts) keep table order */
	return c ? c : (a > b) - (a < b);
}

static bool mount_same_state(const struct sq_mount *a, const struct sq_mount *b)
{
	if (a->readonly != b->readonly || a->noptions != b->noptions ||
	    str_cmp(a->mountpoint, a->mountpoint_len, b->mountpoint, b->mountpoint_len) ||
	    str_cmp(a->source, a->source_len, b->source, b->source_len) ||
	    strcmp(a->fstype, b->fstype))
		return false;
	for (size_t i = 0; i < a->noptions; i++)
		if (strcmp(a->options[i], b->options[i]))
			return false;
	return true;
}

static const struct sq_mount **sorted(const struct sq_mount_table *t)
{
	size_t n = t ? t->n : 0;
	const struct sq_mount **v = malloc(sizeof(*v) * (n ? n : 1));
	if (!v)
		return NULL;
	for (size_t i = 0; i < n; i++)
		v[i] = &t->m[i];
	qsort(v, n, sizeof(*v), ptr_cmp);
	return v;
}

int sq_mount_diff(const struct sq_mount_table *a, const struct sq_mount_table *b,
                  sq_mount_emit_fn emit, void *arg)
{
	size_t na = a ? a->n : 0, nb = b ? b->n : 0;
	const struct sq_mount **va = sorted(a), **vb = sorted(b);
	/* per table entry: matched in the other table */
	unsigned char *ma = calloc(na ? na : 1, 1), *mb = calloc(nb ? nb : 1, 1);
	const struct sq_mount **peer = calloc(nb ? nb : 1, sizeof(*peer));
	int rc = 0;
	if (!va || !vb || !ma || !mb || !peer) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0, j = 0; i < na && j < nb;) {
		int c = mount_key_cmp(va[i], vb[j]);
		if (c < 0) {
			i++;
		} else if (c > 0) {
			j++;
		} else {
			ma[va[i] - a->m] = 1;
			mb[vb[j] - b->m] = 1;
			peer[vb[j] - b->m] = va[i];
			i++, j++;
		}
	}
	for (size_t i = 0; i < na; i++)
		if (!ma[i])
			emit(arg, SQ_MOUNT_REMOVED, &a->m[i], NULL);
	for (size_t j = 0; j < nb; j++)
		if (!mb[j])
			emit(arg, SQ_MOUNT_ADDED, &b->m[j], NULL);
	for (size_t j = 0; j < nb; j++)
		if (mb[j] && !mount_same_state(peer[j], &b->m[j]))
			emit(arg, SQ_MOUNT_CHANGED, &b->m[j], peer[j]);
out:
	free(va);
	free(vb);
	free(ma);
	free(mb);
	free(peer);
	return rc;
}

/* ---- network interfaces -------------------------------------------------- */

const struct sq_netw_link *sq_netw_find(const struct sq_netw *w, unsigned index)
{
	for (size_t i = 0; i < w->n; i++)
		if (w->links[i].index == index)
			return &w->links[i];
	return NULL;
}

static struct sq_netw_link *find_mut(struct sq_netw *w, unsigned index)
{
	return (struct sq_netw_link *)sq_netw_find(w, index);
}

static void copy_name(char dst[IFNAMSIZ], const char *src)
{
	size_t n = strnlen(src, IFNAMSIZ - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static void ev_init(struct sq_net_event *ev, enum sq_net_change what,
                    const struct sq_netw_link *l)
{
	memset(ev, 0, sizeof(*ev));
	ev->what = what;
	ev->index = l->index;
	copy_name(ev->name, l->name);
	ev->flags = ev->old_flags = l->flags;
	ev->mtu = ev->old_mtu = l->mtu;
}

int sq_netw_link(struct sq_netw *w, unsigned index, const char *name,
                 unsigned flags, int mtu, sq_net_emit_fn emit, void *arg)
{
	struct sq_netw_link *l = find_mut(w, index);
	struct sq_net_event ev;
	if (!l) {
		if (w->n == w->cap) {
			size_t cap = w->cap ? w->cap * 2 : 16;
			struct sq_netw_link *nl = realloc(w->links, cap * sizeof(*nl));
			if (!nl)
				return -ENOMEM;
			w->links = nl;
			w->cap = cap;
		}
		l = &w->links[w->n++];
		memset(l, 0, sizeof(*l));
		l->index = index;
		copy_name(l->name, name);
		l->flags = flags;
		l->mtu = mtu;
		if (emit) {
			ev_init(&ev, SQ_NETEV_ADDED, l);
			emit(arg, &ev);
		}
		return 0;
	}
	ev_init(&ev, SQ_NETEV_CHANGED, l);
	unsigned diff = l->flags ^ flags;
	if (diff & SQ_NET_UP)
		ev.changes |= SQ_NETCH_UP;
	if (diff & SQ_NET_RUNNING)
		ev.changes |= SQ_NETCH_RUNNING;
	if (diff & ~(unsigned)(SQ_NET_UP | SQ_NET_RUNNING))
		ev.changes |= SQ_NETCH_FLAGS;
	if (mtu >= 0 && mtu != l->mtu)
		ev.changes |= SQ_NETCH_MTU;
	if (name[0] && strncmp(name, l->name, IFNAMSIZ) != 0) {
		ev.changes |= SQ_NETCH_NAME;
		copy_name(ev.old_name, l->name);
		copy_name(l->name, name);
		copy_name(ev.name, name);
	}
	l->flags = flags;
	if (mtu >= 0)
		l->mtu = mtu;
	ev.flags = l->flags;
	ev.mtu = l->mtu;
	if (ev.changes && emit)
		emit(arg, &ev);
	return 0;
}

int sq_netw_link_gone(struct sq_netw *w, unsigned index, sq_net_emit_fn emit, void *arg)
{
	struct sq_netw_link *l = find_mut(w, index);
	if (!l)
		return 0;
	if (emit) {
		struct sq_net_event ev;
		ev_init(&ev, SQ_NETEV_REMOVED, l);
		emit(arg, &ev);
	}
	free(l->addrs);
	*l = w->links[--w->n];
	return 0;
}

static bool addr_eq(const struct sq_net_addr *a, const struct sq_net_addr *b)
{
	return a->family == b->family && a->prefixlen == b->prefixlen &&
	       strcmp(a->addr, b->addr) == 0;
}

int sq_netw_addr(struct sq_netw *w, unsigned index, bool add,
                 const struct sq_net_addr *a, sq_net_emit_fn emit, void *arg)
{
	struct sq_netw_link *l = find_mut(w, index);
	if (!l)
		return 0; /* the link notice comes first; an unknown one is not ours */
	size_t i;
	for (i = 0; i < l->naddrs && !addr_eq(&l->addrs[i], a); i++)
		;
	bool have = i < l->naddrs;
	if (add == have)
		return 0; /* a repeated notice (IPv6 DAD, flag updates) */
	if (add) {
		if (l->naddrs == l->cap) {
			size_t cap = l->cap ? l->cap * 2 : 4;
			struct sq_net_addr *na = realloc(l->addrs, cap * sizeof(*na));
			if (!na)
				return -ENOMEM;
			l->addrs = na;
			l->cap = cap;
		}
		l->addrs[l->naddrs++] = *a;
	} else {
		l->addrs[i] = l->addrs[--l->naddrs];
	}
	if (emit) {
		struct sq_net_event ev;
		ev_init(&ev, add ? SQ_NETEV_ADDR_ADDED : SQ_NETEV_ADDR_REMOVED, l);
		ev.addr = *a;
		emit(arg, &ev);
	}
	return 0;
}

int sq_netw_sync(struct sq_netw *w, const struct sq_net_list *l,
                 sq_net_emit_fn emit, void *arg)
{
	int rc;
	/* interfaces that are gone */
	for (size_t i = 0; i < w->n;) {
		bool found = false;
		for (size_t j = 0; j < l->n && !found; j++)
			found = l->ifs[j].index == w->links[i].index;
		if (found) {
			i++;
			continue;
		}
		if ((rc = sq_netw_link_gone(w, w->links[i].index, emit, arg)) < 0)
			return rc;
	}
	for (size_t j = 0; j < l->n; j++) {
		const struct sq_net_if *f = &l->ifs[j];
		if (!f->index)
			continue;
		if ((rc = sq_netw_link(w, f->index, f->name, f->flags, f->mtu, emit, arg)) < 0)
			return rc;
		struct sq_netw_link *k = find_mut(w, f->index);
		/* addresses no longer there, then new ones */
		for (size_t i = 0; i < k->naddrs;) {
			bool found = false;
			for (size_t m = 0; m < f->naddrs && !found; m++)
				found = addr_eq(&k->addrs[i], &f->addrs[m]);
			if (found) {
				i++;
				continue;
			}
			struct sq_net_addr gone = k->addrs[i];
			if ((rc = sq_netw_addr(w, f->index, false, &gone, emit, arg)) < 0)
				return rc;
			k = find_mut(w, f->index);
		}
		for (size_t m = 0; m < f->naddrs; m++)
			if ((rc = sq_netw_addr(w, f->index, true, &f->addrs[m], emit, arg)) < 0)
				return rc;
	}
	return 0;
}

void sq_netw_free(struct sq_netw *w)
{
	if (w->fd >= 0)
		close(w->fd);
	for (size_t i = 0; i < w->n; i++)
		free(w->links[i].addrs);
	free(w->links);
	w->links = NULL;
	w->n = w->cap = 0;
	w->fd = -1;
}
