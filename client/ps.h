/* SPDX-License-Identifier: ISC */
/*
 * ps.h - sysq ps's columns (ps_fields.c): ps(1)'s field names, headers,
 * minimum widths and formats, the proc.list fields each needs, sorting by
 * one, and printing the table cut to a width.  cmd_proc.c fills the rows.
 */
#ifndef SQ_PS_H
#define SQ_PS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* proc.list fields a row may hold (bit i: ps_wire[i]) */
enum {
	W_PID, W_PPID, W_PGID, W_SID, W_UID, W_EUID, W_STATE, W_COMM, W_ARGS,
	W_START, W_CPU_USER, W_CPU_SYSTEM, W_RSS, W_VSIZE, W_THREADS, W_NICE, W_TTY, W_N
};
extern const char *const ps_wire[W_N];

struct ps_row {
	unsigned have;               /* bits of the W_ fields the daemon gave */
	long long pid, ppid, pgid, sid, uid, euid, nice, threads;
	char state;
	unsigned long long rss, vsz, cpu_ns;
	double start;
	const char *user, *ruser;    /* names (or numbers), not owned */
	char tty[32];
	char *comm, *command;        /* escaped, owned */
};

/* A column: the field (an index into the table), and its header. */
struct ps_col {
	int field;
	const char *header;
};

/* Parse one -o argument ("pid,user", "pid=ID"), appending to cols.  0, or
 * -1 with a message on stderr. */
int ps_parse_fields(const char *arg, struct ps_col *cols, size_t *ncols, size_t max);
/* The W_ bits a field needs. */
unsigned ps_field_needs(int field);
/* The field needs the host's memory total (%MEM): ps_set_mem_total. */
bool ps_field_wants_mem_total(int field);
void ps_set_mem_total(unsigned long long bytes);
/* Field by name (ps's names, and --sort's older ones): its index, or -1. */
int ps_sort_field(const char *name);
/* Sort rows by field (descending when desc), then by pid. */
void ps_sort(struct ps_row *rows, size_t n, int field, int desc);
/* Print the header (unless every header is empty) and the rows; width > 0
 * cuts each line to width characters. */
void ps_print(FILE *f, const struct ps_col *cols, size_t ncols, const struct ps_row *rows,
              size_t n, size_t width);

#endif
