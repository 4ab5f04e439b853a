/* SPDX-License-Identifier: ISC */
/*
 * cmd_xattr.c - `sysq xattr`, with the options of macOS's xattr(1): [-l]
 * PATH..., -p NAME PATH..., -w NAME VALUE PATH..., -d NAME PATH..., -c
 * PATH... (clear), -r for every file under a directory, -s for no-follow,
 * -x for hex.  Values are bytes: what is not printable text is shown
 * escaped (\xNN), or as hex with -x (xattr_out.c).
 */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "json.h"
#include "sq_proto.h"
#include "xattr_out.h"

/* requests in flight at once for -l (bounded, so large values cannot pile
 * up in the daemon's output for this connection) */
#define LIST_WINDOW 32

struct xopts {
	char mode;            /* 0 list, 'p', 'w', 'd', 'c' */
	bool long_list;       /* -l */
	bool recursive;       /* -r */
	bool nofollow;        /* -s */
	bool hex;             /* -x */
};

struct bytes {
	const char *p;
	size_t n;
};

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

/* Linux names carry a namespace; without one the kernel says only ENOTSUP
 * (EOPNOTSUPP), so say what was meant. */
static void namespace_hint(const struct sysq_reply *r, const struct bytes *name)
{
#ifdef __linux__
	static const char *const spaces[] = { "user.", "trusted.", "security.", "system." };
	if (!name || (strcmp(r->code, "ENOTSUP") != 0 && strcmp(r->code, "EOPNOTSUPP") != 0))
		return;
	for (size_t i = 0; i < sizeof(spaces) / sizeof(spaces[0]); i++)
		if (name->n > strlen(spaces[i]) && memcmp(name->p, spaces[i], strlen(spaces[i])) == 0)
			return;
	fputs("sysq: xattr: on Linux an attribute name has a namespace: use user.", stderr);
	print_safe(stderr, name->p, name->n);
	fputs(" for your own attributes\n", stderr);
#else
	(void)r;
	(void)name;
#endif
}

static int call(struct cli *cli, const char *method, struct sysq_reply *r,
                const struct bytes *name)
{
	int rc = sysq_call_end(cli->conn, r);
	int st = cli_status(method, rc, r);
	if (st == EXIT_CONNECT)
		exit(EXIT_CONNECT);
	if (st == EXIT_REMOTE)
		namespace_hint(r, name);
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
	int st = call(cli, "xattr.get", &r, name);
	struct bytes v;
	if (st == EXIT_OK && cli->json && get_bytes(obj_get(r.result, "value"), &v)) {
		if (many) {
			fputs("{\"path\": ", stdout);
			struct bytes l = { label, strlen(label) };
			msgpack_object s = { .type = MSGPACK_OBJECT_STR };
			s.via.str.ptr = l.p;
			s.via.str.size = (uint32_t)l.n;
			sq_json_print(stdout, &s, -1);
			fputs(", ", stdout);
		} else {
			fputs("{", stdout);
		}
		print_json_value(stdout, v.p, v.n);
		fputs("}\n", stdout);
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
	int st = call(cli, "xattr.set", &r, name);
	sysq_reply_free(&r);
	return st;
}

static int do_delete(struct cli *cli, const char *path, const struct bytes *name,
                     const struct xopts *o)
{
	struct sysq_reply r;
	begin(cli, "xattr.remove", path, name, o, 0, NULL);
	int st = call(cli, "xattr.remove", &r, name);
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
			printf(", ");
			print_json_value(stdout, v.p, v.n);
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

/* xattr.list of path into r (free it whatever the status): the status,
 * and with EXIT_OK the names array. */
static int list_names(struct cli *cli, const char *path, const struct xopts *o,
                      struct sysq_reply *r, const msgpack_object **names)
{
	begin(cli, "xattr.list", path, NULL, o, 0, NULL);
	int st = call(cli, "xattr.list", r, NULL);
	*names = st == EXIT_OK ? obj_get(r->result, "names") : NULL;
	if (st == EXIT_OK && (!*names || (*names)->type != MSGPACK_OBJECT_ARRAY)) {
		fprintf(stderr, "sysq: xattr.list: the reply has no names\n");
		st = EXIT_REMOTE;
	}
	return st;
}

static int do_list(struct cli *cli, const char *path, const char *label,
                   const struct xopts *o, bool many)
{
	struct sysq_reply r;
	const msgpack_object *names;
	int st = list_names(cli, path, o, &r, &names);
	if (st == EXIT_OK && o->long_list) {
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

/* -c: every attribute removed (one that vanishes meanwhile is no error). */
static int do_clear(struct cli *cli, const char *path, const struct xopts *o)
{
	struct sysq_reply r;
	const msgpack_object *names;
	int st = list_names(cli, path, o, &r, &names);
	for (uint32_t i = 0; st == EXIT_OK && i < names->via.array.size; i++) {
		struct bytes nm;
		if (!get_bytes(&names->via.array.ptr[i], &nm))
			continue;
		struct sysq_reply rr;
		begin(cli, "xattr.remove", path, &nm, o, 0, NULL);
		int rc = sysq_call_end(cli->conn, &rr);
		if (!(rc == SYSQ_REMOTE_ERROR && strcmp(rr.code, "ENOATTR") == 0)) {
			int s = cli_status("xattr.remove", rc, &rr);
			if (s == EXIT_CONNECT)
				exit(EXIT_CONNECT);
			if (s != EXIT_OK)
				st = s;
		}
		sysq_reply_free(&rr);
	}
	sysq_reply_free(&r);
	return st;
}

/* ---- one path, or a tree of them (-r) ------------------------------------ */

struct job {
	struct cli *cli;
	const struct xopts *o;
	const struct bytes *name, *value;
	bool many;
	int st;
};

static char *absolute(const char *path);

static void one(struct job *j, const char *given)
{
	char *path = absolute(given);
	if (!path) {
		fprintf(stderr, "sysq xattr: %s: %s\n", given, strerror(errno));
		j->st = EXIT_USAGE;
		return;
	}
	const struct xopts *o = j->o;
	int s = o->mode == 'p' ? do_print(j->cli, path, given, j->name, o, j->many)
	      : o->mode == 'w' ? do_write(j->cli, path, j->name, j->value, o)
	      : o->mode == 'd' ? do_delete(j->cli, path, j->name, o)
	      : o->mode == 'c' ? do_clear(j->cli, path, o)
	      : do_list(j->cli, path, given, o, j->many);
	if (s != EXIT_OK)
		j->st = s;
	free(path);
}

static struct job *walking; /* nftw's callback has no argument of its own */

/* -r: every entry under a directory, the directory first.  Symbolic links
 * met on the way are not followed; with -s they are acted on themselves. */
static int walk_entry(const char *fpath, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	if (flag == FTW_DNR || flag == FTW_NS) {
		fprintf(stderr, "sysq xattr: %s: %s\n", fpath,
		        flag == FTW_DNR ? "cannot read the directory" : "cannot stat");
		walking->st = EXIT_REMOTE;
		if (flag == FTW_NS)
			return 0;
	}
	if ((flag == FTW_SL || flag == FTW_SLN) && !walking->o->nofollow)
		return 0;
	one(walking, fpath);
	return 0;
}

static void run_path(struct job *j, const char *given)
{
	struct stat st;
	int rc = j->o->nofollow ? lstat(given, &st) : stat(given, &st);
	if (!j->o->recursive || rc < 0 || !S_ISDIR(st.st_mode)) {
		one(j, given);
		return;
	}
	walking = j;
	if (nftw(given, walk_entry, 16, FTW_PHYS) < 0) {
		fprintf(stderr, "sysq xattr: %s: %s\n", given, strerror(errno));
		j->st = EXIT_REMOTE;
	}
	walking = NULL;
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
			case 'r': o.recursive = true; break;
			case 's': o.nofollow = true; break;
			case 'x': o.hex = true; break;
			case 'p': case 'w': case 'd': case 'c':
				if (o.mode && o.mode != *f)
					return usage("-p, -w, -d and -c exclude each other");
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
	if (o.hex && (o.mode == 'd' || o.mode == 'c'))
		return usage("-x means nothing to -d or -c");
	/* positionals at least: [NAME [VALUE]] PATH */
	int want = o.mode == 'w' ? 3 : o.mode == 'p' || o.mode == 'd' ? 2 : 1;
	if (argc - i < want)
		return usage(NULL);

	struct bytes name = { NULL, 0 }, value = { NULL, 0 };
	char *hexbuf = NULL;
	if (o.mode && o.mode != 'c') {
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
	struct job j = { cli, &o, &name, &value, argc - i > 1 || o.recursive, EXIT_OK };
	for (; i < argc; i++)
		run_path(&j, argv[i]);
	free(hexbuf);
	return j.st;
}
