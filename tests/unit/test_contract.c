/* SPDX-License-Identifier: ISC */
/*
 * test_contract.c - proto/contract.c: a request's params checked against a
 * method's contract (the messages PROTOCOL.md section 2 promises), defaults,
 * and the synopsis sys.methods shows.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "sq_contract.h"

static const char *const modes[] = { "create", "replace", NULL };
static const struct sq_field t_pid = { .types = SQ_T_INT, .ranged = true, .min = 1, .max = 100 };
static const struct sq_field spec[] = {
	{ .name = "path", .types = SQ_T_STR | SQ_T_BIN, .required = true, .no_nul = true },
	{ .name = "timeout_ms", .types = SQ_T_INT, .ranged = true, .min = 1, .max = 10000,
	  .has_default = true, .def = 1000 },
	{ .name = "all", .types = SQ_T_BOOL, .has_default = true, .def = 1 },
	{ .name = "mode", .types = SQ_T_STR, .values = modes },
	{ .name = "pids", .types = SQ_T_ARRAY, .items = &t_pid, .max_items = 2 },
	{ 0 },
};

struct req {
	msgpack_zone zone;
	msgpack_object params;
	struct sq_params p;
};

/* Parse params given as msgpack bytes ([{...}]), open and check them. */
static int check(struct req *r, const char *bytes, size_t len)
{
	msgpack_zone_init(&r->zone, 1024);
	size_t off = 0;
	cr_assert_eq(msgpack_unpack(bytes, len, &off, &r->zone, &r->params), MSGPACK_UNPACK_SUCCESS);
	int rc = sq_params_open(&r->p, &r->params);
	return rc < 0 ? rc : sq_params_check(&r->p, spec);
}

#define CHECK(r, lit) check(r, lit, sizeof(lit) - 1)

static void expect_einval(const char *bytes, size_t len, const char *msg)
{
	struct req r;
	cr_assert_eq(check(&r, bytes, len), -EINVAL, "accepted; want '%s'", msg);
	cr_assert_str_eq(r.p.err, msg);
	msgpack_zone_destroy(&r.zone);
}
#define EINVAL_MSG(lit, msg) expect_einval(lit, sizeof(lit) - 1, msg)

Test(contract, good_params_pass_and_defaults_fill_in)
{
	struct req r;
	/* [{"path": "/x"}] */
	cr_assert_eq(CHECK(&r, "\x91\x81\xa4path\xa2/x"), 0, "%s", r.p.err);
	cr_assert_eq(sq_params_int(&r.p, spec, "timeout_ms"), 1000);
	cr_assert(sq_params_bool(&r.p, spec, "all"));
	cr_assert_not(sq_params_has(&r.p, "mode"));
	msgpack_zone_destroy(&r.zone);
	/* [{"path": "/x", "timeout_ms": 5, "all": false, "mode": nil}]: nil is absent */
	cr_assert_eq(CHECK(&r, "\x91\x84\xa4path\xa2/x\xaatimeout_ms\x05\xa3""all\xc2\xa4mode\xc0"), 0,
	             "%s", r.p.err);
	cr_assert_eq(sq_params_int(&r.p, spec, "timeout_ms"), 5);
	cr_assert_not(sq_params_bool(&r.p, spec, "all"));
	cr_assert_not(sq_params_has(&r.p, "mode"));
	msgpack_zone_destroy(&r.zone);
}

Test(contract, each_kind_of_bad_param_is_named)
{
	EINVAL_MSG("\x90", "missing required param 'path'");
	EINVAL_MSG("\x91\x82\xa4path\xa2/x\xa1z\x01", "unknown param 'z'");
	EINVAL_MSG("\x91\x81\xa4path\x05", "param 'path' must be a string or bin");
	EINVAL_MSG("\x91\x81\xa4path\xa3/\x00x", "param 'path' must not contain NUL bytes");
	EINVAL_MSG("\x91\x82\xa4path\xa2/x\xaatimeout_ms\x00",
	           "param 'timeout_ms' out of range (1..10000)");
	EINVAL_MSG("\x91\x82\xa4path\xa2/x\xaatimeout_ms\xff",
	           "param 'timeout_ms' out of range (1..10000)");
	EINVAL_MSG("\x91\x82\xa4path\xa2/x\xa3""all\x01", "param 'all' must be a boolean");
	EINVAL_MSG("\x91\x82\xa4path\xa2/x\xa4mode\xa1x",
	           "param 'mode' must be one of \"create\", \"replace\"");
	EINVAL_MSG("\x91\x82\xa4path\xa2/x\xa4pids\x92\x01\xa1x", "param 'pids'[1] must be an integer");
	EINVAL_MSG("\x91\x82\xa4path\xa2/x\xa4pids\x91\x65", "param 'pids'[0] out of range (1..100)");
}

Test(contract, too_many_elements_is_e2big)
{
	struct req r;
	cr_assert_eq(CHECK(&r, "\x91\x82\xa4path\xa2/x\xa4pids\x93\x01\x02\x03"), -E2BIG);
	cr_assert_str_eq(r.p.err, "param 'pids' has 3 elements (max 2)");
	msgpack_zone_destroy(&r.zone);
}

Test(contract, the_synopsis_says_what_the_data_says)
{
	char buf[256];
	sq_params_synopsis(spec, buf, sizeof(buf));
	cr_assert_str_eq(buf, "{path: str|bin, timeout_ms?: int 1..10000 = 1000, all?: bool = true, "
	                      "mode?: \"create\"|\"replace\", pids?: [int 1..100; max 2]}");
	sq_params_synopsis(spec, buf, 12); /* cut short, still a C string */
	cr_assert_eq(strlen(buf), 11);
}
