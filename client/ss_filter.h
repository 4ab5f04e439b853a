/* SPDX-License-Identifier: ISC */
/*
 * ss_filter.h - ss(8)'s port filter expressions for `sysq ss`:
 * `sport = :22`, `dport != :443`, `( sport = :22 or dport = :22 )`,
 * `not`, `and`, comparisons; parsed once, tested on each socket, and
 * turned into the net.sockets params that let sysqd leave out what the
 * expression cannot take.
 */
#ifndef SQ_SS_FILTER_H
#define SQ_SS_FILTER_H

#include <stdbool.h>
#include <stddef.h>

struct ss_filter;

/*
 * Parse the words of an expression (ss joins its arguments: one word may
 * hold several tokens, `(` may stand alone or stick to a word).  NULL with
 * a message in err when it is not one; an empty expression takes all.
 */
struct ss_filter *ss_filter_parse(char *const *words, int n, char *err, size_t errlen);
/* Does a socket pass?  inet: TCP or UDP (a UNIX socket has no ports: a
 * port test is false for it). */
bool ss_filter_match(const struct ss_filter *f, bool inet, long lport, long rport);
/*
 * What sysqd can filter for it: *lport / *rport (net.sockets local_port,
 * remote_port) when every socket the expression takes has that port, *port
 * (port) when each has it at one end; -1 for none.  The expression is still
 * tested on what comes back: these only spare sending what it would drop.
 */
void ss_filter_params(const struct ss_filter *f, int *lport, int *rport, int *port);
void ss_filter_free(struct ss_filter *f);

#endif
