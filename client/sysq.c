/* SPDX-License-Identifier: ISC */
/*
 * sysq.c - the sysq command line: global options, the subcommand table,
 * and dispatch.  Each subcommand lives in a cmd_<group>.c file.
 * Exit status: 0 ok, 1 the daemon answered an error, 2 usage, 3 cannot
 * connect.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#ifndef SQ_VERSION
#define SQ_VERSION "0.0.0-dev"
#endif

static void usage(FILE *f)
{
	fprintf(f, "usage: sysq [-s SOCKET] [--json] COMMAND [ARGS]\n\n"
	           "Query sysqd, the system information daemon (see sysq(1)).\n\n"
	           "  -s, --socket PATH  daemon socket (default: $SYSQ_SOCKET, else the system\n"
	           "                     socket when it exists, then your per-user one)\n"
	           "  -j, --json         print results as JSON\n"
	           "  -h, --help         this text\n"
	           "  -V, --version      print the version\n\ncommands:\n");
	enum { WIDTH = 32 }; /* a longer synopsis puts its summary on the next line */
	for (size_t i = 0; i < cli_ncommands; i++) {
		char left[128];
		snprintf(left, sizeof(left), "%s %s", cli_commands[i].name, cli_commands[i].synopsis);
		if (strlen(left) > WIDTH)
			fprintf(f, "  %s\n  %-*s  %s\n", left, WIDTH, "", cli_commands[i].summary);
		else
			fprintf(f, "  %-*s  %s\n", WIDTH, left, cli_commands[i].summary);
	}
	fprintf(f, "\nexit status: 0 ok, 1 the daemon answered an error, 2 usage, "
	           "3 cannot connect\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli cli = { 0 };
	int ch;

	/* "+": stop at the subcommand, whose options are its own */
	while ((ch = getopt_long(argc, argv, "+s:jhV", opts, NULL)) != -1) {
		switch (ch) {
		case 's': cli.socket = optarg; break;
		case 'j': cli.json = true; break;
		case 'h': usage(stdout); return EXIT_OK;
		case 'V': printf("sysq %s\n", SQ_VERSION); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	const char *name = argv[optind];
	const struct cli_cmd *cmd = cli_command(name);
	if (!cmd) {
		fprintf(stderr, "sysq: unknown command '%s' (sysq --help lists them)\n", name);
		return EXIT_USAGE;
	}
	/* subcommands take --json and --help (-j, -h) after their name too, up
	 * to a "--": what follows it is the command's own (a value "-j") */
	int n = 0;
	char **av = &argv[optind];
	int ac = argc - optind;
	bool in_opts = true;
	for (int k = 0; k < ac; k++) {
		const char *a = av[k];
		if (k > 0 && in_opts && strcmp(a, "--") == 0)
			in_opts = false;
		if (k == 0 || !in_opts) {
			av[n++] = av[k];
		} else if (strcmp(a, "--json") == 0 || strcmp(a, "-j") == 0) {
			cli.json = true;
		} else if (strcmp(a, "--help") == 0 ||
		           (strcmp(a, "-h") == 0 && !(cmd->flags & CMD_H_IS_AN_OPTION))) {
			cli_help(cmd, stdout);
			return EXIT_OK;
		} else {
			av[n++] = av[k];
		}
	}
	int st = cmd->run(&cli, n, av);
	sysq_close(cli.conn);
	return st;
}
