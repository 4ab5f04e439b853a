/* SPDX-License-Identifier: ISC */
/*
 * sys_mem.c - sysqd's resident memory: idle, and with N idle connections.
 *
 *   sys_mem SOCKET SYSQD_PID [N]
 *
 * Calls sys.hello once on a fresh daemon and reads VmRSS from
 * /proc/PID/status (idle).  Then opens N connections that each send one
 * sys.ping, read the reply and stay open doing nothing, and reads VmRSS again.
 * Prints key=value lines (KiB) including the growth per connection.
 */
#ifndef __linux__
#include <stdio.h>
int main(void)
{
	fprintf(stderr, "sys_mem: Linux only (/proc/PID/status)\n");
	return 1;
}
#else
#include <signal.h>

#include "libsysq.h"
#include "sys_common.h"

static long vm_kib(pid_t pid, const char *field)
{
	char path[64], line[256];
	size_t flen = strlen(field);
	long v = -1;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		bn_die(path);
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, field, flen) == 0 && line[flen] == ':')
			v = strtol(line + flen + 1, NULL, 10);
	fclose(f);
	if (v < 0) {
		fprintf(stderr, "sys_mem: no %s in %s\n", field, path);
		exit(1);
	}
	return v;
}

int main(int argc, char **argv)
{
	char err[256];
	struct bn_ping ping;
	struct sysq_reply r;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: sys_mem SOCKET SYSQD_PID [N]\n");
		return 2;
	}
	pid_t pid = (pid_t)strtol(argv[2], NULL, 10);
	size_t n = argc > 3 ? strtoul(argv[3], NULL, 10) : 1000;
	if (!n || n > 100000) {
		fprintf(stderr, "sys_mem: N from 1 to 100000\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (bn_raise_nofile(n + 64) < 0)
		bn_die("setrlimit");

	struct sysq *c = sysq_connect(argv[1], err, sizeof(err));
	if (!c) {
		fprintf(stderr, "sys_mem: %s\n", err);
		return 1;
	}
	if (sysq_call0(c, "sys.hello", &r) != 0) {
		fprintf(stderr, "sys_mem: sys.hello failed\n");
		return 1;
	}
	sysq_reply_free(&r);
	sysq_close(c);
	long idle = vm_kib(pid, "VmRSS");

	bn_ping_init(&ping, "sys.ping", 1);
	int *fds = calloc(n, sizeof(*fds));
	if (!fds)
		bn_die("calloc");
	char rep[64];
	for (size_t i = 0; i < n; i++) {
		fds[i] = bn_connect(argv[1]);
		if (fds[i] < 0)
			bn_die("connect");
		if (bn_write_full(fds[i], ping.req, ping.req_len) < 0 ||
		    bn_read_full(fds[i], rep, ping.rep_len) < 0)
			bn_die("sys.ping");
		if (memcmp(rep, ping.rep, ping.rep_len) != 0) {
			fprintf(stderr, "sys_mem: unexpected reply (connection %zu)\n", i);
			return 1;
		}
	}
	long busy = vm_kib(pid, "VmRSS");
	long hwm = vm_kib(pid, "VmHWM");
	for (size_t i = 0; i < n; i++)
		close(fds[i]);
	free(fds);

	printf("connections=%zu\n", n);
	printf("idle_kib=%ld\n", idle);
	printf("conns_kib=%ld\n", busy);
	printf("hwm_kib=%ld\n", hwm);
	printf("per_conn_kib=%.2f\n", (double)(busy - idle) / (double)n);
	return 0;
}
#endif
