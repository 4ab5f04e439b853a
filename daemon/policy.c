/* SPDX-License-Identifier: ISC */
/*
 * policy.c - the policy file: parsing, validation and evaluation.
 *
 *     # comment
 *     allow net.mtu.set group netadmin
 *     deny  xattr.*     user guest
 *     deny  proc.signal everyone
 *     allow sys.sysctl.set net.ipv4.* group netadmin
 *
 * A line is `allow|deny METHOD SUBJECT`: METHOD is a method name, a group
 * prefix `xattr.*`, or `*`; SUBJECT is `user NAME|UID`, `group NAME|GID` or
 * `everyone`.  `allow large-shares SUBJECT` gives SUBJECT root's shares of
 * sysqd's resources (workers, transfers, descriptors) instead of a method.
 * A method whose requests name a kernel parameter (sys.sysctl.set) takes a
 * KEY-PATTERN between METHOD and SUBJECT (an fnmatch(3) glob over the
 * dotted name, `*` crossing dots): an allow grants it for those keys only,
 * and only such a line grants it (`allow * ...` does not); a deny with a
 * pattern refuses those keys, one without refuses them all.  Names are
 * resolved once, when the file is read (never per request).  Evaluation: the first matching deny wins; otherwise a matching
 * allow grants a `root` method; otherwise the built-in rule decides.
 *
 * The file is text: at most SQ_POLICY_MAX_BYTES, lines of at most
 * SQ_POLICY_MAX_LINE bytes, no NUL byte; each of those is an error naming
 * FILE:LINE.  It must be a regular file, opened non-blocking (a FIFO or a
 * device is refused before anything is read) and read with read(2) up to
 * the cap plus one byte, never more.
 */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy.h"

enum subject { SUBJ_USER, SUBJ_GROUP, SUBJ_EVERYONE };

struct rule {
	bool allow;
	bool large;       /* allow large-shares: not a method rule */
	char pattern[64];
	char key[128];    /* keyed methods: the KEY-PATTERN ("" for none) */
	enum subject kind;
	unsigned id;      /* uid or gid */
	int line;
};

struct sq_policy {
	struct rule *rules;
	size_t n;
	char source[256];
};

/* Built in: no rule, so the built-in access rules alone decide (the
 * installed etc/policy.conf is the same, with the format explained). */
const char sq_policy_default_text[] = "# the built-in policy: no rules\n";

static struct sq_policy *current;

static bool pattern_matches(const char *pattern, const char *name)
{
	size_t n = strlen(pattern);
	if (strcmp(pattern, "*") == 0)
		return true;
	if (n >= 2 && pattern[n - 2] == '.' && pattern[n - 1] == '*')
		return strncmp(pattern, name, n - 1) == 0;
	return strcmp(pattern, name) == 0;
}

static bool pattern_known(const char *pattern)
{
	for (size_t i = 0; i < sq_nmethods; i++)
		if (pattern_matches(pattern, sq_methods[i].name))
			return true;
	return false;
}

/* Methods whose rules take a KEY-PATTERN. */
static bool keyed(const char *method)
{
	return strcmp(method, SQ_POLICY_KEYED_METHOD) == 0;
}

static bool is_subject_word(const char *t)
{
	return strcmp(t, "user") == 0 || strcmp(t, "group") == 0 || strcmp(t, "everyone") == 0;
}

/* A key pattern: printable, no white space, at most sizeof(rule.key) - 1. */
static bool key_pattern_ok(const char *k)
{
	size_t n = strlen(k);
	if (n == 0 || n >= sizeof(((struct rule *)0)->key) || k[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)k[i] <= 0x20 || k[i] == 0x7f)
			return false;
	return true;
}

static int parse_id(const char *s, unsigned *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || *end || end == s || v > 0xfffffffeul)
		return -1;
	*out = (unsigned)v;
	return 0;
}

static int fail(char *err, size_t errlen, const char *source, int line,
                const char *what, const char *tok)
{
	snprintf(err, errlen, "%s:%d: %s%s%s%s", source, line, what, tok ? " '" : "",
	         tok ? tok : "", tok ? "'" : "");
	return -EINVAL;
}

static int parse_line(char *s, int line, const char *source, struct rule *r,
                      char *err, size_t errlen)
{
	char *tok[6];
	int n = 0;
	for (char *t = strtok(s, " \t\r"); t && n < 6; t = strtok(NULL, " \t\r"))
		tok[n++] = t;
	if (n == 0)
		return 0;
	/* METHOD KEY-PATTERN SUBJECT: take the pattern out, then as any line */
	char key[sizeof(r->key)] = "";
	if (n >= 3 && keyed(tok[1]) && !is_subject_word(tok[2])) {
		if (!key_pattern_ok(tok[2]))
			return fail(err, errlen, source, line, "not a key pattern", tok[2]);
		strcpy(key, tok[2]);
		for (int i = 2; i + 1 < n; i++)
			tok[i] = tok[i + 1];
		n--;
	} else if (n >= 3 && keyed(tok[1]) && strcmp(tok[0], "allow") == 0) {
		return fail(err, errlen, source, line,
		            "allow " SQ_POLICY_KEYED_METHOD " needs the keys it grants: "
		            "allow " SQ_POLICY_KEYED_METHOD " KEY-PATTERN SUBJECT (e.g. net.ipv4.*)",
		            NULL);
	}
	memset(r, 0, sizeof(*r));
	r->line = line;
	if (strcmp(tok[0], "allow") == 0)
		r->allow = true;
	else if (strcmp(tok[0], "deny") != 0)
		return fail(err, errlen, source, line, "expected allow or deny, not", tok[0]);
	if (n < 3)
		return fail(err, errlen, source, line,
		            "expected: allow|deny METHOD user NAME|group NAME|everyone", NULL);
	if (strcmp(tok[1], SQ_POLICY_LARGE_SHARES) == 0) {
		if (!r->allow)
			return fail(err, errlen, source, line,
			            "large-shares can only be allowed (everyone else has the "
			            "normal shares)", NULL);
		r->large = true;
	} else if (strlen(tok[1]) >= sizeof(r->pattern) || !pattern_known(tok[1]))
		return fail(err, errlen, source, line, "no method matches", tok[1]);
	strcpy(r->pattern, tok[1]);
	strcpy(r->key, key);
	if (strcmp(tok[2], "everyone") == 0) {
		if (n != 3)
			return fail(err, errlen, source, line, "unexpected", tok[3]);
		r->kind = SUBJ_EVERYONE;
		return 1;
	}
	if (n != 4)
		return fail(err, errlen, source, line,
		            n < 4 ? "missing the user or group name after" : "unexpected",
		            n < 4 ? tok[2] : tok[4]);
	if (strcmp(tok[2], "user") == 0) {
		r->kind = SUBJ_USER;
		struct passwd *pw = getpwnam(tok[3]);
		if (pw)
			r->id = pw->pw_uid;
		else if (parse_id(tok[3], &r->id) < 0)
			return fail(err, errlen, source, line, "no such user", tok[3]);
	} else if (strcmp(tok[2], "group") == 0) {
		r->kind = SUBJ_GROUP;
		struct group *gr = getgrnam(tok[3]);
		if (gr)
			r->id = gr->gr_gid;
		else if (parse_id(tok[3], &r->id) < 0)
			return fail(err, errlen, source, line, "no such group", tok[3]);
	} else {
		return fail(err, errlen, source, line, "expected user, group or everyone, not",
		            tok[2]);
	}
	return 1;
}

/* The text is lines of text: no NUL byte, no line over the cap.  0, or
 * -EINVAL with "SOURCE:LINE: reason" in err. */
static int check_text(const char *text, size_t len, const char *source,
                      char *err, size_t errlen)
{
	int line = 1;
	size_t start = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && text[i] == '\0')
			return fail(err, errlen, source, line,
			            "a NUL byte: a policy file is text", NULL);
		if (i < len && text[i] != '\n')
			continue;
		if (i - start > SQ_POLICY_MAX_LINE) {
			char what[64];
			snprintf(what, sizeof(what), "a line longer than %u bytes",
			         (unsigned)SQ_POLICY_MAX_LINE);
			return fail(err, errlen, source, line, what, NULL);
		}
		line++;
		start = i + 1;
	}
	return 0;
}

static struct sq_policy *parse_checked(const char *text, const char *source,
                                       char *err, size_t errlen)
{
	struct sq_policy *p = calloc(1, sizeof(*p));
	char *copy = strdup(text);
	size_t cap = 0;
	int line = 0;
	if (!p || !copy)
		goto nomem;
	snprintf(p->source, sizeof(p->source), "%s", source);
	for (char *s = copy, *next; s; s = next) {
		line++;
		next = strchr(s, '\n');
		if (next)
			*next++ = '\0';
		char *hash = strchr(s, '#');
		if (hash)
			*hash = '\0';
		if (p->n == cap) {
			cap = cap ? cap * 2 : 8;
			struct rule *nr = realloc(p->rules, cap * sizeof(*nr));
			if (!nr)
				goto nomem;
			p->rules = nr;
		}
		int rc = parse_line(s, line, source, &p->rules[p->n], err, errlen);
		if (rc < 0) {
			free(copy);
			sq_policy_free(p);
			return NULL;
		}
		p->n += (size_t)rc;
	}
	free(copy);
	return p;
nomem:
	snprintf(err, errlen, "%s: out of memory", source);
	free(copy);
	sq_policy_free(p);
	return NULL;
}

struct sq_policy *sq_policy_parse(const char *text, const char *source,
                                  char *err, size_t errlen)
{
	if (check_text(text, strlen(text), source, err, errlen) < 0)
		return NULL;
	return parse_checked(text, source, err, errlen);
}

static const char *file_kind(mode_t mode)
{
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISCHR(mode))
		return "a character device";
	if (S_ISBLK(mode))
		return "a block device";
	if (S_ISSOCK(mode))
		return "a socket";
	return "not a regular file";
}

/* Open path for reading without blocking (a FIFO with no writer, a tty)
 * and only if it is a regular file.  The fd, or -1 with err written. */
static int open_regular(const char *path, char *err, size_t errlen)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: %s, not a regular file: refused", path,
		         file_kind(st.st_mode));
		close(fd);
		return -1;
	}
	return fd;
}

/* Up to cap + 1 bytes of fd into buf (cap + 2 bytes); the count, or -1. */
static ssize_t read_capped(int fd, char *buf, size_t cap)
{
	size_t len = 0;
	while (len <= cap) {
		ssize_t n = read(fd, buf + len, cap + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	return (ssize_t)len;
}

/* The line the cap falls on, for the error message. */
static int line_at(const char *text, size_t at)
{
	int line = 1;
	for (size_t i = 0; i < at; i++)
		line += text[i] == '\n';
	return line;
}

struct sq_policy *sq_policy_load(const char *path, char *err, size_t errlen)
{
	const size_t cap = SQ_POLICY_MAX_BYTES;
	int fd = open_regular(path, err, errlen);
	if (fd < 0)
		return NULL;
	char *text = malloc(cap + 2);
	if (!text) {
		snprintf(err, errlen, "%s: out of memory", path);
		close(fd);
		return NULL;
	}
	ssize_t n = read_capped(fd, text, cap);
	int read_errno = errno;
	close(fd);
	struct sq_policy *p = NULL;
	if (n < 0)
		snprintf(err, errlen, "%s: %s", path, strerror(read_errno));
	else if ((size_t)n > cap)
		snprintf(err, errlen, "%s:%d: the file goes on past %zu bytes (1 MiB), the "
		         "largest policy", path, line_at(text, cap), cap);
	else if (check_text(text, (size_t)n, path, err, errlen) == 0) {
		text[n] = '\0';
		p = parse_checked(text, path, err, errlen);
	}
	free(text);
	return p;
}

void sq_policy_free(struct sq_policy *p)
{
	if (!p)
		return;
	free(p->rules);
	free(p);
}

const char *sq_policy_source(const struct sq_policy *p)
{
	return p ? p->source : "built-in";
}

size_t sq_policy_rules(const struct sq_policy *p)
{
	return p ? p->n : 0;
}

void sq_policy_set(struct sq_policy *p)
{
	sq_policy_free(current);
	current = p;
}

const struct sq_policy *sq_policy_current(void)
{
	return current;
}

static bool subject_matches(const struct rule *r, const struct sq_cred *c)
{
	switch (r->kind) {
	case SUBJ_EVERYONE: return true;
	case SUBJ_USER: return c->uid == r->id;
	case SUBJ_GROUP: return sq_cred_in_group(c, r->id) != 0;
	}
	return false;
}

enum sq_policy_verdict sq_policy_decide(const struct sq_policy *p,
                                        const struct sq_method *m,
                                        const struct sq_cred *cred, int *line)
{
	int allow_line = 0;
	bool by_key = keyed(m->name);
	if (!p)
		return SQ_POLICY_NONE;
	for (size_t i = 0; i < p->n; i++) {
		const struct rule *r = &p->rules[i];
		if (r->large || !pattern_matches(r->pattern, m->name) || !subject_matches(r, cred))
			continue;
		/* keyed methods: a deny of some keys is decided per key, and only an
		 * allow of some keys opens the method (sq_policy_decide_key then) */
		if (by_key && (r->allow ? !r->key[0] : r->key[0] != '\0'))
			continue;
		if (!r->allow) {
			*line = r->line;
			return SQ_POLICY_DENY;
		}
		if (!allow_line)
			allow_line = r->line;
	}
	if (allow_line) {
		*line = allow_line;
		return SQ_POLICY_ALLOW;
	}
	return SQ_POLICY_NONE;
}

bool sq_policy_large_shares(const struct sq_policy *p, const struct sq_cred *cred)
{
	for (size_t i = 0; p && i < p->n; i++)
		if (p->rules[i].large && subject_matches(&p->rules[i], cred))
			return true;
	return false;
}

enum sq_policy_verdict sq_policy_decide_key(const struct sq_policy *p,
                                            const struct sq_method *m, const char *key,
                                            const struct sq_cred *cred, int *line)
{
	int allow_line = 0;
	for (size_t i = 0; p && i < p->n; i++) {
		const struct rule *r = &p->rules[i];
		if (r->large || !pattern_matches(r->pattern, m->name) || !subject_matches(r, cred))
			continue;
		bool key_matches = !r->key[0] || fnmatch(r->key, key, 0) == 0;
		if (!key_matches)
			continue;
		if (!r->allow) {
			*line = r->line;
			return SQ_POLICY_DENY;
		}
		if (r->key[0] && !allow_line)
			allow_line = r->line;
	}
	if (allow_line) {
		*line = allow_line;
		return SQ_POLICY_ALLOW;
	}
	return SQ_POLICY_NONE;
}
