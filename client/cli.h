/* SPDX-License-Identifier: ISC */
/*
 * cli.h - what the sysq subcommands share: the command table entry, the
 * connection with global options, calling with exit-status reporting, and
 * table output.
 */
#ifndef SQ_CLI_H
#define SQ_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "libsysq.h"

/* Exit statuses, documented in sysq(1). */
enum { EXIT_OK = 0, EXIT_REMOTE = 1, EXIT_USAGE = 2, EXIT_CONNECT = 3 };

struct cli {
	const char *socket;   /* -s, or NULL for the default */
	bool json;            /* --json */
	struct sysq *conn;    /* after cli_connect */
};

/* cli_cmd.flags: -h is one of the command's options (df's
 * --human-readable), so only --help asks for help. */
enum { CMD_H_IS_AN_OPTION = 1 };

struct cli_cmd {
	const char *name;
	int (*run)(struct cli *cli, int argc, char **argv);
	const char *synopsis;  /* for sysq --help's list */
	const char *summary;
	const char *usage;     /* "usage: sysq NAME ..." and the options */
	unsigned flags;
};

/* The command table (commands.c). */
extern const struct cli_cmd cli_commands[];
extern const size_t cli_ncommands;
const struct cli_cmd *cli_command(const char *name);
/* The command's usage and options, with the --help and --json lines. */
void cli_help(const struct cli_cmd *cmd, FILE *f);
/* A usage error: the command's help on stderr; returns EXIT_USAGE. */
int cli_usage(const char *name);

/* Connect or exit with EXIT_CONNECT and a message naming the socket. */
struct sysq *cli_connect(struct cli *cli);
/* Outcome of a libsysq call as an exit status, printing errors on stderr. */
int cli_status(const char *what, int rc, const struct sysq_reply *r);
/* Call method with params given as JSON text (NULL: none). */
int cli_call_json(struct cli *cli, const char *method, const char *json,
                  struct sysq_reply *r);
/* Print a result as JSON (pretty), followed by a newline. */
void cli_print_json(const msgpack_object *o);

/* Column table: add cells row by row, then print aligned. */
struct table;
struct table *table_new(int ncols, const char *const *headers, const char *right_align);
void table_add(struct table *t, const char *cell);
void table_addf(struct table *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void table_print(struct table *t, FILE *f);
void table_free(struct table *t);

/* Helpers to read result maps. */
const msgpack_object *obj_get(const msgpack_object *map, const char *key);
long long obj_int(const msgpack_object *map, const char *key, long long dflt);
double obj_double(const msgpack_object *map, const char *key, double dflt);
/* Copy a str/bin field, with unprintable bytes shown as \xNN. */
void obj_str(const msgpack_object *map, const char *key, char *buf, size_t size);
void human_bytes(double v, char *buf, size_t size);

/* Subcommands, one module each. */
int cmd_hello(struct cli *cli, int argc, char **argv);
int cmd_ping(struct cli *cli, int argc, char **argv);
int cmd_call(struct cli *cli, int argc, char **argv);
int cmd_methods(struct cli *cli, int argc, char **argv);
int cmd_stats(struct cli *cli, int argc, char **argv);
int cmd_net(struct cli *cli, int argc, char **argv);
int cmd_mtu(struct cli *cli, int argc, char **argv);
int cmd_ss(struct cli *cli, int argc, char **argv);
int cmd_get(struct cli *cli, int argc, char **argv);
int cmd_df(struct cli *cli, int argc, char **argv);
int cmd_xattr(struct cli *cli, int argc, char **argv);
int cmd_ps(struct cli *cli, int argc, char **argv);
int cmd_kill(struct cli *cli, int argc, char **argv);
int cmd_metrics(struct cli *cli, int argc, char **argv);
int cmd_watch(struct cli *cli, int argc, char **argv);
int cmd_host(struct cli *cli, int argc, char **argv);
int cmd_sysctl(struct cli *cli, int argc, char **argv);

#endif
