/* SPDX-License-Identifier: ISC */
/*
 * net_list.c - the net figures for `make bench` (run by bench/b_net.sh):
 * net.list through sysqd against the raw baseline of the same work done
 * in-process (sq_net_list: getifaddrs plus one SIOCGIFMTU per interface),
 * and net.mtu.get against sys.ping (the cost of the worker-pool hop).
 * Usage: net_list SOCKET [ITERATIONS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "libsysq.h"
#include "sq_net.h"
#include "sq_proto.h"
#include "bench_stats.h"

/* One call with params {name: "lo"} or none. */
static int call(struct sysq *c, const char *method, const char *name)
{
	struct sysq_reply r;
	msgpack_packer *pk = sysq_begin(c, method, NULL);
	if (name) {
		msgpack_pack_array(pk, 1);
		msgpack_pack_map(pk, 1);
		sq_pack_cstr(pk, "name");
		sq_pack_cstr(pk, name);
	} else {
		msgpack_pack_array(pk, 0);
	}
	int rc = sysq_call_end(c, &r);
	if (rc != 0)
		fprintf(stderr, "net_list: %s: %s %s\n", method, r.code, r.message);
	sysq_reply_free(&r);
	return rc;
}

static double time_calls(struct sysq *c, const char *method, const char *name, double *v,
                         int n)
{
	for (int i = 0; i < n; i++) {
		double t0 = bn_now_us();
		if (call(c, method, name) != 0)
			exit(1);
		v[i] = bn_now_us() - t0;
	}
	return bn_median(v, n);
}

/* The net issue sets no speed target: these are figures, not pass/fail
 * (so no OK/MISS, which bench/run.sh would count). */
static void line(const char *name, double figure, const char *unit, double ratio,
                 double target)
{
	(void)target;
	printf("  %s: %.1f %s  ratio %.2f (no target)\n", name, figure, unit, ratio);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: net_list SOCKET [ITERATIONS]\n");
		return 2;
	}
	int n = argc > 2 ? atoi(argv[2]) : 2000;
	if (n < 10)
		n = 10;
	double *v = malloc(sizeof(double) * (size_t)n);
	char err[256];
	struct sysq *c = sysq_connect(argv[1], err, sizeof(err));
	if (!v || !c) {
		fprintf(stderr, "net_list: %s\n", c ? "out of memory" : err);
		return 1;
	}

	/* raw baseline: the same lib call, in this process */
	size_t nif = 0;
	for (int i = 0; i < n; i++) {
		struct sq_net_list l;
		double t0 = bn_now_us();
		if (sq_net_list(&l) < 0) {
			fprintf(stderr, "net_list: sq_net_list failed\n");
			return 1;
		}
		v[i] = bn_now_us() - t0;
		nif = l.n;
		sq_net_list_free(&l);
	}
	double raw = bn_median(v, n);
	for (int i = 0; i < n; i++) {
		int mtu;
		double t0 = bn_now_us();
		if (sq_net_mtu_get("lo", &mtu) < 0) {
			fprintf(stderr, "net_list: sq_net_mtu_get lo failed\n");
			return 1;
		}
		v[i] = bn_now_us() - t0;
	}
	double raw_get = bn_median(v, n);
	double list = time_calls(c, "net.list", NULL, v, n);
	double ping = time_calls(c, "sys.ping", NULL, v, n);
	double get = time_calls(c, "net.mtu.get", "lo", v, n);

	printf("  (medians of %d calls each: net.list of %zu interfaces in-process %.1f us, "
	       "through sysqd %.1f us; SIOCGIFMTU in-process %.1f us, net.mtu.get %.1f us; "
	       "sys.ping %.1f us)\n", n, nif, raw, list, raw_get, get, ping);
	line("net.list median round trip", list, "us", list / raw, 3.0);
	/* a pool method against the loop's cheapest round trip: the worker hop */
	line("net.mtu.get median round trip (vs sys.ping)", get, "us", get / ping, 3.0);
	sysq_close(c);
	free(v);
	return 0;
}
