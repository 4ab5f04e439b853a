/* SPDX-License-Identifier: ISC */
/*
 * test_metrics_host.c - `sysq metrics` gains the host's families (cpu,
 * memory, load, pressure) and per-interface counters; `--names node` emits
 * node_exporter's exact names and labels for the same figures.  Checked
 * against /proc (constants equal, counters between two readings) and by
 * `promtool check metrics` in both modes.
 */
#include <criterion/criterion.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static struct sqd d;
static void up(void) { sqd_start(&d, NULL); }
static void down(void) { sqd_stop_clean(&d); }
TestSuite(metrics_host, .init = up, .fini = down, .timeout = 60);

/* `sysq -s SOCK metrics ARGS` into a malloc'd string; its exit status in *st */
static char *metrics(const char *args, int *st)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "%s -s %s metrics %s 2>&1", getenv("SQ_SYSQ"), d.sock, args);
	FILE *p = popen(cmd, "r");
	cr_assert(p);
	size_t cap = 1 << 20, n = 0;
	char *out = malloc(cap);
	for (size_t k; (k = fread(out + n, 1, cap - 1 - n, p)) > 0;)
		n += k;
	out[n] = '\0';
	int s = pclose(p);
	*st = WIFEXITED(s) ? WEXITSTATUS(s) : 128;
	return out;
}

/* The value of the sample whose line starts with `prefix ` (name{labels}) */
static double sample(const char *text, const char *prefix)
{
	char want[256];
	snprintf(want, sizeof(want), "\n%s ", prefix);
	const char *at = strstr(text, want);
	cr_assert(at, "no sample %s", prefix);
	return strtod(at + strlen(want), NULL);
}

static unsigned long long meminfo(const char *key)
{
	char *t = slurp("/proc/meminfo");
	char *at = strstr(t, key);
	cr_assert(at);
	unsigned long long v = strtoull(at + strlen(key), NULL, 10) * 1024;
	free(t);
	return v;
}

/* promtool check metrics: no word, exit 0.  node_camel: node_exporter's
 * own meminfo names (node_memory_MemTotal_bytes ...) are camelCase, which
 * promtool's lint reports (exit 3) for node_exporter itself; those lines
 * alone are allowed, nothing else. */
static void promtool_ok(const char *text, bool node_camel)
{
	if (access("/usr/bin/promtool", X_OK) != 0)
		cr_skip_test("SKIPPED: no /usr/bin/promtool (Debian package prometheus)");
	char path[] = "/tmp/sysq-mh.XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "/usr/bin/promtool check metrics < %s 2>&1", path);
	FILE *p = popen(cmd, "r");
	char said[4096];
	size_t n = fread(said, 1, sizeof(said) - 1, p);
	said[n] = '\0';
	int st = pclose(p);
	unlink(path);
	if (node_camel && WIFEXITED(st) && WEXITSTATUS(st) == 3) {
		for (char *line = said; *line;) {
			char *nl = strchr(line, '\n');
			size_t len = nl ? (size_t)(nl - line) : strlen(line);
			cr_assert(strncmp(line, "node_memory_", 12) == 0 &&
			          strstr(line, " metric names should be written in 'snake_case' not "
			                 "'camelCase'") && (!nl || strstr(line, "camelCase'") < nl),
			          "promtool: %.*s", (int)len, line);
			line += len + (nl != NULL);
		}
		return;
	}
	cr_assert_eq(st, 0, "promtool check metrics failed: %s", said);
	cr_assert_str_empty(said, "promtool warned: %s", said);
}

Test(metrics_host, sysq_names_agree_with_proc)
{
	int st;
	char *stat0 = slurp("/proc/stat");
	char *text = metrics("", &st);
	char *stat1 = slurp("/proc/stat");
	cr_assert_eq(st, 0, "%s", text);
	cr_assert_eq((unsigned long long)sample(text, "sysq_memory_total_bytes"),
	             meminfo("MemTotal:"));
	cr_assert_eq((unsigned long long)sample(text, "sysq_memory_swap_total_bytes"),
	             meminfo("SwapTotal:"));
	cr_assert(strstr(text, "# TYPE sysq_cpu_seconds_total counter\n"));
	/* cpu0 idle between the two readings of /proc/stat */
	unsigned long long i0, i1;
	cr_assert_eq(sscanf(strstr(stat0, "\ncpu0 ") + 6, "%*u %*u %*u %llu", &i0), 1);
	cr_assert_eq(sscanf(strstr(stat1, "\ncpu0 ") + 6, "%*u %*u %*u %llu", &i1), 1);
	double hz = (double)sysconf(_SC_CLK_TCK);
	double idle = sample(text, "sysq_cpu_seconds_total{cpu=\"0\",mode=\"idle\"}");
	cr_assert(idle >= (double)i0 / hz - 1e-9 && idle <= (double)i1 / hz + 1e-9,
	          "idle %.2f not within %.2f..%.2f", idle, (double)i0 / hz, (double)i1 / hz);
	sample(text, "sysq_load1");
	sample(text, "sysq_boot_time_seconds");
	sample(text, "sysq_network_receive_bytes_total{interface=\"lo\"}");
	sample(text, "sysq_network_transmit_packets_total{interface=\"lo\"}");
	char *psi = slurp("/proc/pressure/cpu");
	if (strstr(psi, "some"))
		sample(text, "sysq_pressure_cpu_waiting_seconds_total");
	free(psi);
	cr_assert(strstr(text, "\nsysq_scrape_collector_success{collector=\"host\"} 1\n"));
	promtool_ok(text, false);
	free(text);
	free(stat0);
	free(stat1);
}

Test(metrics_host, names_node_are_node_exporters)
{
	int st;
	char *text = metrics("--names node", &st);
	cr_assert_eq(st, 0, "%s", text);
	cr_assert_eq((unsigned long long)sample(text, "node_memory_MemTotal_bytes"),
	             meminfo("MemTotal:"));
	static const char *const names[] = {
		"node_memory_MemAvailable_bytes", "node_memory_MemFree_bytes",
		"node_memory_Buffers_bytes", "node_memory_Cached_bytes", "node_memory_Shmem_bytes",
		"node_memory_SwapTotal_bytes", "node_memory_SwapFree_bytes", "node_load1",
		"node_load5", "node_load15", "node_boot_time_seconds", "node_procs_running",
		"node_procs_blocked", "node_forks_total", "node_context_switches_total",
		"node_cpu_seconds_total{cpu=\"0\",mode=\"user\"}",
		"node_cpu_seconds_total{cpu=\"0\",mode=\"steal\"}",
		"node_network_receive_bytes_total{device=\"lo\"}",
		"node_network_receive_packets_total{device=\"lo\"}",
		"node_network_receive_errs_total{device=\"lo\"}",
		"node_network_receive_drop_total{device=\"lo\"}",
		"node_network_transmit_bytes_total{device=\"lo\"}",
		"node_network_transmit_colls_total{device=\"lo\"}",
		"node_network_mtu_bytes{device=\"lo\"}", "node_network_up{device=\"lo\"}",
		"node_network_carrier{device=\"lo\"}",
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		sample(text, names[i]);
	cr_assert(strstr(text, "# TYPE node_cpu_seconds_total counter\n"));
	cr_assert(strstr(text, "node_filesystem_size_bytes{"), "fs families renamed too");
	cr_assert_null(strstr(text, "sysq_memory_total_bytes"), "one name per figure");
	cr_assert_null(strstr(text, "sysq_network_mtu_bytes"));
	cr_assert(strstr(text, "\nsysq_requests_total "), "sysqd's own stay sysq_");
	char *psi = slurp("/proc/pressure/io");
	if (strstr(psi, "full"))
		sample(text, "node_pressure_io_stalled_seconds_total");
	free(psi);
	promtool_ok(text, true);
	free(text);
	text = metrics("--names nonsense", &st);
	cr_assert_eq(st, 2, "usage: exit 2");
	free(text);
}

/* --collect: only those collectors' calls, families and success series */
Test(metrics_host, collect_chooses_the_collectors)
{
	int st;
	char *all = metrics("", &st);
	cr_assert_eq(st, 0, "%s", all);
	cr_assert(strstr(all, "\nsysq_filesystem_avail_bytes{") && strstr(all, "\nsysq_connections "));
	free(all);
	char *t = metrics("--collect host,net --names node", &st);
	cr_assert_eq(st, 0, "%s", t);
	cr_assert(strstr(t, "\nnode_cpu_seconds_total{"), "host's families: %s", t);
	cr_assert(strstr(t, "\nnode_network_receive_bytes_total{"), "net's families");
	cr_assert_null(strstr(t, "_filesystem_"), "fs was not asked for");
	cr_assert_null(strstr(t, "\nsysq_connections "), "nor stats");
	cr_assert_null(strstr(t, "sysq_sockets"), "nor sockets");
	cr_assert_eq(sample(t, "sysq_scrape_collector_success{collector=\"host\"}"), 1);
	cr_assert_eq(sample(t, "sysq_scrape_collector_success{collector=\"net\"}"), 1);
	cr_assert_null(strstr(t, "collector=\"fs\""), "no series for fs");
	cr_assert_null(strstr(t, "collector=\"sockets\""), "nor for sockets");
	promtool_ok(t, true);
	free(t);
	t = metrics("--collect fs", &st);
	cr_assert_eq(st, 0, "%s", t);
	cr_assert(strstr(t, "\nsysq_filesystem_avail_bytes{"));
	cr_assert_null(strstr(t, "sysq_cpu_seconds_total"));
	free(t);
	t = metrics("--collect host,cpu", &st);
	cr_assert_eq(st, 2, "an unknown collector is a usage error: %s", t);
	cr_assert(strstr(t, "unknown collector 'cpu'"), "%s", t);
	free(t);
}
