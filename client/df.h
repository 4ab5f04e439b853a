/* SPDX-License-Identifier: ISC */
/*
 * df.h - what sysq df's option parsing (cmd_fs.c) and its columns
 * (df_columns.c) share: the fields of df's --output, the units, and how a
 * file system map becomes a row.
 */
#ifndef SQ_DF_H
#define SQ_DF_H

#include <stdbool.h>

#include "cli.h"

/* df(1)'s --output field names, in its order. */
enum df_field {
	DF_SOURCE, DF_FSTYPE, DF_ITOTAL, DF_IUSED, DF_IAVAIL, DF_IPCENT,
	DF_SIZE, DF_USED, DF_AVAIL, DF_PCENT, DF_FILE, DF_TARGET, DF_NFIELDS
};

/* Sizes: powers of 1024 with a suffix (-h, sysq's default), 1K or 1M blocks. */
enum df_units { DF_HUMAN, DF_K, DF_M };

/* Header words, as df prints them in each mode. */
enum df_mode { DF_MODE_DEFAULT, DF_MODE_POSIX, DF_MODE_OUTPUT };

struct df_cols {
	enum df_field f[DF_NFIELDS];
	int n;
	enum df_units units;
	bool human_inodes;     /* -h given: inode counts scaled too */
	enum df_mode mode;
	const char *header[DF_NFIELDS];
	char align[DF_NFIELDS + 1];
};

/* The field named name ("source", ...), or -1. */
int df_field_named(const char *name, size_t len);
/* Headers and alignment for the chosen fields. */
void df_cols_finish(struct df_cols *c);
/* One row for a file system map; file is the path asked about ("-" when
 * listing). */
void df_add_row(struct table *t, const struct df_cols *c, const msgpack_object *m,
                const char *file);

#endif
