/* SPDX-License-Identifier: ISC */
/*
 * ss_filter.c - ss(8)'s port filter expressions (ss_filter.h): a
 * tokenizer over the joined words, a recursive-descent parser into a
 * small tree (ss's grammar: `or` below `and`, `and` implied between two
 * terms, `not`/`!` and parentheses), its test on one socket, and the
 * net.sockets params it implies.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ss_filter.h"

enum kind { K_OR, K_AND, K_NOT, K_PORT };
enum cmp { EQ, NE, LT, GT, LE, GE };

struct ss_filter {
	enum kind kind;
	struct ss_filter *a, *b;    /* K_OR, K_AND: both; K_NOT: a */
	bool local;                 /* K_PORT: sport (else dport) */
	enum cmp cmp;
	long port;
};

struct parser {
	char text[1024];            /* the words, joined by blanks */
	char *tok[256];
	char ops[256][3];           /* the operator tokens, NUL-terminated */
	int ntok, at;
	char *err;
	size_t errlen;
	bool failed;
};

/* ---- tokens ----------------------------------------------------------------- */

static bool is_punct(char c)
{
	return c == '(' || c == ')' || c == '!' || c == '=' || c == '<' || c == '>' ||
	       c == '&' || c == '|';
}

/* Split p->text in place into tokens: words, and the operators
 * ( ) ! != = == < <= > >= & && | ||. */
static bool tokenize(struct parser *p)
{
	char *s = p->text;
	int nops = 0;
	while (*s) {
		if (isspace((unsigned char)*s)) {
			*s++ = '\0';
			continue;
		}
		if (p->ntok >= (int)(sizeof(p->tok) / sizeof(p->tok[0])))
			return false;
		if (is_punct(*s)) {
			size_t n = 1;
			if ((s[1] == '=' && strchr("!=<>", s[0])) || (s[1] == s[0] && strchr("&|", s[0])))
				n = 2;
			memcpy(p->ops[nops], s, n);
			p->ops[nops][n] = '\0';
			p->tok[p->ntok++] = p->ops[nops++];
			for (size_t i = 0; i < n; i++)
				*s++ = '\0';
			continue;
		}
		p->tok[p->ntok++] = s;
		while (*s && !isspace((unsigned char)*s) && !is_punct(*s))
			s++;
	}
	return true;
}

static const char *peek(const struct parser *p)
{
	return p->at < p->ntok ? p->tok[p->at] : NULL;
}

static bool take(struct parser *p, const char *const *alts)
{
	const char *t = peek(p);
	for (; t && *alts; alts++)
		if (strcmp(t, *alts) == 0) {
			p->at++;
			return true;
		}
	return false;
}

static struct ss_filter *fail(struct parser *p, const char *fmt, const char *what)
{
	if (!p->failed)
		snprintf(p->err, p->errlen, fmt, what ? what : "the end");
	p->failed = true;
	return NULL;
}

/* ---- the tree ---------------------------------------------------------------- */

static struct ss_filter *node(enum kind k, struct ss_filter *a, struct ss_filter *b)
{
	struct ss_filter *n = calloc(1, sizeof(*n));
	if (!n) {
		ss_filter_free(a);
		ss_filter_free(b);
		return NULL;
	}
	n->kind = k;
	n->a = a;
	n->b = b;
	return n;
}

static struct ss_filter *expr(struct parser *p);

/* sport|dport [op] [:]PORT */
static struct ss_filter *term(struct parser *p)
{
	static const char *const sport[] = { "sport", NULL }, *const dport[] = { "dport", NULL };
	bool local = take(p, sport);
	if (!local && !take(p, dport))
		return fail(p, "'%s': only sport and dport filters are known", peek(p));
	static const struct { const char *name; enum cmp cmp; } ops[] = {
		{ "=", EQ }, { "==", EQ }, { "eq", EQ }, { "!=", NE }, { "ne", NE }, { "neq", NE },
		{ "<", LT }, { "lt", LT }, { ">", GT }, { "gt", GT }, { "<=", LE }, { "le", LE },
		{ ">=", GE }, { "ge", GE },
	};
	enum cmp cmp = EQ;
	for (size_t i = 0; peek(p) && i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strcmp(peek(p), ops[i].name) == 0) {
			cmp = ops[i].cmp;
			p->at++;
			break;
		}
	const char *w = peek(p);
	if (!w)
		return fail(p, "a port is missing at %s", NULL);
	const char *digits = w[0] == ':' ? w + 1 : w;
	char *end;
	long port = strtol(digits, &end, 10);
	if (!isdigit((unsigned char)digits[0]) || *end || port > 65535)
		return fail(p, "'%s': not a port (:0 ... :65535)", w);
	p->at++;
	struct ss_filter *n = node(K_PORT, NULL, NULL);
	if (!n)
		return fail(p, "%s", "out of memory");
	n->local = local;
	n->cmp = cmp;
	n->port = port;
	return n;
}

static struct ss_filter *unary(struct parser *p)
{
	static const char *const not[] = { "not", "!", NULL }, *const open[] = { "(", NULL };
	static const char *const close[] = { ")", NULL };
	if (take(p, not)) {
		struct ss_filter *a = unary(p);
		return a ? node(K_NOT, a, NULL) : NULL;
	}
	if (take(p, open)) {
		struct ss_filter *a = expr(p);
		if (a && !take(p, close)) {
			ss_filter_free(a);
			return fail(p, "')' expected at '%s'", peek(p));
		}
		return a;
	}
	return term(p);
}

static struct ss_filter *conjunction(struct parser *p)
{
	static const char *const and[] = { "and", "&", "&&", NULL };
	static const char *const stop[] = { "or", "|", "||", ")", NULL };
	struct ss_filter *a = unary(p);
	while (a && peek(p)) {
		if (!take(p, and)) { /* two terms side by side: and */
			const char *t = peek(p);
			bool ends = false;
			for (size_t i = 0; stop[i]; i++)
				ends |= strcmp(t, stop[i]) == 0;
			if (ends)
				break;
		}
		struct ss_filter *b = unary(p);
		a = b ? node(K_AND, a, b) : (ss_filter_free(a), NULL);
	}
	return a;
}

static struct ss_filter *expr(struct parser *p)
{
	static const char *const or[] = { "or", "|", "||", NULL };
	struct ss_filter *a = conjunction(p);
	while (a && take(p, or)) {
		struct ss_filter *b = conjunction(p);
		a = b ? node(K_OR, a, b) : (ss_filter_free(a), NULL);
	}
	return a;
}

struct ss_filter *ss_filter_parse(char *const *words, int n, char *err, size_t errlen)
{
	struct parser *p = calloc(1, sizeof(*p));
	if (!p) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	p->err = err;
	p->errlen = errlen;
	size_t len = 0;
	for (int i = 0; i < n; i++) {
		int k = snprintf(p->text + len, sizeof(p->text) - len, "%s ", words[i]);
		if (k < 0 || (size_t)k >= sizeof(p->text) - len) {
			snprintf(err, errlen, "the filter is too long");
			free(p);
			return NULL;
		}
		len += (size_t)k;
	}
	struct ss_filter *f = NULL;
	if (!tokenize(p)) {
		snprintf(err, errlen, "the filter has too many words");
	} else if (p->ntok == 0) {
		f = node(K_AND, NULL, NULL); /* nothing to test: all */
	} else {
		f = expr(p);
		if (f && peek(p)) {
			ss_filter_free(f);
			f = fail(p, "'%s' is not expected there", peek(p));
		}
	}
	free(p);
	return f;
}

/* ---- use ---------------------------------------------------------------------- */

bool ss_filter_match(const struct ss_filter *f, bool inet, long lport, long rport)
{
	switch (f->kind) {
	case K_OR:
		return ss_filter_match(f->a, inet, lport, rport) ||
		       ss_filter_match(f->b, inet, lport, rport);
	case K_AND:
		return (!f->a || ss_filter_match(f->a, inet, lport, rport)) &&
		       (!f->b || ss_filter_match(f->b, inet, lport, rport));
	case K_NOT:
		return !ss_filter_match(f->a, inet, lport, rport);
	case K_PORT:
		break;
	}
	if (!inet)
		return false;
	long v = f->local ? lport : rport;
	switch (f->cmp) {
	case EQ: return v == f->port;
	case NE: return v != f->port;
	case LT: return v < f->port;
	case GT: return v > f->port;
	case LE: return v <= f->port;
	case GE: return v >= f->port;
	}
	return false;
}

struct need {
	long l, r, p; /* a port every match has: local, remote, at one end; or -1 */
};

static bool has_at_an_end(const struct need *n, long v)
{
	return v >= 0 && (n->l == v || n->r == v || n->p == v);
}

static struct need needs(const struct ss_filter *f)
{
	struct need n = { -1, -1, -1 };
	if (!f)
		return n;
	if (f->kind == K_PORT && f->cmp == EQ) {
		if (f->local)
			n.l = f->port;
		else
			n.r = f->port;
	} else if (f->kind == K_AND) {
		struct need a = needs(f->a), b = needs(f->b);
		n.l = a.l >= 0 ? a.l : b.l;
		n.r = a.r >= 0 ? a.r : b.r;
		n.p = a.p >= 0 ? a.p : b.p;
	} else if (f->kind == K_OR) {
		struct need a = needs(f->a), b = needs(f->b);
		n.l = a.l == b.l ? a.l : -1;
		n.r = a.r == b.r ? a.r : -1;
		long cand[] = { a.l, a.r, a.p };
		for (size_t i = 0; i < 3 && n.p < 0; i++)
			if (has_at_an_end(&b, cand[i]))
				n.p = cand[i];
	}
	return n;
}

void ss_filter_params(const struct ss_filter *f, int *lport, int *rport, int *port)
{
	struct need n = needs(f);
	*lport = (int)n.l;
	*rport = (int)n.r;
	*port = n.l < 0 && n.r < 0 ? (int)n.p : -1;
}

void ss_filter_free(struct ss_filter *f)
{
	if (!f)
		return;
	ss_filter_free(f->a);
	ss_filter_free(f->b);
	free(f);
}
