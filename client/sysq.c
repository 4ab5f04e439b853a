/*
 * sysq.c - the sysq command line: global options, the subcommand table,
 * and dispatch.  Each subcommand lives in a cmd_<group>.c file.
 * Exit status: 0 ok, 1 the daemon answered an error, 2 usage, 3 cannot
 * connect.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#ifndef SQ_VERSION
#define SQ_VERSION "0.0.0-dev"
#endif

static const struct cli_cmd commands[] = {
	{ "ps", cmd_ps, "[-u USER] [--sort [-]FIELD]", "the process table, as you may see it" },
	{ "kill", cmd_kill, "[-SIGNAL | -s SIGNAL] PID...", "signal processes, as yourself" },
	{ "df", cmd_df, "[-a] [-T] [-t MS] [PATH...]", "file systems like df -h; never hangs" },
	{ "xattr", cmd_xattr, "[-lpwdsx] [NAME [VAL]] PATH", "extended attributes, as you" },
	{ "net", cmd_net, "", "interfaces: NAME MTU FLAGS MAC ADDRESSES" },
	{ "ss", cmd_ss, "[-tuxlanpi46H] [state NAME...]",
	  "sockets like ss(8): TCP, UDP, UNIX; -p owners as you may see them" },
	{ "mtu", cmd_mtu, "IFACE [MTU]", "an interface's MTU; with MTU, change it" },
	{ "get", cmd_get, "PATH [-o OUT] [--offset N] [--length N]", "copy a file, read as you" },
	{ "watch", cmd_watch, "[mounts] [net] [pid PID...]", "events as they happen" },
	{ "metrics", cmd_metrics, "[--textfile DIR | --listen [ADDR:PORT]]",
	  "Prometheus metrics: print, write, or serve" },
	{ "hello", cmd_hello, "", "who the daemon is and who you are to it" },
	{ "ping", cmd_ping, "[-c COUNT]", "round trips: min/median/max" },
	{ "methods", cmd_methods, "[METHOD]", "the methods sysqd serves, which you may call; one's contract" },
	{ "stats", cmd_stats, "", "the daemon's counters and resource use" },
	{ "call", cmd_call, "METHOD ['{json params}']", "any method; the result as JSON" },
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *f)
{
	fprintf(f, "usage: sysq [-s SOCKET] [--json] COMMAND [ARGS]\n\n"
	           "Query sysqd, the system information daemon (see sysq(1)).\n\n"
	           "  -s, --socket PATH  daemon socket (default: $SYSQ_SOCKET, else the\n"
	           "                     system socket as root or your per-user one)\n"
	           "  -j, --json         print results as JSON\n"
	           "  -h, --help         this text\n"
	           "  -V, --version      print the version\n\ncommands:\n");
	enum { WIDTH = 32 }; /* a longer synopsis puts its summary on the next line */
	for (size_t i = 0; i < NCOMMANDS; i++) {
		char left[128];
		snprintf(left, sizeof(left), "%s %s", commands[i].name, commands[i].synopsis);
		if (strlen(left) > WIDTH)
			fprintf(f, "  %s\n  %-*s  %s\n", left, WIDTH, "", commands[i].summary);
		else
			fprintf(f, "  %-*s  %s\n", WIDTH, left, commands[i].summary);
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
	for (size_t i = 0; i < NCOMMANDS; i++) {
		if (strcmp(commands[i].name, name) != 0)
			continue;
		/* subcommands may take --json after their name too, up to a
		 * "--": what follows it is the command's own (a value "-j") */
		int n = 0;
		char **av = &argv[optind];
		int ac = argc - optind;
		bool in_opts = true;
		for (int k = 0; k < ac; k++) {
			if (k > 0 && in_opts && strcmp(av[k], "--") == 0)
				in_opts = false;
			if (k > 0 && in_opts && (strcmp(av[k], "--json") == 0 || strcmp(av[k], "-j") == 0))
				cli.json = true;
			else
				av[n++] = av[k];
		}
		int st = commands[i].run(&cli, n, av);
		sysq_close(cli.conn);
		return st;
	}
	fprintf(stderr, "sysq: unknown command '%s' (sysq --help lists them)\n", name);
	return EXIT_USAGE;
}
