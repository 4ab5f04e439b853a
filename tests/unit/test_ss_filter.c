/* SPDX-License-Identifier: ISC */
/*
 * test_ss_filter.c - `sysq ss`'s port filter expressions (client/ss_filter.c)
 * in isolation: what they take, what they refuse to parse, and the
 * net.sockets params they let sysqd filter by (never one that would drop a
 * socket the expression takes).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "ss_filter.h"

static struct ss_filter *parse1(const char *text)
{
	char buf[512], err[200];
	snprintf(buf, sizeof(buf), "%s", text);
	char *w = buf;
	struct ss_filter *f = ss_filter_parse(&w, 1, err, sizeof(err));
	cr_assert(f, "%s: %s", text, err);
	return f;
}

static void params(const char *text, int l, int r, int p)
{
	struct ss_filter *f = parse1(text);
	int gl, gr, gp;
	ss_filter_params(f, &gl, &gr, &gp);
	cr_expect(gl == l && gr == r && gp == p, "%s: local %d remote %d port %d, not %d %d %d",
	          text, gl, gr, gp, l, r, p);
	ss_filter_free(f);
}

Test(ss_filter, params_sysqd_can_filter_by)
{
	params("", -1, -1, -1);
	params("sport = :22", 22, -1, -1);
	params("dport == 443", -1, 443, -1);
	params("sport = :22 and dport = :80", 22, 80, -1);
	params("sport = :22 dport = :80", 22, 80, -1);
	params("( sport = :22 or dport = :22 )", -1, -1, 22);
	params("(sport = :22 || sport = :22)", 22, -1, -1);
	params("sport = :22 or sport = :23", -1, -1, -1);
	params("not sport = :22", -1, -1, -1);
	params("sport != :22", -1, -1, -1);
	params("sport > :1024 and ( dport = :5 or sport = :5 )", -1, -1, 5);
}

static bool takes(const char *text, bool inet, long l, long r)
{
	struct ss_filter *f = parse1(text);
	bool ok = ss_filter_match(f, inet, l, r);
	ss_filter_free(f);
	return ok;
}

Test(ss_filter, what_it_takes)
{
	cr_expect(takes("", true, 1, 2));
	cr_expect(takes("", false, 0, 0), "no expression: UNIX sockets too");
	cr_expect(takes("sport = :22", true, 22, 5));
	cr_expect(!takes("sport = :22", true, 5, 22));
	cr_expect(!takes("sport = :22", false, 22, 0), "a UNIX socket has no port");
	cr_expect(takes("!sport = :22", false, 0, 0));
	cr_expect(takes("( sport = :22 or dport = :22 )", true, 5, 22));
	cr_expect(!takes("sport = :22 and dport = :22", true, 5, 22));
	cr_expect(takes("sport > :1024", true, 1025, 0));
	cr_expect(!takes("sport gt :1024", true, 1024, 0));
	cr_expect(takes("sport ge :1024", true, 1024, 0));
	cr_expect(takes("sport < :1024", true, 1023, 0));
	cr_expect(!takes("sport lt :1024", true, 1024, 0));
	cr_expect(takes("sport <= :1024", true, 1024, 0));
	cr_expect(takes("sport ne :1 and not (dport eq :2 || dport = :3)", true, 2, 4));
	cr_expect(!takes("sport ne :1 and not (dport eq :2 || dport = :3)", true, 2, 3));
}

Test(ss_filter, refuses_what_is_not_a_filter)
{
	static const char *const bad[] = {
		"sport", "sport =", "sport = :65536", "sport = :x", "src 1.2.3.4",
		"( sport = :1", "sport = :1 )", "sport = :1 or", "and sport = :1", "not",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char buf[128], err[200] = "";
		snprintf(buf, sizeof(buf), "%s", bad[i]);
		char *w = buf;
		struct ss_filter *f = ss_filter_parse(&w, 1, err, sizeof(err));
		cr_expect(f == NULL, "'%s' parsed", bad[i]);
		cr_expect(err[0] != '\0', "'%s': no message", bad[i]);
		ss_filter_free(f);
	}
}
