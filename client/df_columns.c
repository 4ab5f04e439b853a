/* SPDX-License-Identifier: ISC */
/*
 * df_columns.c - sysq df's columns as df(1) prints them: the --output field
 * names, each mode's header words (1K-blocks, 1024-blocks, Size, Avail,
 * Available, Use%, Capacity), and a file system map (PROTOCOL.md) turned
 * into cells: sizes in powers of 1024 or in 1K/1M blocks rounded up, inode
 * counts, percentages rounded up.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "df.h"
#include "sq_proto.h"

static const char *const names[DF_NFIELDS] = {
	"source", "fstype", "itotal", "iused", "iavail", "ipcent",
	"size", "used", "avail", "pcent", "file", "target",
};

int df_field_named(const char *name, size_t len)
{
	for (int i = 0; i < DF_NFIELDS; i++)
		if (strlen(names[i]) == len && strncmp(names[i], name, len) == 0)
			return i;
	return -1;
}

void df_cols_finish(struct df_cols *c)
{
	bool posix = c->mode == DF_MODE_POSIX;
	for (int i = 0; i < c->n; i++) {
		const char *h = "";
		switch (c->f[i]) {
		case DF_SOURCE: h = "Filesystem"; break;
		case DF_FSTYPE: h = "Type"; break;
		case DF_ITOTAL: h = "Inodes"; break;
		case DF_IUSED: h = "IUsed"; break;
		case DF_IAVAIL: h = "IFree"; break;
		case DF_IPCENT: h = "IUse%"; break;
		case DF_SIZE:
			h = c->units == DF_HUMAN ? "Size"
			    : c->units == DF_K ? (posix ? "1024-blocks" : "1K-blocks")
			    : (posix ? "1048576-blocks" : "1M-blocks");
			break;
		case DF_USED: h = "Used"; break;
		case DF_AVAIL:
			h = c->units == DF_HUMAN || c->mode == DF_MODE_OUTPUT ? "Avail" : "Available";
			break;
		case DF_PCENT: h = posix && c->units != DF_HUMAN ? "Capacity" : "Use%"; break;
		case DF_FILE: h = "File"; break;
		case DF_TARGET: h = "Mounted on"; break;
		case DF_NFIELDS: break;
		}
		c->header[i] = h;
		bool left = c->f[i] == DF_SOURCE || c->f[i] == DF_FSTYPE || c->f[i] == DF_FILE ||
		            c->f[i] == DF_TARGET;
		c->align[i] = left ? 'l' : 'r';
	}
	c->align[c->n] = '\0';
}

/* df -h: powers of 1024, rounded up, one decimal below 10. */
static void human(uint64_t v, char *buf, size_t size)
{
	static const char units[] = "KMGTPE";
	if (v < 1024) {
		snprintf(buf, size, "%llu", (unsigned long long)v);
		return;
	}
	double x = (double)v;
	int u = -1;
	while (x >= 1024 && u < 5) {
		x /= 1024;
		u++;
	}
	if (x < 10) {
		x = ceil(x * 10) / 10;
		if (x >= 10) {
			snprintf(buf, size, "%.0f%c", x, units[u]);
			return;
		}
		snprintf(buf, size, "%.1f%c", x, units[u]);
	} else {
		x = ceil(x);
		if (x >= 1024 && u < 5) {
			snprintf(buf, size, "%.1f%c", 1.0, units[u + 1]);
			return;
		}
		snprintf(buf, size, "%.0f%c", x, units[u]);
	}
}

static void bytes_cell(struct table *t, const struct df_cols *c, uint64_t v)
{
	char b[32];
	if (c->units == DF_HUMAN) {
		human(v, b, sizeof(b));
		table_add(t, b);
	} else {
		uint64_t unit = c->units == DF_K ? 1024 : 1048576;
		table_addf(t, "%llu", (unsigned long long)(v / unit + (v % unit != 0)));
	}
}

static void count_cell(struct table *t, const struct df_cols *c, uint64_t v)
{
	char b[32];
	if (c->human_inodes)
		human(v, b, sizeof(b));
	else
		snprintf(b, sizeof(b), "%llu", (unsigned long long)v);
	table_add(t, b);
}

/* used / (used + avail) as a percentage rounded up, as df does; "-" for 0/0. */
static void pcent_cell(struct table *t, uint64_t used, uint64_t avail)
{
	uint64_t all = used + avail;
	if (all == 0) {
		table_add(t, "-");
	} else if (used <= UINT64_MAX / 100) {
		table_addf(t, "%llu%%", (unsigned long long)((used * 100 + all - 1) / all));
	} else {
		table_addf(t, "%.0f%%", ceil((double)used * 100.0 / (double)all));
	}
}

static bool get_u64(const msgpack_object *m, const char *key, uint64_t *v)
{
	const msgpack_object *o = obj_get(m, key);
	if (!o || o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return false;
	*v = o->via.u64;
	return true;
}

void df_add_row(struct table *t, const struct df_cols *c, const msgpack_object *m,
                const char *file)
{
	char src[512], mp[1200], fstype[128], state[16], err[32];
	obj_str(m, "source", src, sizeof(src));
	obj_str(m, "mountpoint", mp, sizeof(mp));
	obj_str(m, "fstype", fstype, sizeof(fstype));
	obj_str(m, "state", state, sizeof(state));
	obj_str(m, "error", err, sizeof(err));
	uint64_t size = 0, freeb = 0, avail = 0, files = 0, ffree = 0;
	bool ok = strcmp(state, "ok") == 0 && get_u64(m, "total_bytes", &size) &&
	          get_u64(m, "free_bytes", &freeb) && get_u64(m, "avail_bytes", &avail);
	bool iok = ok && get_u64(m, "files", &files) && get_u64(m, "files_free", &ffree);
	uint64_t used = size > freeb ? size - freeb : 0;
	uint64_t iused = files > ffree ? files - ffree : 0;

	for (int i = 0; i < c->n; i++) {
		enum df_field f = c->f[i];
		bool inode = f == DF_ITOTAL || f == DF_IUSED || f == DF_IAVAIL || f == DF_IPCENT;
		bool bytes = f == DF_SIZE || f == DF_USED || f == DF_AVAIL || f == DF_PCENT;
		if ((inode && !iok) || (bytes && !ok)) {
			table_add(t, "-");
			continue;
		}
		switch (f) {
		case DF_SOURCE: table_add(t, src[0] ? src : "-"); break;
		case DF_FSTYPE: table_add(t, fstype[0] ? fstype : "-"); break;
		case DF_ITOTAL: count_cell(t, c, files); break;
		case DF_IUSED: count_cell(t, c, iused); break;
		case DF_IAVAIL: count_cell(t, c, ffree); break;
		case DF_IPCENT:
			if (files == 0)
				table_add(t, "-");
			else
				pcent_cell(t, iused, ffree);
			break;
		case DF_SIZE: bytes_cell(t, c, size); break;
		case DF_USED: bytes_cell(t, c, used); break;
		case DF_AVAIL: bytes_cell(t, c, avail); break;
		case DF_PCENT: pcent_cell(t, used, avail); break;
		case DF_FILE: table_add(t, file); break;
		case DF_TARGET:
			if (ok)
				table_add(t, mp[0] ? mp : "-");
			else
				table_addf(t, "%s (%s: %s)", mp, state[0] ? state : "unknown",
				           err[0] ? err : "?");
			break;
		case DF_NFIELDS: break;
		}
	}
}
