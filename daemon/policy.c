/*
 * policy.c - the policy file: parsing, validation and evaluation.
 *
 *     # comment
 *     allow net.mtu.set group netadmin
 *     deny  xattr.*     user guest
 *     deny  proc.signal everyone
 *
 * A line is `allow|deny METHOD SUBJECT`: METHOD is a method name, a group
 * prefix `xattr.*`, or `*`; SUBJECT is `user NAME|UID`, `group NAME|GID` or
 * `everyone`.  Names are resolved once, when the file is read (never per
 * request).  Evaluation: the first matching deny wins; otherwise a matching
 * allow grants a `root` method; otherwise the built-in rule decides.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

enum subject { SUBJ_USER, SUBJ_GROUP, SUBJ_EVERYONE };

struct rule {
	bool allow;
	char pattern[64];
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
	char *tok[5];
	int n = 0;
	for (char *t = strtok(s, " \t\r"); t && n < 5; t = strtok(NULL, " \t\r"))
		tok[n++] = t;
	if (n == 0)
		return 0;
	memset(r, 0, sizeof(*r));
	r->line = line;
	if (strcmp(tok[0], "allow") == 0)
		r->allow = true;
	else if (strcmp(tok[0], "deny") != 0)
		return fail(err, errlen, source, line, "expected allow or deny, not", tok[0]);
	if (n < 3)
		return fail(err, errlen, source, line,
		            "expected: allow|deny METHOD user NAME|group NAME|everyone", NULL);
	if (strlen(tok[1]) >= sizeof(r->pattern) || !pattern_known(tok[1]))
		return fail(err, errlen, source, line, "no method matches", tok[1]);
	strcpy(r->pattern, tok[1]);
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

struct sq_policy *sq_policy_parse(const char *text, const char *source,
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

struct sq_policy *sq_policy_load(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);
	char buf[4096];
	size_t n;
	while (m && (n = fread(buf, 1, sizeof(buf), f)) > 0 && len < (1u << 20))
		fwrite(buf, 1, n, m);
	bool bad = ferror(f);
	fclose(f);
	if (m)
		fclose(m);
	if (!text || bad) {
		snprintf(err, errlen, "%s: cannot read", path);
		free(text);
		return NULL;
	}
	if (len >= (1u << 20)) {
		snprintf(err, errlen, "%s: larger than 1 MiB", path);
		free(text);
		return NULL;
	}
	struct sq_policy *p = sq_policy_parse(text, path, err, errlen);
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

int sq_policy_decide(const struct sq_policy *p, const struct sq_method *m,
                     const struct sq_cred *cred, int *line)
{
	int allow_line = 0;
	if (!p)
		return 0;
	for (size_t i = 0; i < p->n; i++) {
		const struct rule *r = &p->rules[i];
		if (!pattern_matches(r->pattern, m->name) || !subject_matches(r, cred))
			continue;
		if (!r->allow) {
			*line = r->line;
			return 1;
		}
		if (!allow_line)
			allow_line = r->line;
	}
	if (allow_line) {
		*line = allow_line;
		return 2;
	}
	return 0;
}
