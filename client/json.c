/* SPDX-License-Identifier: ISC */
/*
 * json.c - msgpack <-> JSON for the sysq CLI (`--json`, `sysq call`).
 * A small recursive-descent parser with a depth bound, and a printer that
 * escapes everything JSON requires and never emits invalid UTF-8.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "sq_proto.h"

#define JSON_MAX_DEPTH 64

static void print_string(FILE *f, const char *p, size_t n)
{
	fputc('"', f);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		switch (c) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		default:
			if (c < 0x20 || c == 0x7f)
				fprintf(f, "\\u%04x", c);
			else
				fputc(c, f);
		}
	}
	fputc('"', f);
}

static void print_base64(FILE *f, const char *p, size_t n)
{
	static const char tbl[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *s = (const unsigned char *)p;
	fputs("{\"$bin\": \"", f);
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)s[i + 1] << 8;
		if (i + 2 < n)
			v |= s[i + 2];
		fputc(tbl[(v >> 18) & 63], f);
		fputc(tbl[(v >> 12) & 63], f);
		fputc(i + 1 < n ? tbl[(v >> 6) & 63] : '=', f);
		fputc(i + 2 < n ? tbl[v & 63] : '=', f);
	}
	fputs("\"}", f);
}

static void newline(FILE *f, int indent, int level)
{
	if (indent < 0)
		return;
	fputc('\n', f);
	for (int i = 0; i < indent * level; i++)
		fputc(' ', f);
}

/* The shortest form that reads back as the same double: 0.1, not
 * 0.10000000000000001. */
static void print_double(FILE *f, double v)
{
	char buf[40];
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	fputs(buf, f);
}

static void print_obj(FILE *f, const msgpack_object *o, int indent, int level)
{
	switch (o->type) {
	case MSGPACK_OBJECT_NIL: fputs("null", f); break;
	case MSGPACK_OBJECT_BOOLEAN: fputs(o->via.boolean ? "true" : "false", f); break;
	case MSGPACK_OBJECT_POSITIVE_INTEGER: fprintf(f, "%" PRIu64, o->via.u64); break;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER: fprintf(f, "%" PRId64, o->via.i64); break;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		if (isfinite(o->via.f64))
			print_double(f, o->via.f64);
		else
			fputs("null", f);
		break;
	case MSGPACK_OBJECT_STR:
		if (sq_utf8_valid(o->via.str.ptr, o->via.str.size))
			print_string(f, o->via.str.ptr, o->via.str.size);
		else
			print_base64(f, o->via.str.ptr, o->via.str.size);
		break;
	case MSGPACK_OBJECT_BIN:
		print_base64(f, o->via.bin.ptr, o->via.bin.size);
		break;
	case MSGPACK_OBJECT_EXT:
		fprintf(f, "{\"$ext\": %d, \"data\": ", o->via.ext.type);
		print_base64(f, o->via.ext.ptr, o->via.ext.size);
		fputc('}', f);
		break;
	case MSGPACK_OBJECT_ARRAY:
		fputc('[', f);
		for (uint32_t i = 0; i < o->via.array.size; i++) {
			if (i)
				fputc(',', f);
			newline(f, indent, level + 1);
			print_obj(f, &o->via.array.ptr[i], indent, level + 1);
		}
		if (o->via.array.size)
			newline(f, indent, level);
		fputc(']', f);
		break;
	case MSGPACK_OBJECT_MAP:
		fputc('{', f);
		for (uint32_t i = 0; i < o->via.map.size; i++) {
			const msgpack_object *k = &o->via.map.ptr[i].key;
			if (i)
				fputc(',', f);
			newline(f, indent, level + 1);
			if (k->type == MSGPACK_OBJECT_STR && sq_utf8_valid(k->via.str.ptr, k->via.str.size)) {
				print_string(f, k->via.str.ptr, k->via.str.size);
			} else { /* JSON keys are strings: render other keys as JSON text */
				fputs("\"<key>\"", f);
			}
			fputs(indent < 0 ? ":" : ": ", f);
			print_obj(f, &o->via.map.ptr[i].val, indent, level + 1);
		}
		if (o->via.map.size)
			newline(f, indent, level);
		fputc('}', f);
		break;
	}
}

void sq_json_print(FILE *f, const msgpack_object *o, int indent)
{
	print_obj(f, o, indent, 0);
}

/* ---- parser ---------------------------------------------------------------- */

struct jp {
	const char *s;
	msgpack_packer *pk;
	char *err;
	size_t errlen;
};

static int jerr(struct jp *j, const char *what)
{
	snprintf(j->err, j->errlen, "JSON: %s at '%.20s'", what, j->s);
	return -EINVAL;
}

static void skip_ws(struct jp *j)
{
	while (*j->s == ' ' || *j->s == '\t' || *j->s == '\n' || *j->s == '\r')
		j->s++;
}

static int hex4(const char *s, uint32_t *out)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++) {
		char c = s[i];
		v <<= 4;
		if (c >= '0' && c <= '9') v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f') v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F') v |= (uint32_t)(c - 'A' + 10);
		else return -1;
	}
	*out = v;
	return 0;
}

static size_t put_utf8(char *d, uint32_t cp)
{
	if (cp < 0x80) { d[0] = (char)cp; return 1; }
	if (cp < 0x800) { d[0] = (char)(0xc0 | (cp >> 6)); d[1] = (char)(0x80 | (cp & 0x3f)); return 2; }
	if (cp < 0x10000) {
		d[0] = (char)(0xe0 | (cp >> 12)); d[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		d[2] = (char)(0x80 | (cp & 0x3f)); return 3;
	}
	d[0] = (char)(0xf0 | (cp >> 18)); d[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	d[2] = (char)(0x80 | ((cp >> 6) & 0x3f)); d[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Parse a JSON string into a malloc'd buffer. */
static int parse_string(struct jp *j, char **out, size_t *outlen)
{
	j->s++; /* opening quote */
	size_t cap = strlen(j->s) + 1, n = 0;
	char *d = malloc(cap);
	if (!d)
		return -ENOMEM;
	for (;;) {
		char c = *j->s;
		if (c == '\0') {
			free(d);
			return jerr(j, "unterminated string");
		}
		j->s++;
		if (c == '"')
			break;
		if ((unsigned char)c < 0x20) {
			free(d);
			return jerr(j, "control character in string");
		}
		if (c != '\\') {
			d[n++] = c;
			continue;
		}
		c = *j->s;
		if (c == '\0') { /* the text ends inside an escape: stay on its NUL */
			free(d);
			return jerr(j, "unterminated string");
		}
		j->s++;
		switch (c) {
		case '"': case '\\': case '/': d[n++] = c; break;
		case 'b': d[n++] = '\b'; break;
		case 'f': d[n++] = '\f'; break;
		case 'n': d[n++] = '\n'; break;
		case 'r': d[n++] = '\r'; break;
		case 't': d[n++] = '\t'; break;
		case 'u': {
			uint32_t cp, lo;
			if (hex4(j->s, &cp) < 0) {
				free(d);
				return jerr(j, "bad \\u escape");
			}
			j->s += 4;
			if (cp >= 0xd800 && cp <= 0xdbff && j->s[0] == '\\' && j->s[1] == 'u' &&
			    hex4(j->s + 2, &lo) == 0 && lo >= 0xdc00 && lo <= 0xdfff) {
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				j->s += 6;
			} else if (cp >= 0xd800 && cp <= 0xdfff) {
				/* no UTF-8 form: it would make a broken str */
				free(d);
				return jerr(j, "lone UTF-16 surrogate in \\u escape");
			}
			n += put_utf8(d + n, cp);
			break;
		}
		default:
			free(d);
			return jerr(j, "bad escape");
		}
	}
	*out = d;
	*outlen = n;
	return 0;
}

static int base64_val(char c)
{
	if (c >= 'A' && c <= 'Z') return c - 'A';
	if (c >= 'a' && c <= 'z') return c - 'a' + 26;
	if (c >= '0' && c <= '9') return c - '0' + 52;
	if (c == '+' || c == '-') return 62;
	if (c == '/' || c == '_') return 63;
	return -1;
}

static int pack_base64(struct jp *j, const char *s, size_t n)
{
	char *d = malloc(n / 4 * 3 + 3);
	size_t out = 0;
	uint32_t acc = 0;
	int bits = 0;
	if (!d)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '=')
			break;
		int v = base64_val(s[i]);
		if (v < 0) {
			free(d);
			return jerr(j, "bad base64 in $bin");
		}
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			d[out++] = (char)((acc >> bits) & 0xff);
		}
	}
	msgpack_pack_bin_with_body(j->pk, d, out);
	free(d);
	return 0;
}

static int parse_value(struct jp *j, int depth);

/*
 * A container's members are packed into a scratch buffer first, because
 * msgpack puts the count before them: scratch_open redirects j->pk there,
 * scratch_close packs the header and the members into the outer packer
 * (on success) and restores it.
 */
struct scratch {
	struct sq_buf buf;
	msgpack_packer pk;
	msgpack_packer *outer;
};

static void scratch_open(struct jp *j, struct scratch *sc)
{
	sq_buf_init(&sc->buf);
	sq_packer_init(&sc->pk, &sc->buf);
	sc->outer = j->pk;
	j->pk = &sc->pk;
}

static int scratch_close(struct jp *j, struct scratch *sc, int rc, bool map,
                         uint32_t count)
{
	j->pk = sc->outer;
	if (rc == 0) {
		if (map)
			msgpack_pack_map(j->pk, count);
		else
			msgpack_pack_array(j->pk, count);
		if (sc->buf.len)
			j->pk->callback(j->pk->data, sc->buf.data, sc->buf.len);
	}
	sq_buf_free(&sc->buf);
	return rc;
}

static int parse_object(struct jp *j, int depth)
{
	struct scratch sc;
	uint32_t count = 0;
	int rc = 0;

	j->s++; /* { */
	scratch_open(j, &sc);
	skip_ws(j);
	if (*j->s == '}') {
		j->s++;
		goto done;
	}
	for (;;) {
		skip_ws(j);
		if (*j->s != '"') {
			rc = jerr(j, "expected a string key");
			goto done;
		}
		char *key;
		size_t klen;
		if ((rc = parse_string(j, &key, &klen)) < 0)
			goto done;
		skip_ws(j);
		if (*j->s != ':') {
			free(key);
			rc = jerr(j, "expected ':'");
			goto done;
		}
		j->s++;
		skip_ws(j);
		/* {"$bin": "base64"} is bytes */
		if (count == 0 && klen == 4 && memcmp(key, "$bin", 4) == 0 && *j->s == '"') {
			char *b64;
			size_t blen;
			free(key);
			if ((rc = parse_string(j, &b64, &blen)) < 0)
				goto done;
			skip_ws(j);
			if (*j->s == '}') {
				j->s++;
				j->pk = sc.outer; /* bytes, not a map: drop the scratch */
				sq_buf_free(&sc.buf);
				rc = pack_base64(j, b64, blen);
				free(b64);
				return rc;
			}
			msgpack_pack_str_with_body(j->pk, "$bin", 4);
			msgpack_pack_str_with_body(j->pk, b64, blen);
			free(b64);
			count++;
		} else {
			msgpack_pack_str_with_body(j->pk, key, klen);
			free(key);
			if ((rc = parse_value(j, depth + 1)) < 0)
				goto done;
			count++;
		}
		skip_ws(j);
		if (*j->s == ',') {
			j->s++;
			continue;
		}
		if (*j->s == '}') {
			j->s++;
			break;
		}
		rc = jerr(j, "expected ',' or '}'");
		goto done;
	}
done:
	return scratch_close(j, &sc, rc, true, count);
}

static int parse_array(struct jp *j, int depth)
{
	struct scratch sc;
	uint32_t count = 0;
	int rc = 0;

	j->s++; /* [ */
	scratch_open(j, &sc);
	skip_ws(j);
	if (*j->s == ']') {
		j->s++;
		goto done;
	}
	for (;;) {
		if ((rc = parse_value(j, depth + 1)) < 0)
			goto done;
		count++;
		skip_ws(j);
		if (*j->s == ',') {
			j->s++;
			continue;
		}
		if (*j->s == ']') {
			j->s++;
			break;
		}
		rc = jerr(j, "expected ',' or ']'");
		goto done;
	}
done:
	return scratch_close(j, &sc, rc, false, count);
}

static int parse_number(struct jp *j)
{
	const char *s = j->s;
	char *end;
	int is_float = 0;
	const char *p = s;
	if (*p == '-')
		p++;
	while ((*p >= '0' && *p <= '9') || *p == '.' || *p == 'e' || *p == 'E' ||
	       *p == '+' || *p == '-') {
		if (*p == '.' || *p == 'e' || *p == 'E')
			is_float = 1;
		p++;
	}
	if (p == s)
		return jerr(j, "unexpected character");
	errno = 0;
	if (!is_float && *s == '-') {
		long long v = strtoll(s, &end, 10);
		if (errno || end != p)
			return jerr(j, "bad integer");
		msgpack_pack_int64(j->pk, v);
	} else if (!is_float) {
		unsigned long long v = strtoull(s, &end, 10);
		if (errno || end != p)
			return jerr(j, "bad integer");
		msgpack_pack_uint64(j->pk, v);
	} else {
		double v = strtod(s, &end);
		if (end != p)
			return jerr(j, "bad number");
		msgpack_pack_double(j->pk, v);
	}
	j->s = p;
	return 0;
}

static int parse_value(struct jp *j, int depth)
{
	if (depth > JSON_MAX_DEPTH)
		return jerr(j, "nested too deeply");
	skip_ws(j);
	char c = *j->s;
	if (c == '{')
		return parse_object(j, depth);
	if (c == '[')
		return parse_array(j, depth);
	if (c == '"') {
		char *str;
		size_t n;
		int rc = parse_string(j, &str, &n);
		if (rc < 0)
			return rc;
		msgpack_pack_str_with_body(j->pk, str, n);
		free(str);
		return 0;
	}
	if (strncmp(j->s, "true", 4) == 0) { j->s += 4; msgpack_pack_true(j->pk); return 0; }
	if (strncmp(j->s, "false", 5) == 0) { j->s += 5; msgpack_pack_false(j->pk); return 0; }
	if (strncmp(j->s, "null", 4) == 0) { j->s += 4; msgpack_pack_nil(j->pk); return 0; }
	return parse_number(j);
}

int sq_json_pack(msgpack_packer *pk, const char *text, char *err, size_t errlen)
{
	struct jp j = { .s = text, .pk = pk, .err = err, .errlen = errlen };
	int rc = parse_value(&j, 0);
	if (rc < 0)
		return rc;
	skip_ws(&j);
	if (*j.s)
		return jerr(&j, "trailing characters");
	return 0;
}
