/* SPDX-License-Identifier: ISC */
/*
 * test_sysctl.c - the portable half of kernel parameters (lib/sysctl.c):
 * names to their canonical dotted form and what is refused, and the typing
 * of a value's text (an int, several, or text) and its log form.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sq_sysctl.h"

static int canon(const char *in, char *out)
{
	return sq_sysctl_canon(in, strlen(in), out, SQ_SYSCTL_NAME_MAX);
}

Test(sysctl_names, dotted_and_slash_forms)
{
	char out[SQ_SYSCTL_NAME_MAX];
	cr_assert_eq(canon("net.ipv4.ip_forward", out), 0);
	cr_assert_str_eq(out, "net.ipv4.ip_forward");
	cr_assert_eq(canon("net/ipv4/ip_forward", out), 0);
	cr_assert_str_eq(out, "net.ipv4.ip_forward");
	/* a dot inside a component: '/' in the dotted form, as sysctl(8) */
	cr_assert_eq(canon("net/ipv4/conf/eth0.100/rp_filter", out), 0);
	cr_assert_str_eq(out, "net.ipv4.conf.eth0/100.rp_filter");
	cr_assert_eq(canon("net.ipv4.conf.eth0/100.rp_filter", out), 0);
	cr_assert_str_eq(out, "net.ipv4.conf.eth0/100.rp_filter");
}

Test(sysctl_names, what_is_no_name)
{
	char out[SQ_SYSCTL_NAME_MAX], big[SQ_SYSCTL_NAME_MAX + 8];
	static const char *const bad[] = {
		"", ".", "..", "a..b", ".a", "a.", "a/../b", "../etc/passwd", "a/./b", "a b",
		"a\tb", "a\nb", "kernel./", "kernel.//", "a\x7f",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(canon(bad[i], out), -EINVAL, "'%s' was taken", bad[i]);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	cr_assert_eq(canon(big, out), -EINVAL, "over-long");
}

static void typed(const char *text, enum sq_sysctl_kind kind, size_t n, struct sq_sysctl_value *v)
{
	char *data = strdup(text);
	cr_assert_eq(sq_sysctl_type_text(v, data, strlen(text)), 0);
	cr_assert_eq(v->kind, kind, "'%s'", text);
	if (kind == SQ_SYSCTL_NUMS)
		cr_assert_eq(v->n, n, "'%s'", text);
}

Test(sysctl_values, typed_as_the_kernel_writes_them)
{
	struct sq_sysctl_value v;
	char log[64];
	typed("1", SQ_SYSCTL_NUMS, 1, &v);
	cr_assert(!v.nums[0].neg && v.nums[0].mag == 1);
	sq_sysctl_value_free(&v);
	typed("-1", SQ_SYSCTL_NUMS, 1, &v);
	cr_assert(v.nums[0].neg && v.nums[0].mag == 1);
	sq_sysctl_value_free(&v);
	typed("4096\t131072\t6291456", SQ_SYSCTL_NUMS, 3, &v);
	sq_sysctl_format(&v, log, sizeof(log));
	cr_assert_str_eq(log, "4096 131072 6291456");
	sq_sysctl_value_free(&v);
	typed("18446744073692774399", SQ_SYSCTL_NUMS, 1, &v); /* kernel.shmall: a u64 */
	cr_assert_eq(v.nums[0].mag, 18446744073692774399ull);
	sq_sysctl_value_free(&v);
	typed("18446744073709551616", SQ_SYSCTL_TEXT, 0, &v); /* past u64: text */
	sq_sysctl_value_free(&v);
	typed("-9223372036854775809", SQ_SYSCTL_TEXT, 0, &v); /* past int64 */
	sq_sysctl_value_free(&v);
	typed("Linux", SQ_SYSCTL_TEXT, 0, &v);
	sq_sysctl_value_free(&v);
	typed("1 2\n3 4", SQ_SYSCTL_TEXT, 0, &v); /* a table stays text */
	sq_sysctl_value_free(&v);
	typed("", SQ_SYSCTL_TEXT, 0, &v);
	sq_sysctl_value_free(&v);
	typed("0x10", SQ_SYSCTL_TEXT, 0, &v);
	sq_sysctl_value_free(&v);
	typed("a\xff\\", SQ_SYSCTL_TEXT, 0, &v);
	sq_sysctl_format(&v, log, sizeof(log));
	cr_assert_str_eq(log, "a\\xff\\x5c");
	sq_sysctl_value_free(&v);
}
