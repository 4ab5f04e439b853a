/* SPDX-License-Identifier: ISC */
/*
 * output.c - aligned text tables for the CLI (ps, df, net ...): cells are
 * collected row by row, widths computed, then printed; numeric columns can
 * be right-aligned like ps and df do.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

struct table {
	int ncols;
	const char *const *headers;
	const char *right;     /* one char per column: 'r' right-aligns */
	char **cells;
	size_t ncells, cap;
};

struct table *table_new(int ncols, const char *const *headers, const char *right_align)
{
	struct table *t = calloc(1, sizeof(*t));
	if (!t) {
		perror("sysq");
		exit(1);
	}
	t->ncols = ncols;
	t->headers = headers;
	t->right = right_align;
	return t;
}

void table_add(struct table *t, const char *cell)
{
	if (t->ncells == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 64;
		t->cells = realloc(t->cells, t->cap * sizeof(*t->cells));
		if (!t->cells) {
			perror("sysq");
			exit(1);
		}
	}
	t->cells[t->ncells++] = strdup(cell ? cell : "");
}

void table_addf(struct table *t, const char *fmt, ...)
{
	char buf[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	table_add(t, buf);
}

static void print_row(const struct table *t, FILE *f, const char *const *row,
                      const size_t *w)
{
	for (int c = 0; c < t->ncols; c++) {
		int last = c == t->ncols - 1;
		int right = t->right && t->right[c] == 'r';
		int width = (int)w[c];
		if (right)
			fprintf(f, "%*s", width, row[c]);
		else if (last)
			fputs(row[c], f);
		else
			fprintf(f, "%-*s", width, row[c]);
		fputs(last ? "\n" : " ", f);
	}
}

void table_print(struct table *t, FILE *f)
{
	size_t *w = calloc((size_t)t->ncols, sizeof(*w));
	if (!w)
		return;
	for (int c = 0; c < t->ncols; c++)
		w[c] = strlen(t->headers[c]);
	for (size_t i = 0; i < t->ncells; i++) {
		size_t n = strlen(t->cells[i]);
		int c = (int)(i % (size_t)t->ncols);
		if (n > w[c])
			w[c] = n;
	}
	print_row(t, f, t->headers, w);
	for (size_t i = 0; i + (size_t)t->ncols <= t->ncells; i += (size_t)t->ncols)
		print_row(t, f, (const char *const *)&t->cells[i], w);
	free(w);
}

void table_free(struct table *t)
{
	for (size_t i = 0; i < t->ncells; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
}
