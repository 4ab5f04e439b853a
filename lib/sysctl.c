/* SPDX-License-Identifier: ISC */
/*
 * sysctl.c - what Linux and macOS share about kernel parameters: the name
 * check and canonical (dotted) form, the typing of a value's text, and its
 * shape for log lines.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sq_sysctl.h"
#include "sq_utf8.h"

int sq_sysctl_canon(const char *name, size_t len, char *out, size_t size)
{
	if (len == 0 || len >= SQ_SYSCTL_NAME_MAX || len >= size)
		return -EINVAL;
	/* the slash form (its first separator is '/') is turned into the
	 * dotted one: separators and literal dots swap places */
	const char *dot = memchr(name, '.', len), *slash = memchr(name, '/', len);
	bool swap = slash && (!dot || slash < dot);
	size_t start = 0;
	for (size_t i = 0; i <= len; i++) {
		char ch = i < len ? name[i] : '\0';
		if (i < len && ((unsigned char)ch <= 0x20 || ch == 0x7f))
			return -EINVAL;
		if (swap && (ch == '/' || ch == '.'))
			ch = ch == '/' ? '.' : '/';
		if (i == len || ch == '.') {
			size_t clen = i - start;
			/* a component: not empty, not "." or ".." (in either form) */
			if (clen == 0 || (clen == 1 && out[start] == '/') ||
			    (clen == 2 && out[start] == '/' && out[start + 1] == '/'))
				return -EINVAL;
			start = i + 1;
		}
		out[i] = ch;
	}
	return 0;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n';
}

/* One word of digits, optionally signed: 0 and *num, or -1. */
static int parse_num(const char *p, size_t n, struct sq_sysctl_num *num)
{
	size_t i = 0;
	num->neg = false;
	num->mag = 0;
	if (n && p[0] == '-') {
		num->neg = true;
		i = 1;
	}
	if (i == n)
		return -1;
	for (; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		unsigned d = (unsigned)(p[i] - '0');
		if (num->mag > (UINT64_MAX - d) / 10)
			return -1;
		num->mag = num->mag * 10 + d;
	}
	if (num->neg && num->mag > (uint64_t)INT64_MAX + 1)
		return -1;
	if (num->neg && num->mag == 0)
		num->neg = false;
	return 0;
}

int sq_sysctl_type_text(struct sq_sysctl_value *v, char *data, size_t len)
{
	memset(v, 0, sizeof(*v));
	v->kind = SQ_SYSCTL_TEXT;
	v->data = data;
	v->len = len;
	size_t words = 0;
	for (size_t i = 0; i < len;) {
		while (i < len && is_space(data[i]))
			i++;
		if (i < len)
			words++;
		while (i < len && !is_space(data[i]))
			i++;
	}
	/* one line of numbers: a value of several lines (a table) stays text */
	if (words == 0 || memchr(data, '\n', len))
		return 0;
	struct sq_sysctl_num *nums = malloc(words * sizeof(*nums));
	if (!nums)
		return -ENOMEM;
	size_t n = 0;
	for (size_t i = 0; i < len;) {
		while (i < len && is_space(data[i]))
			i++;
		size_t s = i;
		while (i < len && !is_space(data[i]))
			i++;
		if (i > s && parse_num(data + s, i - s, &nums[n++]) < 0) {
			free(nums);
			return 0;
		}
	}
	v->kind = SQ_SYSCTL_NUMS;
	v->nums = nums;
	v->n = n;
	return 0;
}

void sq_sysctl_value_free(struct sq_sysctl_value *v)
{
	free(v->nums);
	free(v->data);
	memset(v, 0, sizeof(*v));
}

void sq_sysctl_format(const struct sq_sysctl_value *v, char *buf, size_t size)
{
	size_t o = 0;
	buf[0] = '\0';
	if (v->kind == SQ_SYSCTL_NUMS) {
		for (size_t i = 0; i < v->n && o + 1 < size; i++)
			o += (size_t)snprintf(buf + o, size - o, "%s%s%llu", i ? " " : "",
			                      v->nums[i].neg ? "-" : "",
			                      (unsigned long long)v->nums[i].mag);
		return;
	}
	if (v->kind == SQ_SYSCTL_OPAQUE) {
		snprintf(buf, size, "<%zu bytes>", v->len);
		return;
	}
	sq_text_show(buf, size, v->data, v->len, SQ_SHOW_HEX);
}
