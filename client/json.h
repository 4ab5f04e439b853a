/* SPDX-License-Identifier: ISC */
/*
 * json.h - the bridge between msgpack and JSON for the CLI and scripts:
 * print any msgpack object as JSON, and parse JSON params into msgpack.
 *
 * Bytes: a msgpack bin (or a str that is not valid UTF-8) prints as
 * {"$bin": "<base64>"}; the parser turns the same form back into bin.
 */
#ifndef SQ_JSON_H
#define SQ_JSON_H

#include <stdio.h>

#include <msgpack.h>

#include "sq_utf8.h"

/* indent < 0: one line; otherwise pretty-printed with that many spaces. */
void sq_json_print(FILE *f, const msgpack_object *o, int indent);
/* Parse text as one JSON value and pack it.  0, or -EINVAL with a message. */
int sq_json_pack(msgpack_packer *pk, const char *text, char *err, size_t errlen);

#endif
