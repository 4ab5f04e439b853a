/* SPDX-License-Identifier: ISC */
/*
 * test_peruser.c - one user cannot take all the connections: with
 * --max-per-user 2, a third connection from uid 65534 is told EAGAIN and
 * closed, while root and the user's first two connections keep working.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "harness.h"
#include "sq_proto.h"

static int three_as_nobody(void *arg)
{
	const struct sqd *d = arg;
	char err[256];
	struct sysq *c[3];
	for (int i = 0; i < 3; i++) {
		c[i] = sysq_connect(d->sock, err, sizeof(err));
		if (!c[i])
			return 10 + i;
	}
	struct sysq_reply r;
	/* the third is told why in a sys.error notification, then closed */
	if (sysq_read(c[2], &r) != 0 || r.type != 2 || strcmp(r.method, "sys.error") != 0)
		return 20;
	const msgpack_object *e = &r.result->via.array.ptr[0];
	if (!sq_obj_streq(sq_map_get(e, "code"), "EAGAIN"))
		return 21;
	sysq_reply_free(&r);
	if (sysq_read(c[2], &r) != -ECONNRESET)
		return 22;
	for (int i = 0; i < 2; i++) {
		if (sysq_call0(c[i], "sys.ping", &r) != 0)
			return 30 + i;
		sysq_reply_free(&r);
	}
	for (int i = 0; i < 3; i++)
		sysq_close(c[i]);
	return 0;
}

Test(peruser, a_user_over_its_connection_share_is_refused, .timeout = 60)
{
	SKIP_UNLESS_ROOT();
	struct sqd d;
	const char *args[] = { "--max-per-user", "2", NULL };
	sqd_start(&d, args);
	struct sysq *root[4];
	for (int i = 0; i < 4; i++) /* root is not limited per user */
		root[i] = sqd_connect(&d);
	cr_assert_eq(run_as(NOBODY_UID, NOBODY_GID, three_as_nobody, &d), 0);
	struct sysq_reply r;
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(sq_call(root[i], "sys.ping", NULL, &r), 0);
		sysq_reply_free(&r);
		sysq_close(root[i]);
	}
	cr_assert_eq(sqd_stat(&d, "connections_rejected_per_user"), 1);
	sqd_stop_clean(&d);
}
