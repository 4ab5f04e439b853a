/* SPDX-License-Identifier: ISC */
/*
 * policy.h - who may call what beyond the built-in access rules.
 *
 * A policy is a list of allow/deny rules read from a file (or the embedded
 * default), validated as a whole with line-numbered errors, and swapped in
 * atomically on SIGHUP.  Deny rules can close any method to a user or group;
 * allow rules can only open `root` methods (privileged acts) to non-root
 * users: `as-caller` methods always run with the caller's own identity.
 */
#ifndef SQ_POLICY_H
#define SQ_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "methods.h"
#include "sq_peer.h"

struct sq_policy;

#define SQ_POLICY_DEFAULT_PATH "/etc/sysq/policy.conf"
/* The largest policy file, and the longest line (without its newline). */
#define SQ_POLICY_MAX_BYTES (1u << 20)
#define SQ_POLICY_MAX_LINE 4096u

/* Parse policy text; on error returns NULL and writes "SOURCE:LINE: reason"
 * to err.  Lines over SQ_POLICY_MAX_LINE are an error. */
struct sq_policy *sq_policy_parse(const char *text, const char *source,
                                  char *err, size_t errlen);
/* Read and parse a file: a regular file only (opened non-blocking, checked
 * with fstat), at most SQ_POLICY_MAX_BYTES, no NUL byte.  May block on the
 * file system: not on the loop (SIGHUP runs it on a worker).  Any thread,
 * one call at a time (it resolves names through NSS). */
struct sq_policy *sq_policy_load(const char *path, char *err, size_t errlen);
void sq_policy_free(struct sq_policy *p);
const char *sq_policy_source(const struct sq_policy *p);
size_t sq_policy_rules(const struct sq_policy *p);

/* The policy in force (NULL: none, built-in rules only). Loop thread only. */
void sq_policy_set(struct sq_policy *p);
const struct sq_policy *sq_policy_current(void);

/* What the policy says of a call (*line: the rule's line, for DENY and
 * ALLOW). */
enum sq_policy_verdict {
	SQ_POLICY_NONE = 0,  /* no rule applies: the built-in access rules decide */
	SQ_POLICY_DENY = 1,  /* a deny rule matches */
	SQ_POLICY_ALLOW = 2, /* an allow rule matches (grants a `root` method) */
};

/* Decision for cred calling m under p. */
enum sq_policy_verdict sq_policy_decide(const struct sq_policy *p,
                                        const struct sq_method *m,
                                        const struct sq_cred *cred, int *line);

/* The method whose rules name keys: `allow sys.sysctl.set KEY-PATTERN SUBJECT`.
 * For it, sq_policy_decide answers SQ_POLICY_ALLOW when some allow of some
 * keys matches cred (the method may be called), and sq_policy_decide_key
 * decides one key (a canonical dotted name): DENY (a deny of the method, or
 * of a pattern matching key), ALLOW (an allow whose pattern matches key),
 * NONE neither. */
#define SQ_POLICY_KEYED_METHOD "sys.sysctl.set"
enum sq_policy_verdict sq_policy_decide_key(const struct sq_policy *p,
                                            const struct sq_method *m, const char *key,
                                            const struct sq_cred *cred, int *line);

/* Whether cred has root's shares (`allow large-shares SUBJECT`). */
#define SQ_POLICY_LARGE_SHARES "large-shares"
bool sq_policy_large_shares(const struct sq_policy *p, const struct sq_cred *cred);

/* The embedded default policy text. */
extern const char sq_policy_default_text[];

#endif
