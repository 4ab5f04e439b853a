/* SPDX-License-Identifier: ISC */
/*
 * watch_util.h - what the watch and process-event suites share: a
 * connection whose reads give up after 5 s (the deadline for events that
 * never come), watch.subscribe, the next event of a subscription, and an
 * event's fields.
 */
#ifndef SQ_WATCH_UTIL_H
#define SQ_WATCH_UTIL_H

#include <stdbool.h>
#include <stdint.h>

#include "harness.h"

/* A connection to d whose reads time out after 5 s. */
struct sysq *watch_connect(const struct sqd *d);
/* watch.subscribe with json params: the subscription id, or a failed test. */
uint64_t watch_subscribe(struct sysq *c, const char *json);
/* The next watch.event of subscription sub (its map; r holds it).  With
 * only_sub, every watch.event on c must be sub's (a failed test
 * otherwise); without, other subscriptions' events are passed over.  A read
 * that times out fails the test with the end of d's log. */
const msgpack_object *watch_next_event(const struct sqd *d, struct sysq *c, struct sysq_reply *r,
                                       uint64_t sub, bool only_sub);
/* Whether e's key is the string val. */
bool ev_is(const msgpack_object *e, const char *key, const char *val);
/* e's integer key, or a failed test when it has none. */
long long ev_num(const msgpack_object *e, const char *key);

#endif
