/* SPDX-License-Identifier: ISC */
/*
 * harden_os.h - what lib/harden.c (portable: core dumps off) needs from
 * harden_<os>.c: the rest of sq_harden_process.  Private to lib/.
 */
#ifndef SQ_HARDEN_OS_H
#define SQ_HARDEN_OS_H

#include <stddef.h>

/* The OS's own steps, after core dumps are off: 0, or a negative errno
 * with what failed in why. */
int sq_harden_os_process(char *why, size_t whylen);

#endif
