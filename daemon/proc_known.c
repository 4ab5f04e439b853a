/* SPDX-License-Identifier: ISC */
/*
 * proc_known.c - what sysqd last read of each live process it saw fork or
 * exec (proc_known.h): open addressing by pid, linear probing, deletion by
 * moving the rest of a run back (no tombstones).  Loop thread only.
 */
#include <stdlib.h>
#include <string.h>

#include "proc_known.h"

static size_t known_slot(const struct known_table *t, pid_t pid)
{
	return ((size_t)(unsigned)pid * 2654435761u) & (t->cap - 1);
}

struct known *known_find(const struct known_table *t, pid_t pid)
{
	if (!t->cap)
		return NULL;
	for (size_t i = known_slot(t, pid);; i = (i + 1) & (t->cap - 1)) {
		if (t->v[i].pid == pid)
			return &t->v[i];
		if (!t->v[i].pid)
			return NULL;
	}
}

/* A slot for pid (its own, or a new one), or NULL when full or out of memory. */
struct known *known_put(struct known_table *t, pid_t pid)
{
	struct known *k = known_find(t, pid);
	if (k)
		return k;
	if (2 * (t->n + 1) > t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 1024;
		if (cap > 2 * PROC_KNOWN_MAX)
			return NULL;
		struct known *nv = calloc(cap, sizeof(*nv)), *old = t->v;
		if (!nv)
			return NULL;
		size_t oldcap = t->cap;
		t->v = nv;
		t->cap = cap;
		for (size_t i = 0; i < oldcap; i++)
			if (old[i].pid) {
				size_t j = known_slot(t, old[i].pid);
				while (nv[j].pid)
					j = (j + 1) & (cap - 1);
				nv[j] = old[i];
			}
		free(old);
	}
	size_t i = known_slot(t, pid);
	while (t->v[i].pid)
		i = (i + 1) & (t->cap - 1);
	t->n++;
	k = &t->v[i];
	memset(k, 0, sizeof(*k));
	k->pid = pid;
	k->ppid = -1;
	return k;
}

/* Forget pid: the entries after it in its run move back (no tombstones). */
void known_drop(struct known_table *t, pid_t pid)
{
	struct known *k = known_find(t, pid);
	if (!k)
		return;
	size_t mask = t->cap - 1, i = (size_t)(k - t->v), j = i;
	t->v[i].pid = 0;
	t->n--;
	for (;;) {
		j = (j + 1) & mask;
		if (!t->v[j].pid)
			return;
		size_t home = known_slot(t, t->v[j].pid);
		/* move j back to i unless its home lies cyclically in (i, j] */
		if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
			t->v[i] = t->v[j];
			t->v[j].pid = 0;
			i = j;
		}
	}
}

void known_set(struct known *k, const struct sq_procsnap *s)
{
	k->creds = true;
	k->caps = s->caps;
	k->owner = s->owner;
	memcpy(k->uid, s->uid, sizeof(k->uid));
	memcpy(k->gid, s->gid, sizeof(k->gid));
	k->comm_len = (uint8_t)(s->comm_len < sizeof(k->comm) ? s->comm_len : sizeof(k->comm));
	memcpy(k->comm, s->comm, k->comm_len);
	if (s->ppid >= 0)
		k->ppid = s->ppid;
}

void known_clear(struct known_table *t)
{
	free(t->v);
	memset(t, 0, sizeof(*t));
}
