/* SPDX-License-Identifier: ISC */
/*
 * fs.c - the portable half of sq_fs.h: mount tables as one shared,
 * reference-counted block, the mountinfo parser (Linux's format, but plain
 * text processing, so it is unit-tested anywhere), the pseudo file system
 * list, finding a file's mount in a table, and usage from statfs's counts.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sq_fs.h"

int sq_fs_table_new(size_t nmounts, size_t store_bytes, size_t noptions,
                    struct sq_mount_table **out)
{
	struct sq_mount_table *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->m = calloc(nmounts ? nmounts : 1, sizeof(*t->m));
	t->store = malloc(store_bytes ? store_bytes : 1);
	t->optv = calloc(noptions ? noptions : 1, sizeof(*t->optv));
	if (!t->m || !t->store || !t->optv) {
		free(t->m);
		free(t->store);
		free(t->optv);
		free(t);
		return -ENOMEM;
	}
	t->refs = 1;
	*out = t;
	return 0;
}

void sq_fs_mounts_release(struct sq_mount_table *t)
{
	if (!t || __atomic_sub_fetch(&t->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	free(t->m);
	free(t->store);
	free(t->optv);
	free(t);
}

void sq_fs_fill_usage(struct sq_fs_usage *u, uint64_t block_size, uint64_t blocks,
                      uint64_t bfree, uint64_t bavail, uint64_t files,
                      uint64_t files_free, bool readonly)
{
	u->block_size = block_size;
	u->total_bytes = blocks * block_size;
	u->free_bytes = bfree * block_size;
	u->avail_bytes = bavail * block_size;
	u->files = files;
	u->files_free = files_free;
	u->readonly = readonly;
}

bool sq_fs_pseudo_type(const char *fstype)
{
	static const char *const pseudo[] = {
		/* Linux */
		"proc", "sysfs", "cgroup", "cgroup2", "devpts", "mqueue", "debugfs",
		"tracefs", "securityfs", "pstore", "bpf", "configfs", "fusectl",
		"hugetlbfs", "autofs", "binfmt_misc", "nsfs", "efivarfs", "rpc_pipefs",
		"selinuxfs", "smackfs", "apparmorfs", "nfsd", "usbfs", "rootfs",
		/* macOS */
		"devfs", "fdesc", "kernfs", "volfs", "nullfs_",
		NULL,
	};
	for (size_t i = 0; pseudo[i]; i++)
		if (strcmp(fstype, pseudo[i]) == 0)
			return true;
	return false;
}

/* ---- mountinfo --------------------------------------------------------- */

static int octal(char c)
{
	return c >= '0' && c <= '7' ? c - '0' : -1;
}

/* Copy src[0..n) to dst undoing the kernel's \ooo escapes; NUL-terminate.
 * Returns the decoded length.  A backslash not followed by three octal
 * digits is kept as it is. */
static size_t unescape(char *dst, const char *src, size_t n)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (src[i] == '\\' && i + 3 < n && octal(src[i + 1]) >= 0 &&
		    octal(src[i + 2]) >= 0 && octal(src[i + 3]) >= 0) {
			int v = octal(src[i + 1]) * 64 + octal(src[i + 2]) * 8 + octal(src[i + 3]);
			if (v > 0 && v < 256) {
				dst[o++] = (char)v;
				i += 3;
				continue;
			}
		}
		dst[o++] = src[i];
	}
	dst[o] = '\0';
	return o;
}

struct field {
	const char *p;
	size_t n;
};

/* Split one line on spaces (the kernel escapes spaces inside fields). */
static size_t split(const char *line, size_t len, struct field *f, size_t max)
{
	size_t nf = 0, i = 0;
	while (i < len && nf < max) {
		while (i < len && line[i] == ' ')
			i++;
		if (i >= len)
			break;
		size_t start = i;
		while (i < len && line[i] != ' ')
			i++;
		f[nf].p = line + start;
		f[nf].n = i - start;
		nf++;
	}
	return nf;
}

struct builder {
	struct sq_mount_table *t;
	size_t used;              /* bytes of t->store */
	size_t nopt;              /* pointers of t->optv */
};

static const char *put(struct builder *b, const char *src, size_t n, size_t *outlen)
{
	char *dst = b->t->store + b->used;
	size_t len = unescape(dst, src, n);
	b->used += len + 1;
	if (outlen)
		*outlen = len;
	return dst;
}

static bool has_word(const char *const *v, size_t n, const char *w)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], w) == 0)
			return true;
	return false;
}

/* Add the comma-separated words of f to the mount's options.  Super block
 * options repeat "rw"/"ro" and sometimes a mount option: duplicates are
 * skipped, and "rw"/"ro" only set the flag (parse_line puts one of them
 * first, "ro" if the mount or its super block is read-only, as
 * /proc/mounts does). */
static void add_options(struct builder *b, struct sq_mount *m, struct field f)
{
	size_t i = 0;
	while (i <= f.n) {
		size_t start = i;
		while (i < f.n && f.p[i] != ',')
			i++;
		if (i > start) {
			const char *w = put(b, f.p + start, i - start, NULL);
			bool rw = strcmp(w, "rw") == 0, ro = strcmp(w, "ro") == 0;
			m->readonly |= ro;
			if (!rw && !ro && !has_word(m->options, m->noptions, w)) {
				b->t->optv[b->nopt++] = w;
				m->noptions++;
			} else {
				b->used -= strlen(w) + 1; /* give the bytes back */
			}
		}
		i++;
	}
}

static bool parse_u32(struct field f, char stop, uint32_t *out, size_t *used)
{
	uint64_t v = 0;
	size_t i = 0;
	for (; i < f.n && f.p[i] != stop; i++) {
		if (f.p[i] < '0' || f.p[i] > '9' || v > 0xffffffffull / 10)
			return false;
		v = v * 10 + (uint64_t)(f.p[i] - '0');
	}
	if (i == 0 || v > 0xffffffffull)
		return false;
	*out = (uint32_t)v;
	if (used)
		*used = i;
	return true;
}

/* One line: "36 35 98:0 /root /mnt opts [optional...] - fstype source superopts" */
static bool parse_line(struct builder *b, const char *line, size_t len)
{
	struct field f[64];
	size_t nf = split(line, len, f, 64);
	size_t dash = 0;
	for (size_t i = 6; i < nf; i++) {
		if (f[i].n == 1 && f[i].p[0] == '-') {
			dash = i;
			break;
		}
	}
	if (nf < 9 || dash == 0 || dash + 2 >= nf)
		return false;
	struct sq_mount *m = &b->t->m[b->t->n];
	memset(m, 0, sizeof(*m));
	uint32_t id, parent, maj, min;
	size_t k;
	if (!parse_u32(f[0], '\0', &id, NULL) || !parse_u32(f[1], '\0', &parent, NULL) ||
	    !parse_u32(f[2], ':', &maj, &k) ||
	    k + 1 >= f[2].n)
		return false;
	struct field fmin = { f[2].p + k + 1, f[2].n - k - 1 };
	if (!parse_u32(fmin, '\0', &min, NULL))
		return false;
	m->options = b->t->optv + b->nopt; /* this mount's words follow */
	m->mount_id = id;
	m->parent_id = parent;
	m->dev_major = maj;
	m->dev_minor = min;
	m->mountpoint = put(b, f[4].p, f[4].n, &m->mountpoint_len);
	m->fstype = put(b, f[dash + 1].p, f[dash + 1].n, NULL);
	m->source = put(b, f[dash + 2].p, f[dash + 2].n, &m->source_len);
	b->t->optv[b->nopt++] = "rw"; /* or "ro": known once both lists are read */
	m->noptions = 1;
	add_options(b, m, f[5]);
	if (dash + 3 < nf)
		add_options(b, m, f[dash + 3]);
	if (m->readonly)
		b->t->optv[m->options - b->t->optv] = "ro";
	m->pseudo = sq_fs_pseudo_type(m->fstype);
	b->t->n++;
	return true;
}

int sq_fs_mountinfo_parse(const char *text, size_t len, struct sq_mount_table **out)
{
	size_t lines = 0, commas = 0;
	for (size_t i = 0; i < len; i++) {
		lines += text[i] == '\n';
		commas += text[i] == ',';
	}
	lines++; /* a last line without a newline */
	struct builder b = { 0 };
	/* every decoded string is no longer than its field, plus its NUL: the
	 * whole text plus one NUL per word bounds it */
	int rc = sq_fs_table_new(lines, len + commas + 8 * lines + 1,
	                         commas + 3 * lines, &b.t);
	if (rc < 0)
		return rc;
	size_t i = 0;
	while (i < len) {
		size_t start = i;
		while (i < len && text[i] != '\n')
			i++;
		if (i > start)
			parse_line(&b, text + start, i - start);
		i++;
	}
	sq_fs_table_mark_hidden(b.t);
	*out = b.t;
	return 0;
}

static int cmp_id(const void *a, const void *b)
{
	const struct sq_mount *x = *(const struct sq_mount *const *)a;
	const struct sq_mount *y = *(const struct sq_mount *const *)b;
	return (x->mount_id > y->mount_id) - (x->mount_id < y->mount_id);
}

static struct sq_mount *by_id(struct sq_mount **v, size_t n, int64_t id)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (v[mid]->mount_id == id)
			return v[mid];
		if (v[mid]->mount_id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static bool same_point(const struct sq_mount *a, const struct sq_mount *b)
{
	return a->mountpoint_len == b->mountpoint_len &&
	       memcmp(a->mountpoint, b->mountpoint, a->mountpoint_len) == 0;
}

void sq_fs_table_mark_hidden(struct sq_mount_table *t)
{
	if (t->n == 0)
		return;
	if (t->m[0].mount_id < 0) {
		/* no ids (macOS): a later entry on the same path is on top */
		for (size_t i = 0; i < t->n; i++)
			for (size_t j = i + 1; j < t->n && !t->m[i].hidden; j++)
				t->m[i].hidden = same_point(&t->m[i], &t->m[j]);
		return;
	}
	struct sq_mount **v = malloc(t->n * sizeof(*v));
	if (!v)
		return; /* without the flag, a hidden mount shows its cover's figures */
	for (size_t i = 0; i < t->n; i++)
		v[i] = &t->m[i];
	qsort(v, t->n, sizeof(*v), cmp_id);
	/* a mount whose child sits on the same path is covered */
	for (size_t i = 0; i < t->n; i++) {
		struct sq_mount *p = by_id(v, t->n, t->m[i].parent_id);
		if (p && p != &t->m[i] && same_point(p, &t->m[i]))
			p->hidden = true;
	}
	/* and everything mounted below a covered mount is out of reach too;
	 * walk up at most n parents (the chain ends at the root, or loops
	 * only in a corrupt table) */
	for (size_t i = 0; i < t->n; i++) {
		struct sq_mount *p = &t->m[i];
		for (size_t depth = 0; p && !t->m[i].hidden && depth < t->n; depth++) {
			struct sq_mount *up = by_id(v, t->n, p->parent_id);
			if (!up || up == p)
				break;
			if (up->hidden && !same_point(up, p))
				t->m[i].hidden = true;
			p = up;
		}
	}
	free(v);
}

const struct sq_mount *sq_fs_mount_of(const struct sq_mount_table *t,
                                      const struct sq_fs_where *w)
{
	const struct sq_mount *hit = NULL;
	for (size_t i = 0; i < t->n; i++) {
		const struct sq_mount *m = &t->m[i];
		if (w->mount_id >= 0) {
			if (m->mount_id == w->mount_id)
				return m;
		} else if (w->mountpoint[0]) {
			if (strcmp(m->mountpoint, w->mountpoint) == 0)
				hit = m; /* the last one: it is on top */
		} else if (m->dev_major == w->dev_major && m->dev_minor == w->dev_minor) {
			hit = m;
		}
	}
	return hit;
}
