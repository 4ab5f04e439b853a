/* SPDX-License-Identifier: ISC */
/*
 * main.c - sysqd's entry point: command line, embedded defaults, the
 * listening socket (its own, or the one systemd or launchd passed: the same
 * binary serves all three), readiness for the service manager, signals
 * (TERM/INT stop cleanly, HUP reloads), and the libuv loop that runs
 * everything else.  sysqd works from "/" (as daemon(3) does): the directory
 * it was started from is nobody's business, so relative -s and -p paths are
 * made absolute first.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "activation.h"
#include "config.h"
#include "engine.h"
#include "transfer.h"
#include "log.h"
#include "policy.h"
#include "server.h"
#include "sq_harden.h"
#include "sq_ident.h"
#include "sq_os.h"
#include "sq_paths.h"

#ifndef SQ_VERSION
#define SQ_VERSION "0.0.0-dev"
#endif

static void usage(FILE *f)
{
	fprintf(f,
"usage: sysqd [options]\n"
"Serve system information and privileged operations over a UNIX socket\n"
"(msgpack-rpc; see sysqd(8) and PROTOCOL.md).\n"
"\n"
"  -s, --socket PATH        listen on PATH (default: %s as root;\n"
"                           otherwise $XDG_RUNTIME_DIR/sysq/sysqd.sock, or\n"
"                           /tmp/sysq-UID/sysqd.sock without XDG_RUNTIME_DIR)\n"
"  -v, --verbose            log more (-v connections, -vv every error)\n"
"      --log WHERE          auto (default), stderr or syslog\n"
"      --max-connections N  connections at once (default %u)\n"
"      --max-per-user N     connections at once from one non-root uid\n"
"                           (default %u)\n"
"      --max-fds-per-user N descriptors one non-root uid may make sysqd hold:\n"
"                           its connections and the processes it watches\n"
"                           (default %u, at most a quarter of what the\n"
"                           limit leaves after a reserve of %u)\n"
"      --max-inflight N     requests in flight per connection (default %u)\n"
"      --max-message BYTES  largest request (default %u)\n"
"      --max-output BYTES   replies queued to one client before it is\n"
"                           disconnected (default %u); at half of it, the\n"
"                           client is not read until they drain\n"
"      --write-timeout SECS disconnect a client whose queued replies have\n"
"                           not moved for SECS (default %u)\n"
"      --proc-events-buffer BYTES\n"
"                           the kernel's buffer for process events (default\n"
"                           8 MiB; a small one overflows in a burst, which\n"
"                           subscribers are told as a gap)\n"
"      --no-proc-events     do not open the kernel's process-events source:\n"
"                           watched pids cost a pidfd each, and events of\n"
"                           every process are refused\n"
"  -p, --policy FILE        policy file (default: " SQ_POLICY_DEFAULT_PATH " if it\n"
"                           exists, else the built-in policy)\n"
"  -t, --check-policy       validate the policy, print a summary and exit\n"
"  -h, --help               this text\n"
"  -V, --version            print the version\n"
"\n"
"Shares (fixed): off-loop work of one uid runs %u jobs at once (root %u),\n"
"%u requests or %u MiB more wait, then EAGAIN; %u engine threads at most;\n"
"%u file transfers per uid (root %u), %u in all.  Root, and whom the policy\n"
"names with `allow large-shares`, has root's shares.  sys.stats shows the use.\n",
	        sq_system_socket_path(),
	        SQ_DEFAULT_MAX_CONNS, SQ_DEFAULT_MAX_PER_UID, SQ_DEFAULT_FDS_PER_UID,
	        SQ_FD_RESERVE, SQ_DEFAULT_MAX_INFLIGHT, SQ_DEFAULT_MAX_MSG,
	        SQ_DEFAULT_MAX_OUTPUT, SQ_DEFAULT_WRITE_TIMEOUT, SQ_ENGINE_SHARE,
	        SQ_ENGINE_ROOT_SHARE, SQ_ENGINE_QUEUED, SQ_ENGINE_QUEUED_BYTES >> 20,
	        SQ_ENGINE_MAX_THREADS, SQ_XFER_PER_UID, SQ_XFER_PER_ROOT, SQ_XFER_MAX);
}

static unsigned long parse_num(const char *opt, const char *arg, unsigned long min,
                               unsigned long max)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(arg, &end, 10);
	if (errno || end == arg || *end || v < min || v > max) {
		fprintf(stderr, "sysqd: %s wants a number from %lu to %lu, not '%s'\n",
		        opt, min, max, arg);
		exit(2);
	}
	return v;
}

static const char *policy_path;   /* --policy (made absolute), or NULL */
static char policy_abs[PATH_MAX];
static bool check_policy;
static enum sq_log_dest log_dest = SQ_LOG_AUTO;

static void parse_args(int argc, char **argv, struct sq_config *cfg)
{
	enum { O_MAXCONN = 256, O_PERUID, O_INFLIGHT, O_MAXMSG, O_MAXOUT, O_WTIMEOUT, O_LOG, O_FDS,
	       O_PROCBUF, O_NOPROC };
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "max-connections", required_argument, NULL, O_MAXCONN },
		{ "max-per-user", required_argument, NULL, O_PERUID },
		{ "max-fds-per-user", required_argument, NULL, O_FDS },
		{ "max-inflight", required_argument, NULL, O_INFLIGHT },
		{ "max-message", required_argument, NULL, O_MAXMSG },
		{ "max-output", required_argument, NULL, O_MAXOUT },
		{ "write-timeout", required_argument, NULL, O_WTIMEOUT },
		{ "proc-events-buffer", required_argument, NULL, O_PROCBUF },
		{ "no-proc-events", no_argument, NULL, O_NOPROC },
		{ "policy", required_argument, NULL, 'p' },
		{ "check-policy", no_argument, NULL, 't' },
		{ "log", required_argument, NULL, O_LOG },
		{ NULL, 0, NULL, 0 },
	};
	int ch;
	while ((ch = getopt_long(argc, argv, "s:vhVp:t", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			if (strlen(optarg) >= sizeof(cfg->socket_path)) {
				fprintf(stderr, "sysqd: socket path longer than %zu bytes: %s\n",
				        sizeof(cfg->socket_path) - 1, optarg);
				exit(2);
			}
			strcpy(cfg->socket_path, optarg);
			break;
		case 'v':
			cfg->verbosity++;
			break;
		case 'p':
			policy_path = optarg;
			break;
		case 't':
			check_policy = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("sysqd %s (protocol %d)\n", SQ_VERSION, SQ_PROTOCOL_VERSION);
			exit(0);
		case O_MAXCONN:
			cfg->max_conns = (uint32_t)parse_num("--max-connections", optarg, 1, 1000000);
			break;
		case O_FDS:
			cfg->max_fds_per_uid = (uint32_t)parse_num("--max-fds-per-user", optarg, 1,
			                                           SQ_FD_WANT);
			break;
		case O_PERUID:
			cfg->max_per_uid = (uint32_t)parse_num("--max-per-user", optarg, 1, 1000000);
			break;
		case O_INFLIGHT:
			cfg->max_inflight = (uint32_t)parse_num("--max-inflight", optarg, 1, 65536);
			break;
		case O_MAXMSG:
			cfg->limits.max_msg = parse_num("--max-message", optarg, 64, 256u << 20);
			break;
		case O_WTIMEOUT:
			cfg->write_timeout_ms = 1000u * (uint32_t)parse_num("--write-timeout", optarg,
			                                                   1, 3600);
			break;
		case O_PROCBUF:
			cfg->proc_events_buffer = (uint32_t)parse_num("--proc-events-buffer", optarg,
			                                              1, 1u << 30);
			break;
		case O_NOPROC:
			cfg->no_proc_events = true;
			break;
		case O_MAXOUT:
			cfg->max_output = parse_num("--max-output", optarg, 4096, 1ul << 32);
			break;
		case O_LOG:
			if (strcmp(optarg, "auto") == 0)
				log_dest = SQ_LOG_AUTO;
			else if (strcmp(optarg, "stderr") == 0)
				log_dest = SQ_LOG_STDERR;
			else if (strcmp(optarg, "syslog") == 0)
				log_dest = SQ_LOG_SYSLOG;
			else {
				fprintf(stderr, "sysqd: --log wants auto, stderr or syslog, "
				        "not '%s'\n", optarg);
				exit(2);
			}
			break;
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "sysqd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		exit(2);
	}
}

/* A relative path, as the user meant it before the chdir("/"): prefixed
 * with the start directory (not realpath: a symlink swapped before a
 * SIGHUP must be followed then).  0, or -ENAMETOOLONG / -errno. */
static int absolute(const char *path, char *out, size_t size)
{
	char cwd[PATH_MAX];
	if (path[0] == '/')
		return snprintf(out, size, "%s", path) < (int)size ? 0 : -ENAMETOOLONG;
	if (!getcwd(cwd, sizeof(cwd)))
		return -errno;
	int n = snprintf(out, size, "%s/%s", strcmp(cwd, "/") == 0 ? "" : cwd, path);
	return n >= 0 && (size_t)n < size ? 0 : -ENAMETOOLONG;
}

/* Leave the start directory before anything is served: a thread of sysqd
 * resolving /proc/<sysqd>/cwd/... for a caller would otherwise reach below
 * it whatever the directories above allow.  Exits 1 or 2 on failure. */
static void leave_start_dir(struct sq_config *cfg)
{
	char sock[sizeof(cfg->socket_path)];
	int rc;
	if (cfg->socket_path[0] && cfg->socket_path[0] != '/') {
		if ((rc = absolute(cfg->socket_path, sock, sizeof(sock))) < 0) {
			fprintf(stderr, "sysqd: -s %s: %s once made absolute; give an absolute "
			        "path\n", cfg->socket_path, strerror(-rc));
			exit(2);
		}
		memcpy(cfg->socket_path, sock, sizeof(sock));
	}
	if (policy_path) {
		if ((rc = absolute(policy_path, policy_abs, sizeof(policy_abs))) < 0) {
			fprintf(stderr, "sysqd: -p %s: %s\n", policy_path, strerror(-rc));
			exit(2);
		}
		policy_path = policy_abs;
	}
	if (chdir("/") < 0) {
		fprintf(stderr, "sysqd: chdir /: %s\n", strerror(errno));
		exit(1);
	}
}

/* The policy named by --policy, else the default file if present, else the
 * built-in text.  NULL (with the reason logged) when it does not validate.
 * Blocks on the file system: at start, or on the pool (SIGHUP). */
static struct sq_policy *load_policy(void)
{
	char err[512];
	struct sq_policy *p;
	if (policy_path)
		p = sq_policy_load(policy_path, err, sizeof(err));
	else if (access(SQ_POLICY_DEFAULT_PATH, F_OK) == 0)
		p = sq_policy_load(SQ_POLICY_DEFAULT_PATH, err, sizeof(err));
	else
		p = sq_policy_parse(sq_policy_default_text, "built-in", err, sizeof(err));
	if (!p)
		sq_log(SQ_LOG_ERR, "policy: %s", err);
	return p;
}

/* SIGHUP: re-read what may change while sysqd runs, the policy.  The
 * listening socket, open connections and requests in flight are left alone;
 * a file that does not validate leaves the policy in force unchanged.  The
 * file is read in a job of sysqd's own on the worker engine, never on the
 * loop (it may sit on a slow file system); the new policy is installed on
 * the loop, in reload_after.
 * One reload at a time: a SIGHUP meanwhile asks for one more after it (the
 * file may have changed after it was read). */
static struct {
	struct sq_job job;
	struct sq_server *srv;
	struct sq_policy *p;  /* reload_work's result */
	bool running, again;
} reload;

static void start_reload(struct sq_server *s);

static void reload_work(struct sq_job *j)
{
	(void)j;
	reload.p = load_policy();
}

static void reload_after(struct sq_job *j, int status)
{
	(void)j;
	struct sq_policy *p = reload.p;
	reload.p = NULL;
	reload.running = false;
	if (status < 0) { /* cancelled: not read */
		sq_policy_free(p);
		p = NULL;
	}
	if (!p) {
		sq_log(SQ_LOG_ERR, "SIGHUP: keeping the policy in force (%s)",
		       sq_policy_source(sq_policy_current()));
	} else {
		sq_log(SQ_LOG_NOTICE, "SIGHUP: policy reloaded from %s (%zu rules)",
		       sq_policy_source(p), sq_policy_rules(p));
		sq_policy_set(p);
	}
	sq_notify("READY=1");
	if (reload.again && status == 0) {
		reload.again = false;
		start_reload(reload.srv);
	}
}

static void start_reload(struct sq_server *s)
{
	struct timespec now;
	char state[64];

	if (reload.running) {
		reload.again = true;
		return;
	}
	/* systemd's reload protocol: RELOADING=1 with the monotonic time, then
	 * READY=1 once done (systemctl reload waits for it with Type=notify-reload) */
	clock_gettime(CLOCK_MONOTONIC, &now);
	snprintf(state, sizeof(state), "RELOADING=1\nMONOTONIC_USEC=%llu",
	         (unsigned long long)now.tv_sec * 1000000ull +
	         (unsigned long long)now.tv_nsec / 1000ull);
	sq_notify(state);
	reload.srv = s;
	int rc = sq_engine_submit_own(s->engine, &reload.job, reload_work, reload_after);
	if (rc < 0) {
		sq_log(SQ_LOG_ERR, "SIGHUP: cannot start the reload (%s); keeping the policy "
		       "in force (%s)", strerror(-rc), sq_policy_source(sq_policy_current()));
		sq_notify("READY=1");
		return;
	}
	reload.running = true;
}

static void on_signal(uv_signal_t *h, int signum)
{
	struct sq_server *s = h->data;
	if (signum == SIGHUP) {
		start_reload(s);
		return;
	}
	sq_log(SQ_LOG_INFO, "%s: stopping", signum == SIGTERM ? "SIGTERM" : "SIGINT");
	sq_notify("STOPPING=1\nSTATUS=stopping");
	sq_server_stop(s);
}

static void watch_signal(struct sq_server *s, uv_signal_t *h, int signum)
{
	uv_signal_init(s->loop, h);
	h->data = s;
	uv_signal_start(h, on_signal, signum);
	uv_unref((uv_handle_t *)h);
}

int main(int argc, char **argv)
{
	static struct sq_server srv; /* large (read buffer): not on the stack */
	struct sq_config cfg = {
		.limits = sq_default_limits,
		.max_conns = SQ_DEFAULT_MAX_CONNS,
		.max_per_uid = SQ_DEFAULT_MAX_PER_UID,
		.max_inflight = SQ_DEFAULT_MAX_INFLIGHT,
		.max_output = SQ_DEFAULT_MAX_OUTPUT,
		.write_timeout_ms = 1000u * SQ_DEFAULT_WRITE_TIMEOUT,
	};
	parse_args(argc, argv, &cfg);
	leave_start_dir(&cfg);

	/* before any thread exists: both read and clean up the environment */
	struct sq_activation act;
	char act_err[256];
	sq_notify_init();
	int act_rc = sq_activation_get(&act, act_err, sizeof(act_err));
	bool launchd = act.manager && strcmp(act.manager, "launchd") == 0;
	sq_log_init(cfg.verbosity, log_dest, launchd);
	if (act_rc < 0) {
		sq_log(SQ_LOG_ERR, "not starting: %s", act_err);
		return 1;
	}
	if (act.note[0])
		sq_log(SQ_LOG_INFO, "%s", act.note);
	sq_ident_init();
	signal(SIGPIPE, SIG_IGN);

	struct sq_policy *policy = load_policy();
	if (!policy)
		return 1;
	if (check_policy) {
		printf("%s: OK, %zu rules\n", sq_policy_source(policy), sq_policy_rules(policy));
		sq_policy_free(policy);
		return 0;
	}
	sq_policy_set(policy);

	/* before the first thread: capability sets are per thread and inherited */
	char why[256];
	if (sq_harden_process(why, sizeof(why)) < 0) {
		sq_log(SQ_LOG_ERR, "cannot drop privileges: %s", why);
		return 1;
	}
	sq_log(SQ_LOG_INFO, "%s", sq_harden_summary());

	if (act.fd >= 0) {
		/* the manager owns the socket file: the server will not unlink it */
		if (cfg.socket_path[0] && strcmp(cfg.socket_path, act.path) != 0)
			sq_log(SQ_LOG_NOTICE, "serving the socket %s passed by %s; -s %s is not used",
			       act.path[0] ? act.path : "(unnamed)", act.manager, cfg.socket_path);
		snprintf(cfg.socket_path, sizeof(cfg.socket_path), "%s",
		         act.path[0] ? act.path : "(an unnamed socket)");
	} else if (cfg.socket_path[0] == '\0') {
		if (sq_default_socket_path(cfg.socket_path, sizeof(cfg.socket_path)) < 0) {
			sq_log(SQ_LOG_ERR, "default socket path too long; use -s");
			return 1;
		}
		int rc = sq_prepare_socket_dir(cfg.socket_path);
		if (rc < 0) {
			sq_log(SQ_LOG_ERR, "cannot prepare the directory of %s: %s",
			       cfg.socket_path, strerror(-rc));
			return 1;
		}
	}

	uv_loop_t *loop = uv_default_loop();
	/* caught before the socket answers: whoever sees it listen may signal */
	srv.loop = loop;
	watch_signal(&srv, &srv.sig_term, SIGTERM);
	watch_signal(&srv, &srv.sig_int, SIGINT);
	watch_signal(&srv, &srv.sig_hup, SIGHUP);
	if (sq_server_init(&srv, loop, &cfg, act.fd) < 0) {
		sq_log(SQ_LOG_ERR, "not starting: cannot listen on %s", cfg.socket_path);
		sq_notify_status("cannot listen on %s", cfg.socket_path);
		return 1;
	}
	sq_log(SQ_LOG_NOTICE, "sysqd %s listening on %s (uid %u, socket %s %s, logging to %s)",
	       SQ_VERSION, cfg.socket_path, (unsigned)geteuid(),
	       act.fd >= 0 ? "passed by" : "bound by", act.fd >= 0 ? act.manager : "sysqd",
	       sq_log_where());
	/* listening: connections from now on are accepted (or queue in the backlog) */
	int nrc = sq_notify("READY=1");
	if (nrc < 0)
		sq_log(SQ_LOG_WARN, "cannot notify the service manager (NOTIFY_SOCKET): %s",
		       strerror(-nrc));
	sq_notify_status("serving on %s", cfg.socket_path);

	uv_run(loop, UV_RUN_DEFAULT);

	bool stuck = sq_server_free(&srv);
	sq_policy_set(NULL);
	sq_log(SQ_LOG_INFO, "stopped");
	if (stuck)
		_exit(0); /* threads inside the kernel still hold their jobs: no exit-time
		           * teardown (atexit handlers, leak checks) may run under them */
	return 0;
}
