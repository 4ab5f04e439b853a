/* SPDX-License-Identifier: ISC */
/*
 * methods.h - the method table: every method sysqd serves, as data.
 *
 * One row per method: name, handler, where it runs, who may call it, its
 * one-line summary, and its contract (proto/sq_contract.h): typed params,
 * result shape and error codes.  Dispatch, access checks, the params check
 * (before any handler runs), sys.methods, and through it the generated
 * parts of PROTOCOL.md and sysq-protocol(7) (`make docs`) all read this
 * table; nothing else knows the list of methods or their params.
 * docs/adding-a-method.md says how to add one.
 */
#ifndef SQ_METHODS_H
#define SQ_METHODS_H

#include <stdbool.h>
#include <stddef.h>

#include "sq_contract.h"

struct sq_req;
struct sq_cred;

/* Return 0 with a result packed into r->pk, a negative errno (see
 * sq_req_fail for a message), or SQ_ASYNC when the handler finishes the
 * request later with sq_req_done(). */
typedef int (*sq_handler_fn)(struct sq_req *r);
#define SQ_ASYNC 1

enum sq_run {
	SQ_RUN_LOOP,   /* on the loop thread: must not block, ever */
	SQ_RUN_POOL,   /* a job on the worker engine (engine.h) */
	SQ_RUN_ASYNC,  /* starts on the loop, finishes itself (engine jobs, probers,
	                * transfers) */
};

enum sq_access {
	SQ_ACCESS_ANY,   /* every peer */
	SQ_ACCESS_AS_CALLER, /* runs as the peer: needs a root daemon or the peer's own uid */
	SQ_ACCESS_ROOT,  /* peers with uid 0, or those the policy grants it */
};

/* Whom the off-loop work of a request runs as: the dispatcher (the
 * engine) switches the worker before the handler runs, never the handler. */
enum sq_identity {
	SQ_AS_DAEMON,    /* sysqd itself */
	SQ_AS_CALLER,    /* the peer (where sysqd can switch: it is root; else sysqd,
	                  * which then serves only its own uid or what any user sees) */
};

struct sq_method {
	const char *name;
	sq_handler_fn fn;
	enum sq_run run;
	enum sq_access access;
	enum sq_identity as;
	const char *summary;
	const struct sq_field *params;  /* NULL-terminated; checked before fn runs */
	const struct sq_field *result;  /* the result's shape */
	const char *const *errors;      /* codes it answers besides the protocol's own */
};

extern const struct sq_method sq_methods[];
extern const size_t sq_nmethods;

const struct sq_method *sq_method_find(const char *name, size_t len);
/* The codes every method may answer (PROTOCOL.md section 3), NULL-terminated. */
extern const char *const sq_protocol_errors[];
/* 0 when cred may call m, else -EPERM with a reason in why. */
int sq_method_allowed(const struct sq_method *m, const struct sq_cred *cred,
                      const char **why);

#endif
