/*
 * cmd_xattr.c - `sysq xattr`, with the options of macOS's xattr(1): [-l]
 * PATH..., -p NAME PATH..., -w NAME VALUE PATH..., -d NAME PATH..., -s for
 * no-follow, -x for hex.  Values are bytes: what is not printable text is
 * shown escaped (\xNN), or as hex with -x.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "json.h"
#include "sq_proto.h"

/* requests in flight at once for -l (bounded, so large values cannot pile
 * up in the daemon's output for this connection) */
#define LIST_WINDOW 32

struct xopts {
	char mode;            /* 0 list, 'p', 'w', 'd' */
	bool long_list;       /* -l */
	bool nofollow;        /* -s */
	bool hex;             /* -x */
};

struct bytes {
	const char *p;
	size_t n;
};

/* ---- output ------------------------------------------------------------ */

/* Length of the UTF-8 sequence at s (0 when invalid) and its code point. */
static size_t utf8_seq(const unsigned char *s, size_t n, unsigned *cp)
{
	unsigned c = s[0];
	size_t len = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2
	           : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
	if (!len || len > n)
		return 0;
	unsigned v = len == 1 ? c : c & (0x3fu >> (len - 1));
	for (size_t k = 1; k < len; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (s[k] & 0x3fu);
	}
	if ((len == 3 && (v < 0x800 || (v >= 0xd800 && v <= 0xdfff))) ||
	    (len == 4 && (v < 0x10000 || v > 0x10ffff)))
		return 0;
	*cp = v;
	return len;
}

/* Code points never printed as themselves: C0, DEL, C1, and the invisible
 * or direction-changing ones that could disguise what is shown. */
static bool unsafe_cp(unsigned cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || (cp >= 0x200b && cp <= 0x200f) ||
	       (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) ||
	       cp == 0xfeff;
}

/* Bytes as text a terminal shows safely: printable UTF-8 as is, \ as \\,
 * \t \n \r as such, everything else \xNN (or \u{XXXX}). */
static void print_safe(FILE *f, const char *p, size_t n)
{
	const unsigned char *s = (const unsigned char *)p;
	for (size_t i = 0; i < n;) {
		unsigned cp = 0;
		size_t len = utf8_seq(s + i, n - i, &cp);
		if (len == 0) {
			fprintf(f, "\\x%02x", s[i++]);
			continue;
		}
		if (cp == '\\')
			fputs("\\\\", f);
		else if (cp == '\n')
			fputs("\\n", f);
		else if (cp == '\t')
			fputs("\\t", f);
		else if (cp == '\r')
			fputs("\\r", f);
		else if (cp < 0x80 && unsafe_cp(cp))
			fprintf(f, "\\x%02x", cp);
		else if (unsafe_cp(cp))
			fprintf(f, "\\u{%04x}", cp);
		else
			fwrite(s + i, 1, len, f);
		i += len;
	}
}

/* -px: hex pairs, 16 a line (as macOS's xattr -px). */
static void print_hex(FILE *f, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%02X%s", (unsigned char)p[i], i % 16 == 15 || i + 1 == n ? "\n" : " ");
}

/* -lx: offset, hex, and the printable bytes (as hexdump -C). */
static void print_dump(FILE *f, const char *p, size_t n)
{
	for (size_t off = 0; off < n; off += 16) {
		fprintf(f, "%08zx ", off);
		for (size_t i = off; i < off + 16; i++) {
			if (i % 8 == 0)
				fputc(' ', f);
			if (i < n)
				fprintf(f, "%02x ", (unsigned char)p[i]);
			else
				fputs("   ", f);
		}
		fputs(" |", f);
		for (size_t i = off; i < off + 16 && i < n; i++) {
			unsigned char c = (unsigned char)p[i];
			fputc(c >= 0x20 && c < 0x7f ? c : '.', f);
		}
		fputs("|\n", f);
	}
}

static bool get_bytes(const msgpack_object *o, struct bytes *b)
{
	if (!o || (o->type != MSGPACK_OBJECT_STR && o->type != MSGPACK_OBJECT_BIN))
		return false;
	b->p = o->via.str.ptr; /* str and bin share the layout */
	b->n = o->via.str.size;
	return true;
}

/* ---- requests ------------------------------------------------------------ */

/* Pack bytes as str when they are UTF-8 text, else as bin. */
static void pack_text(msgpack_packer *pk, const char *p, size_t n)
{
	if (sq_utf8_valid(p, n))
		msgpack_pack_str_with_body(pk, p, n);
	else
		msgpack_pack_bin_with_body(pk, p, n);
}

/* Begin method on path (and name) with the other params to follow:
 * extra is how many the caller packs itself. */
static msgpack_packer *begin(struct cli *cli, const char *method, const char *path,
                             const struct bytes *name, const struct xopts *o,
                             size_t extra, uint32_t *msgid)
{
	msgpack_packer *pk = sysq_begin(cli->conn, method, msgid);
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 1 + (name ? 1 : 0) + (o->nofollow ? 1 : 0) + extra);
	sq_pack_cstr(pk, "path");
	pack_text(pk, path, strlen(path));
	if (name) {
		sq_pack_cstr(pk, "name");
		pack_text(pk, name->p, name->n);
	}
	if (o->nofollow)
		sq_pack_kv_bool(pk, "nofollow", true);
	return pk;
}

static int call(struct cli *cli, const char *method, struct sysq_reply *r)
{
	int rc = sysq_call_end(cli->conn, r);
	int st = cli_status(method, rc, r);
	if (st == EXIT_CONNECT)
		exit(EXIT_CONNECT);
	return st;
}

/* With several PATHs, each line starts with the PATH as given. */
static void prefix(const char *label, bool many)
{
	if (!many)
		return;
	print_safe(stdout, label, strlen(label));
	fputs(": ", stdout);
}

/* ---- the four modes ---------------------------------------------------- */

static int do_print(struct cli *cli, const char *path, const char *label,
                    const struct bytes *name, const struct xopts *o, bool many)
{
	struct sysq_reply r;
	begin(cli, "xattr.get", path, name, o, 0, NULL);
	int st = call(cli, "xattr.get", &r);
	struct bytes v;
	if (st == EXIT_OK && cli->json) {
		cli_print_json(r.result);
	} else if (st == EXIT_OK && get_bytes(obj_get(r.result, "value"), &v)) {
		prefix(label, many);
		if (o->hex) {
			if (many)
				putchar('\n');
			print_hex(stdout, v.p, v.n);
		} else {
			print_safe(stdout, v.p, v.n);
			putchar('\n');
		}
	} else if (st == EXIT_OK) {
		fprintf(stderr, "sysq: xattr.get: the reply has no value\n");
		st = EXIT_REMOTE;
	}
	sysq_reply_free(&r);
	return st;
}

static int do_write(struct cli *cli, const char *path, const struct bytes *name,
                    const struct bytes *value, const struct xopts *o)
{
	struct sysq_reply r;
	msgpack_packer *pk = begin(cli, "xattr.set", path, name, o, 1, NULL);
	sq_pack_cstr(pk, "value");
	msgpack_pack_bin_with_body(pk, value->p, value->n);
	int st = call(cli, "xattr.set", &r);
	sysq_reply_free(&r);
	return st;
}

static int do_delete(struct cli *cli, const char *path, const struct bytes *name,
                     const struct xopts *o)
{
	struct sysq_reply r;
	begin(cli, "xattr.remove", path, name, o, 0, NULL);
	int st = call(cli, "xattr.remove", &r);
	sysq_reply_free(&r);
	return st;
}

static void print_attr(const char *label, const struct bytes *name, const struct bytes *v,
                       const struct xopts *o, bool many)
{
	prefix(label, many);
	print_safe(stdout, name->p, name->n);
	if (o->hex) {
		fputs(":\n", stdout);
		print_dump(stdout, v->p, v->n);
		return;
	}
	fputs(": ", stdout);
	print_safe(stdout, v->p, v->n);
	putchar('\n');
}

/* -l: every value, fetched LIST_WINDOW requests at a time; names that
 * vanish meanwhile (ENOATTR) are left out. */
static int list_values(struct cli *cli, const char *path, const char *label,
                       const msgpack_object_array *names, const struct xopts *o, bool many)
{
	uint32_t n = names->size, sent = 0, got = 0, first = 0;
	struct sysq_reply *rs = calloc(n ? n : 1, sizeof(*rs));
	int st = EXIT_OK;
	if (!rs) {
		perror("sysq");
		return EXIT_REMOTE;
	}
	while (got < n) {
		while (sent < n && sent - got < LIST_WINDOW) {
			struct bytes nm = { "", 0 };
			uint32_t id;
			get_bytes(&names->ptr[sent], &nm);
			begin(cli, "xattr.get", path, &nm, o, 0, &id);
			if (sent++ == 0)
				first = id;
		}
		struct sysq_reply r;
		int rc = sysq_flush(cli->conn);
		if (rc == 0)
			rc = sysq_read(cli->conn, &r);
		if (rc < 0)
			exit(cli_status("xattr.get", rc, NULL));
		uint32_t k = r.msgid - first;
		if (r.type != SQ_MSG_RESPONSE || k >= n || rs[k].frame) {
			sysq_reply_free(&r);
			continue;
		}
		rs[k] = r;
		got++;
	}
	if (cli->json)
		printf("{\"attributes\": [");
	for (uint32_t i = 0; i < n; i++) {
		struct bytes nm = { "", 0 }, v;
		get_bytes(&names->ptr[i], &nm);
		if (rs[i].is_error) {
			if (strcmp(rs[i].code, "ENOATTR") != 0)
				st = cli_status("xattr.get", SYSQ_REMOTE_ERROR, &rs[i]);
		} else if (!get_bytes(obj_get(rs[i].result, "value"), &v)) {
			fprintf(stderr, "sysq: xattr.get: the reply has no value\n");
			st = EXIT_REMOTE;
		} else if (cli->json) {
			printf("%s\n  {\"name\": ", i ? "," : "");
			sq_json_print(stdout, &names->ptr[i], -1);
			printf(", \"value\": ");
			sq_json_print(stdout, obj_get(rs[i].result, "value"), -1);
			printf("}");
		} else {
			print_attr(label, &nm, &v, o, many);
		}
		sysq_reply_free(&rs[i]);
	}
	if (cli->json)
		printf("\n]}\n");
	free(rs);
	return st;
}

static int do_list(struct cli *cli, const char *path, const char *label,
                   const struct xopts *o, bool many)
{
	struct sysq_reply r;
	begin(cli, "xattr.list", path, NULL, o, 0, NULL);
	int st = call(cli, "xattr.list", &r);
	const msgpack_object *names = st == EXIT_OK ? obj_get(r.result, "names") : NULL;
	if (st == EXIT_OK && (!names || names->type != MSGPACK_OBJECT_ARRAY)) {
		fprintf(stderr, "sysq: xattr.list: the reply has no names\n");
		st = EXIT_REMOTE;
	} else if (st == EXIT_OK && o->long_list) {
		st = list_values(cli, path, label, &names->via.array, o, many);
	} else if (st == EXIT_OK && cli->json) {
		cli_print_json(r.result);
	} else if (st == EXIT_OK) {
		for (uint32_t i = 0; i < names->via.array.size; i++) {
			struct bytes nm;
			if (!get_bytes(&names->via.array.ptr[i], &nm))
				continue;
			prefix(label, many);
			print_safe(stdout, nm.p, nm.n);
			putchar('\n');
		}
	}
	sysq_reply_free(&r);
	return st;
}

/* ---- arguments ----------------------------------------------------------- */

static int hexval(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
	     : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* "68 65 6c6c 6f" -> "hello"; white space anywhere.  0 or -EINVAL. */
static int parse_hex(const char *s, char *out, size_t *len)
{
	size_t n = 0;
	int hi = -1;
	for (; *s; s++) {
		if (*s == ' ' || *s == '\t' || *s == '\n')
			continue;
		int v = hexval((unsigned char)*s);
		if (v < 0)
			return -EINVAL;
		if (hi < 0) {
			hi = v;
		} else {
			out[n++] = (char)(hi << 4 | v);
			hi = -1;
		}
	}
	*len = n;
	return hi < 0 ? 0 : -EINVAL;
}

/* The path as sysqd wants it: absolute (relative to our cwd, symlinks in it
 * left alone so that -s still means the last component). */
static char *absolute(const char *path)
{
	if (path[0] == '/')
		return strdup(path);
	char cwd[PATH_MAX];
	if (!getcwd(cwd, sizeof(cwd)))
		return NULL;
	size_t a = strlen(cwd), b = strlen(path);
	char *p = malloc(a + b + 2);
	if (!p)
		return NULL;
	memcpy(p, cwd, a);
	p[a] = '/';
	memcpy(p + a + 1, path, b + 1);
	return p;
}

static int usage(const char *why)
{
	if (why)
		fprintf(stderr, "sysq xattr: %s\n", why);
	return cli_usage("xattr");
}

int cmd_xattr(struct cli *cli, int argc, char **argv)
{
	struct xopts o = { 0 };
	int i = 1;
	for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		for (const char *f = argv[i] + 1; *f; f++) {
			switch (*f) {
			case 'l': o.long_list = true; break;
			case 's': o.nofollow = true; break;
			case 'x': o.hex = true; break;
			case 'p': case 'w': case 'd':
				if (o.mode && o.mode != *f)
					return usage("-p, -w and -d exclude each other");
				o.mode = *f;
				break;
			default:
				fprintf(stderr, "sysq xattr: unknown option -%c\n", *f);
				return usage(NULL);
			}
		}
	}
	if (o.long_list && o.mode)
		return usage("-l goes with listing only");
	if (o.hex && o.mode == 'd')
		return usage("-x means nothing to -d");
	int want = o.mode == 'w' ? 3 : o.mode ? 2 : 1; /* positionals at least */
	if (argc - i < want)
		return usage(NULL);

	struct bytes name = { NULL, 0 }, value = { NULL, 0 };
	char *hexbuf = NULL;
	if (o.mode) {
		name.p = argv[i++];
		name.n = strlen(name.p);
		if (name.n == 0)
			return usage("the attribute name is empty");
	}
	if (o.mode == 'w') {
		value.p = argv[i++];
		value.n = strlen(value.p);
		if (o.hex) {
			hexbuf = malloc(value.n / 2 + 1);
			if (!hexbuf || parse_hex(value.p, hexbuf, &value.n) < 0) {
				free(hexbuf);
				return usage("-x wants VALUE as pairs of hex digits");
			}
			value.p = hexbuf;
		}
	}

	cli_connect(cli);
	bool many = argc - i > 1;
	int st = EXIT_OK;
	for (; i < argc; i++) {
		char *path = absolute(argv[i]);
		if (!path) {
			fprintf(stderr, "sysq xattr: %s: %s\n", argv[i], strerror(errno));
			st = EXIT_USAGE;
			continue;
		}
		int s = o.mode == 'p' ? do_print(cli, path, argv[i], &name, &o, many)
		      : o.mode == 'w' ? do_write(cli, path, &name, &value, &o)
		      : o.mode == 'd' ? do_delete(cli, path, &name, &o)
		      : do_list(cli, path, argv[i], &o, many);
		if (s != EXIT_OK)
			st = s;
		free(path);
	}
	free(hexbuf);
	return st;
}
