/* SPDX-License-Identifier: ISC */
/*
 * sockets.c - the portable part of the socket table (sq_sockets.h): state
 * names, the filter (its defaults, its test), and the owner map: a sorted
 * array of (socket, pid) pairs and one name per pid, filled by
 * sockets_<os>.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sockets_os.h"
#include "sq_sockets.h"

static const char *const state_names[SQ_SS_NSTATES] = {
	[SQ_SS_UNKNOWN] = "unknown",
	[SQ_SS_ESTABLISHED] = "established",
	[SQ_SS_SYN_SENT] = "syn-sent",
	[SQ_SS_SYN_RECV] = "syn-recv",
	[SQ_SS_FIN_WAIT1] = "fin-wait-1",
	[SQ_SS_FIN_WAIT2] = "fin-wait-2",
	[SQ_SS_TIME_WAIT] = "time-wait",
	[SQ_SS_CLOSE] = "closed",
	[SQ_SS_CLOSE_WAIT] = "close-wait",
	[SQ_SS_LAST_ACK] = "last-ack",
	[SQ_SS_LISTEN] = "listen",
	[SQ_SS_CLOSING] = "closing",
	[SQ_SS_NEW_SYN_RECV] = "new-syn-recv",
};

const char *sq_sock_state_name(unsigned state)
{
	return state < SQ_SS_NSTATES ? state_names[state] : "unknown";
}

int sq_sock_state_parse(const char *name, size_t len)
{
	for (unsigned i = 1; i < SQ_SS_NSTATES; i++)
		if (strlen(state_names[i]) == len && memcmp(state_names[i], name, len) == 0)
			return (int)i;
	return -1;
}

void sq_sock_filter_asked(const struct sq_sock_filter *f, unsigned *families,
                          unsigned *protos)
{
	*families = f->families ? f->families : SQ_SF_INET | SQ_SF_INET6 | SQ_SF_UNIX;
	*protos = f->protos ? f->protos : SQ_SP_TCP | SQ_SP_UDP | SQ_SP_UNIX;
}

bool sq_sock_filter_take(const struct sq_sock_filter *f, const struct sq_sock *s)
{
	if (f->families && !(f->families & s->family))
		return false;
	if (f->protos && !(f->protos & s->proto))
		return false;
	if (f->states && !(f->states & (1u << s->state)))
		return false;
	if (f->port >= 0 && (s->proto == SQ_SP_UNIX ||
	                     (s->lport != (unsigned)f->port && s->rport != (unsigned)f->port)))
		return false;
	if (f->lport >= 0 && (s->proto == SQ_SP_UNIX || s->lport != (unsigned)f->lport))
		return false;
	if (f->rport >= 0 && (s->proto == SQ_SP_UNIX || s->rport != (unsigned)f->rport))
		return false;
	if (f->uid >= 0 && (!s->has_uid || (int64_t)s->uid != f->uid))
		return false;
	return true;
}

/* ---- the owner map -------------------------------------------------------- */

struct pair {
	uint64_t key;
	pid_t pid;
};

struct name {
	pid_t pid;
	char comm[SQ_SOCK_COMM_MAX + 1];
};

struct sq_sock_owners {
	struct pair *pairs;
	size_t n, cap;
	struct name *names;
	size_t nn, ncap;
	bool truncated;
};

struct sq_sock_owners *sq_sock_owners_new(void)
{
	return calloc(1, sizeof(struct sq_sock_owners));
}

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return 0;
	size_t n = *cap ? *cap * 2 : 256;
	while (n < need)
		n *= 2;
	void *q = realloc(*p, n * size);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = n;
	return 0;
}

int sq_sock_owners_add(struct sq_sock_owners *o, uint64_t key, pid_t pid, const char *comm)
{
	if (o->n >= SQ_SOCK_OWNERS_MAX) {
		o->truncated = true;
		return 0;
	}
	if (grow((void **)&o->pairs, &o->cap, o->n + 1, sizeof(*o->pairs)) < 0)
		return -ENOMEM;
	o->pairs[o->n++] = (struct pair){ key, pid };
	/* pids come in runs: one name per run of the same pid */
	if (o->nn && o->names[o->nn - 1].pid == pid)
		return 0;
	if (grow((void **)&o->names, &o->ncap, o->nn + 1, sizeof(*o->names)) < 0)
		return -ENOMEM;
	struct name *nm = &o->names[o->nn++];
	nm->pid = pid;
	size_t len = strnlen(comm, SQ_SOCK_COMM_MAX);
	memcpy(nm->comm, comm, len);
	nm->comm[len] = '\0';
	return 0;
}

static int by_key(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;
	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

static int by_pid(const void *a, const void *b)
{
	const struct name *x = a, *y = b;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

void sq_sock_owners_seal(struct sq_sock_owners *o)
{
	if (o->n)
		qsort(o->pairs, o->n, sizeof(*o->pairs), by_key);
	if (o->nn)
		qsort(o->names, o->nn, sizeof(*o->names), by_pid);
	/* a pid holding one socket twice (dup) is one owner */
	size_t w = 0;
	for (size_t i = 0; i < o->n; i++)
		if (w == 0 || o->pairs[w - 1].key != o->pairs[i].key ||
		    o->pairs[w - 1].pid != o->pairs[i].pid)
			o->pairs[w++] = o->pairs[i];
	o->n = w;
}

int sq_sock_owners_scan(struct sq_sock_owners **out, pid_t pid, bool self_ok)
{
	struct sq_sock_owners *o = sq_sock_owners_new();
	if (!o)
		return -ENOMEM;
	int rc = sq_sock_owners_walk(o, pid, self_ok);
	if (rc < 0) {
		sq_sock_owners_free(o);
		return rc;
	}
	sq_sock_owners_seal(o);
	*out = o;
	return 0;
}

size_t sq_sock_owners_of(const struct sq_sock_owners *o, uint64_t key,
                         struct sq_sock_owner *out, size_t max)
{
	size_t lo = 0, hi = o->n;
	while (lo < hi) { /* the first pair with this key */
		size_t mid = lo + (hi - lo) / 2;
		if (o->pairs[mid].key < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	size_t n = 0;
	for (size_t i = lo; i < o->n && o->pairs[i].key == key; i++, n++) {
		if (n >= max)
			continue;
		out[n].pid = o->pairs[i].pid;
		struct name want = { .pid = o->pairs[i].pid };
		const struct name *nm = bsearch(&want, o->names, o->nn, sizeof(*o->names), by_pid);
		strcpy(out[n].comm, nm ? nm->comm : "");
	}
	return n;
}

bool sq_sock_owners_truncated(const struct sq_sock_owners *o)
{
	return o->truncated;
}

void sq_sock_owners_free(struct sq_sock_owners *o)
{
	if (!o)
		return;
	free(o->pairs);
	free(o->names);
	free(o);
}
