/* SPDX-License-Identifier: ISC */
/*
 * commands.c - the sysq command table: each subcommand's name, function,
 * one-line synopsis and summary for `sysq --help`, and its whole usage for
 * `sysq CMD --help` (stdout, exit 0) and for usage errors (stderr, exit 2).
 * man/sysq.1 says the same; test_cli.c compares the options of the two.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

const struct cli_cmd cli_commands[] = {
	{ "ps", cmd_ps, "[-w] [-p PID,...] [-C NAME,...] [-u USER,...] [-o FIELD,...] [--sort [-]FIELD]",
	  "the process table, as you may see it",
	  "usage: sysq ps [-w] [-p PID,...] [-C NAME,...] [-u USER,...] [-o FIELD,...]\n"
	  "               [--sort [-]FIELD]\n"
	  "  -p, --pid PID,...   only these processes\n"
	  "  -C NAME,...         only processes whose command name (comm) is NAME\n"
	  "  -u, --user USER,... only processes whose effective user is USER (a name or a uid)\n"
	  "                      (-p, -C, -u again add to their list; a process any of\n"
	  "                      them selects is shown)\n"
	  "  -o, --format FIELD,...\n"
	  "                      these columns, as ps names them (FIELD=HEADER renames the\n"
	  "                      last): pid ppid pgid pgrp sid sess user euser uname ruser\n"
	  "                      uid euid ruid tty tt tname s state ni nice nlwp thcount vsz\n"
	  "                      vsize rss rsz rssize %mem pmem %cpu pcpu time cputime\n"
	  "                      start start_time stime etime comm ucomm ucmd args command\n"
	  "                      cmd (default pid,ppid,user,%cpu,%mem,vsz,rss,tty,s,\n"
	  "                      start_time,time,args)\n"
	  "  -w, --wide          whole lines on a terminal (default: cut to its width)\n"
	  "      --sort [-]FIELD sort by FIELD, descending with '-' (default pid)\n",
	  0 },
	{ "kill", cmd_kill, "[-SIGNAL | -s SIGNAL] PID...", "signal processes, as yourself",
	  "usage: sysq kill [-SIGNAL | -s SIGNAL] [--] PID...\n"
	  "       sysq kill -l\n"
	  "  -SIGNAL, -s SIGNAL  the signal: a name (TERM, SIGHUP) or number (-9; default TERM)\n"
	  "  -l                  list this system's signal numbers and names\n"
	  "  --                  ends the options\n",
	  0 },
	{ "df", cmd_df,
	  "[-ahikmPT] [-t TYPE] [-x TYPE] [--output[=FIELD,...]] [--timeout MS] [PATH...]",
	  "file systems like df -h; never hangs",
	  "usage: sysq df [-ahikmPT] [-t TYPE] [-x TYPE] [--output[=FIELD,...]] [--timeout MS]\n"
	  "               [PATH...]\n"
	  "  -a, --all          include pseudo, empty and covered file systems\n"
	  "  -h, --human-readable\n"
	  "                     sizes in powers of 1024 with K, M, G... (the default)\n"
	  "  -k                 sizes in 1K blocks\n"
	  "  -m                 sizes in 1M blocks\n"
	  "  -i, --inodes       inodes in place of sizes\n"
	  "  -P, --portability  POSIX output: 1024-blocks (unless -h or -m) and Capacity\n"
	  "  -T, --print-type   show the file system type\n"
	  "  -t, --type TYPE    only file systems of type TYPE (again for more types)\n"
	  "  -x, --exclude-type TYPE\n"
	  "                     leave out file systems of type TYPE (again for more)\n"
	  "      --output[=FIELD,...]\n"
	  "                     these columns (default all): source fstype itotal iused\n"
	  "                     iavail ipcent size used avail pcent file target\n"
	  "      --timeout MS   wait at most MS for the file systems (1..10000, default 1000)\n",
	  CMD_H_IS_AN_OPTION },
	{ "xattr", cmd_xattr, "[-lpwdcrsx] [NAME [VAL]] PATH", "extended attributes, as you",
	  "usage: sysq xattr [-l] [-rsx] PATH...\n"
	  "       sysq xattr -p [-rsx] NAME PATH...\n"
	  "       sysq xattr -w [-rsx] NAME VALUE PATH...\n"
	  "       sysq xattr -d [-rs] NAME PATH...\n"
	  "       sysq xattr -c [-rs] PATH...\n"
	  "  (none)             list the names\n"
	  "  -l                 list names and values\n"
	  "  -p                 print NAME's value\n"
	  "  -w                 set NAME to VALUE, creating or replacing it\n"
	  "  -d                 delete NAME\n"
	  "  -c                 delete every attribute\n"
	  "  -r                 also every file and directory under a directory PATH\n"
	  "                     (symbolic links met on the way: only with -s, themselves)\n"
	  "  -s                 act on a symbolic link itself, not what it points to\n"
	  "  -x                 values in hex (-p, -w), or a hex dump (-l)\n"
	  "  --                 ends the options (a NAME or VALUE may start with '-')\n",
	  0 },
	{ "net", cmd_net, "[-s] [IFACE]", "interfaces: NAME MTU FLAGS MAC ADDRESSES; -s: counters",
	  "usage: sysq net [-s] [IFACE]\n"
	  "  (no option)        each interface: NAME MTU FLAGS MAC ADDRESSES\n"
	  "  IFACE              that interface alone (exit 1, ENODEV, when there is none)\n"
	  "  -s                 its counters instead: STATE CARRIER RX-BYTES RX-PKTS\n"
	  "                     RX-ERR RX-DROP TX-BYTES TX-PKTS TX-ERR TX-DROP ('-' where\n"
	  "                     the system does not say)\n",
	  0 },
	{ "ss", cmd_ss, "[-tuxlanpi46H] [state NAME...] [EXPRESSION]",
	  "sockets like ss(8): TCP, UDP, UNIX; -p owners as you may see them",
	  "usage: sysq ss [-tuxlanpi46H] [state NAME...] [EXPRESSION]\n"
	  "  -t, -u, -x  TCP, UDP, UNIX sockets (default: all three)\n"
	  "  -4, -6      IPv4, IPv6 sockets only\n"
	  "  -l          listening sockets only\n"
	  "  -a          every state (default: the connected ones)\n"
	  "  -n          accepted: addresses and ports are always numeric\n"
	  "  -p          the processes holding each socket, as you may see them\n"
	  "  -i          TCP figures (rtt, cwnd, ...), as ss -i\n"
	  "  -H          no header line\n"
	  "  state NAME  established syn-sent syn-recv fin-wait-1 fin-wait-2 time-wait\n"
	  "              closed close-wait last-ack listening closing, or the groups\n"
	  "              all connected synchronized bucket big\n"
	  "  EXPRESSION  ss's port filters: sport = :22, dport != :443, < > <= >=\n"
	  "              (lt gt le ge eq ne), joined with and, or, not and ( ),\n"
	  "              e.g. '( sport = :22 or dport = :22 )'\n",
	  0 },
	{ "mtu", cmd_mtu, "IFACE [MTU]", "an interface's MTU; with MTU, change it",
	  "usage: sysq mtu IFACE [MTU]\n"
	  "  without MTU print IFACE's MTU; with MTU change it (root, or as the\n"
	  "  daemon's policy allows)\n",
	  0 },
	{ "host", cmd_host, "", "uptime, load, tasks, CPU, memory, pressure: the top of top",
	  "usage: sysq host\n"
	  "  uptime, CPUs and load averages; tasks; each CPU mode's share of all CPU\n"
	  "  time since boot; memory and swap in MiB; on Linux the pressure stall\n"
	  "  averages of cpu, memory and io (figures the system lacks are left out)\n",
	  0 },
	{ "sysctl", cmd_sysctl, "[-n] NAME... | -a [PREFIX] | -w NAME=VALUE...",
	  "kernel parameters, as sysctl(8)",
	  "usage: sysq sysctl [-n] NAME...\n"
	  "       sysq sysctl [-n] -a [PREFIX]\n"
	  "       sysq sysctl [-n] -w NAME=VALUE...\n"
	  "  (no option)        print each NAME as 'NAME = VALUE', read as you\n"
	  "  -n                 print the values alone\n"
	  "  -a                 every parameter, or those under PREFIX; one you may not\n"
	  "                     read is reported on stderr and skipped\n"
	  "  -w                 set each NAME to VALUE (root, or as the daemon's policy\n"
	  "                     allows) and print what the kernel reads back\n",
	  0 },
	{ "get", cmd_get, "PATH [-o OUT] [--offset N] [--length N] [--nofollow] [-v]",
	  "copy a file, read as you",
	  "usage: sysq get PATH [-o OUT] [--offset N] [--length N] [--nofollow] [-v]\n"
	  "  -o, --output OUT   write to OUT (default: stdout, refusing binary bytes for a\n"
	  "                     terminal; '-': stdout whatever the bytes); a directory OUT:\n"
	  "                     OUT/<the last name of PATH>, as curl names it\n"
	  "      --offset N     start at byte N (123, 4K, 1M, 2G, 1T)\n"
	  "      --length N     copy at most N bytes\n"
	  "      --nofollow     refuse a symbolic link at the end of PATH\n"
	  "  -v, --verbose      at the end, say how many bytes were written, and of the\n"
	  "                     file's bytes how many were spliced and how many copied\n",
	  0 },
	{ "watch", cmd_watch,
	  "[mounts] [net] [proc [--uid UID] [--ppid PID] [--comm NAME]] [pid PID...]",
	  "events as they happen",
	  "usage: sysq watch [mounts] [net] [proc [--uid UID] [--ppid PID] [--comm NAME]] "
	  "[pid PID...]\n"
	  "  (no topic: mounts and net; runs until interrupted, or until every\n"
	  "  watched pid has exited)\n"
	  "  proc            forks, execs and exits of every process you may see\n"
	  "  --uid UID       only processes of this (real) uid\n"
	  "  --ppid PID      only children of PID\n"
	  "  --comm NAME     only processes named NAME (as in /proc/PID/comm)\n",
	  0 },
	{ "metrics", cmd_metrics,
	  "[--per-uid] [--names sysq|node] [--collect LIST] [--timeout T] [--textfile DIR | --listen [ADDR:PORT]]",
	  "Prometheus metrics: print, write, or serve",
	  "usage: sysq metrics [--per-uid] [--names sysq|node] [--collect LIST] [--timeout T]\n"
	  "                    [--textfile DIR | --listen [ADDR:PORT]]\n"
	  "  (no option)         print the exposition (Prometheus text format 0.0.4)\n"
	  "  --textfile DIR      write DIR/sysq.prom atomically (node_exporter textfile collector)\n"
	  "  --listen [ADDR:PORT] serve GET /metrics (default 127.0.0.1:9393)\n"
	  "  --timeout T         deadline per scrape: seconds, or Nms / Ns (default 5s)\n"
	  "  --per-uid           add process counts per uid (sysq_user_processes)\n"
	  "  --names node        node_exporter's metric names and labels for the figures it\n"
	  "                      also exports (node_cpu_seconds_total, ...; docs/metrics.md)\n"
	  "  --collect LIST      only these collectors, comma-separated: stats fs net host\n"
	  "                      proc sockets (default all; with --listen, a request's\n"
	  "                      collect[]=NAME params choose among them, as node_exporter's)\n"
	  "with --listen:\n"
	  "  --header-timeout T  a request must arrive whole within T of connecting or of the\n"
	  "                      previous response, and a response be taken within T; the\n"
	  "                      connection is closed otherwise (default 10s)\n"
	  "  --max-connections N connections open at once (default 256)\n"
	  "  --max-per-address N connections open at once from one client address (default 8)\n",
	  0 },
	{ "hello", cmd_hello, "", "who the daemon is and who you are to it",
	  "usage: sysq hello\n", 0 },
	{ "ping", cmd_ping, "[-c COUNT]", "round trips: min/median/max",
	  "usage: sysq ping [-c COUNT]\n"
	  "  -c COUNT   send COUNT pings one after the other (1..10000000, default 1)\n",
	  0 },
	{ "methods", cmd_methods, "[METHOD]",
	  "the methods sysqd serves, which you may call; one's contract",
	  "usage: sysq methods [METHOD]\n"
	  "  without METHOD every method, its access rule and whether you may call it;\n"
	  "  with METHOD that one, its params and the errors it answers (--json: its\n"
	  "  typed params and result shape)\n", 0 },
	{ "stats", cmd_stats, "", "the daemon's counters and resource use",
	  "usage: sysq stats\n"
	  "  a summary on a terminal; JSON with --json or when written elsewhere\n", 0 },
	{ "call", cmd_call, "METHOD ['{json params}']", "any method; the result as JSON",
	  "usage: sysq call [--] METHOD ['{\"param\": value, ...}']\n"
	  "  --         ends the options (a METHOD or params starting with '-')\n",
	  0 },
};
const size_t cli_ncommands = sizeof(cli_commands) / sizeof(cli_commands[0]);

const struct cli_cmd *cli_command(const char *name)
{
	for (size_t i = 0; i < cli_ncommands; i++)
		if (strcmp(cli_commands[i].name, name) == 0)
			return &cli_commands[i];
	return NULL;
}

void cli_help(const struct cli_cmd *cmd, FILE *f)
{
	fputs(cmd->usage, f);
	fprintf(f, "%s  -j, --json         print results as JSON\n",
	        cmd->flags & CMD_H_IS_AN_OPTION ? "      --help         this text\n"
	                                        : "  -h, --help         this text\n");
}

int cli_usage(const char *name)
{
	const struct cli_cmd *cmd = cli_command(name);
	if (cmd)
		cli_help(cmd, stderr);
	return EXIT_USAGE;
}
