/* SPDX-License-Identifier: ISC */
/*
 * config.h - sysqd's run-time settings: everything main.c parses from the
 * command line, with the embedded defaults documented in sysqd(8).
 */
#ifndef SQ_CONFIG_H
#define SQ_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sq_proto.h"

#define SQ_DEFAULT_MAX_CONNS     1024u
#define SQ_DEFAULT_MAX_PER_UID   256u
#define SQ_DEFAULT_MAX_INFLIGHT  128u
#define SQ_DEFAULT_MAX_OUTPUT    (4u * 1024u * 1024u)
#define SQ_DEFAULT_WRITE_TIMEOUT 30u /* seconds */

struct sq_config {
	char socket_path[108];      /* sizeof(sun_path) on Linux */
	int verbosity;              /* 0 warnings, 1 info, 2 debug */
	struct sq_limits limits;    /* decoder limits */
	uint32_t max_conns;         /* connections at once */
	uint32_t max_per_uid;       /* connections at once from one non-root uid */
	uint32_t max_inflight;      /* requests in flight per connection */
	size_t max_output;          /* bytes queued to one connection */
	uint32_t write_timeout_ms;  /* queued replies not moving: disconnect */
	uint32_t max_fds_per_uid;   /* descriptors one uid may make sysqd hold (0: default) */
	bool no_proc_events;        /* --no-proc-events: listed pids by pidfd only */
	uint32_t proc_events_buffer; /* the process events' kernel buffer (0: default) */
};

#endif
