/* SPDX-License-Identifier: ISC */
/*
 * sq_errno.h - portable symbolic errno names for the wire.
 *
 * Linux and macOS number errno differently; the protocol carries names
 * ("EACCES"), so clients on either OS see the same code.
 */
#ifndef SQ_ERRNO_H
#define SQ_ERRNO_H

/* "EACCES" for EACCES (sign ignored); "EUNKNOWN" for an unlisted value. */
const char *sq_errno_name(int err);
/* The local errno value for a wire name, or 0 when this OS has none. */
int sq_errno_from_name(const char *name);

#endif
