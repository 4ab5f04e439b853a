/* SPDX-License-Identifier: ISC */
/*
 * fuzz_request.c - libFuzzer harness for the whole request path: the input
 * bytes arrive on a real connection (a socketpair adopted by the server
 * with a fake peer), go through framing, dispatch, access checks, params
 * and the handlers, and the loop runs until the connection is gone.
 * Methods that change the system are denied by the harness's policy; when
 * run as root, the fake peer is uid 65534, so as-caller work runs as nobody.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <uv.h>

#include "log.h"
#include "methods.h"
#include "policy.h"
#include "server.h"
#include "sq_ident.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct sq_server srv;
static int ready;

/* Deny every method that changes something, where the method exists. */
static void install_policy(void)
{
	static const char *const dangerous[] = { "proc.signal", "xattr.set", "xattr.remove",
	                                         "net.mtu.set", "file.read", NULL };
	char text[1024] = "";
	for (const char *const *m = dangerous; *m; m++)
		if (sq_method_find(*m, strlen(*m))) {
			strcat(text, "deny ");
			strcat(text, *m);
			strcat(text, " everyone\n");
		}
	char err[256];
	struct sq_policy *p = sq_policy_parse(text, "fuzz", err, sizeof(err));
	if (!p) {
		fprintf(stderr, "fuzz policy: %s\n", err);
		abort();
	}
	sq_policy_set(p);
}

static void setup(void)
{
	struct sq_config cfg = {
		.limits = sq_default_limits,
		.max_conns = 16,
		.max_per_uid = 16,
		.max_inflight = 8,
		.max_output = 1u << 20,
	};
	sq_log_init(-2, SQ_LOG_STDERR, false); /* errors only */
	sq_ident_init();
	install_policy();
	sq_server_setup(&srv, uv_default_loop(), &cfg);
	ready = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!ready)
		setup();
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	gid_t groups[1] = { 65534 };
	struct sq_cred cred = { .pid = getpid(), .ngroups = 1, .groups = groups };
	cred.uid = sq_ident_can_switch() ? 65534 : getuid();
	cred.gid = sq_ident_can_switch() ? 65534 : getgid();
	if (sq_server_adopt(&srv, sv[0], &cred) < 0)
		abort();
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	size_t off = 0;
	char sink[65536];
	if (size == 0)
		shutdown(sv[1], SHUT_WR);
	while (off < size || srv.conns) {
		if (off < size) {
			ssize_t n = write(sv[1], data + off, size - off);
			if (n > 0)
				off += (size_t)n;
			else if (n < 0 && errno != EAGAIN)
				off = size; /* the daemon closed on us */
			if (off == size)
				shutdown(sv[1], SHUT_WR);
		}
		uv_run(srv.loop, UV_RUN_NOWAIT);
		while (read(sv[1], sink, sizeof(sink)) > 0)
			;
		if (off == size && srv.conns)
			uv_run(srv.loop, UV_RUN_ONCE);
	}
	close(sv[1]);
	return 0;
}
