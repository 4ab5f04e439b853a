/* SPDX-License-Identifier: ISC */
/*
 * m_net.c - the net.* methods: net.list, net.mtu.get and net.mtu.set.
 * All run on workers as the daemon: interface information is anyone's to
 * read, and changing an MTU is root-only by the method table (or whom the
 * policy grants it).  Every set that reaches the kernel, taken or refused,
 * is logged with the caller's uid and pid.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "handlers.h"
#include "log.h"
#include "request.h"
#include "sq_net.h"
#include "sq_utf8.h"

/* One MTU change at a time, so that each caller's "previous" is what its
 * own change replaced (among sysqd's callers). */
static pthread_mutex_t mtu_lock = PTHREAD_MUTEX_INITIALIZER;

/* Interface names are the system's bytes: str when UTF-8, else bin. */
static void pack_name(msgpack_packer *pk, const char *name)
{
	size_t n = strlen(name);
	sq_pack_text(pk, name, n);
}

/* A name for messages and the log: bytes outside printable ASCII as \xNN. */
static const char *name_text(const char *name, char *buf, size_t size)
{
	return sq_text_show(buf, size, name, strlen(name), SQ_SHOW_HEX);
}

/* The name's type was checked with the params (methods.c); its shape here. */
static int get_name(struct sq_req *r, const char **name)
{
	const char *ptr;
	size_t len;
	int rc = sq_param_bytes(&r->params, "name", true, &ptr, &len);
	if (rc < 0)
		return sq_req_param_error(r, rc);
	if (sq_net_check_name(ptr, len) < 0)
		return sq_req_fail(r, -EINVAL,
		                   "param 'name' is not an interface name: 1 to %d bytes, "
		                   "none of them NUL, '/', ':' or white space (got %zu bytes)",
		                   IFNAMSIZ - 1, len);
	char *s = msgpack_zone_malloc_no_align(r->zone, len + 1);
	if (!s)
		return -ENOMEM;
	memcpy(s, ptr, len);
	s[len] = '\0';
	*name = s;
	return 0;
}

/* What the kernel told beyond the basics: counters, state, carrier, MTU range. */
static uint32_t link_keys(const struct sq_net_if *ifp)
{
	return (ifp->stats_have != 0) + (ifp->operstate != NULL) + ifp->has_carrier +
	       ifp->has_min_mtu + ifp->has_max_mtu;
}

static void pack_link(msgpack_packer *pk, const struct sq_net_if *ifp)
{
	if (ifp->stats_have) {
		sq_pack_cstr(pk, "stats");
		msgpack_pack_map(pk, (uint32_t)__builtin_popcount(ifp->stats_have));
		for (unsigned i = 0; i < SQ_NET_NSTATS; i++)
			if (ifp->stats_have & (1u << i))
				sq_pack_kv_u64(pk, sq_net_stat_name(i), ifp->stats[i]);
	}
	if (ifp->operstate)
		sq_pack_kv_str(pk, "operstate", ifp->operstate);
	if (ifp->has_carrier)
		sq_pack_kv_bool(pk, "carrier", ifp->carrier);
	if (ifp->has_min_mtu)
		sq_pack_kv_i64(pk, "min_mtu", ifp->min_mtu);
	if (ifp->has_max_mtu)
		sq_pack_kv_i64(pk, "max_mtu", ifp->max_mtu);
}

static void pack_if(msgpack_packer *pk, const struct sq_net_if *ifp)
{
	char mac[24];
	msgpack_pack_map(pk, 6 + link_keys(ifp));
	sq_pack_cstr(pk, "name");
	pack_name(pk, ifp->name);
	sq_pack_kv_u64(pk, "index", ifp->index);
	sq_pack_cstr(pk, "mtu");
	if (ifp->mtu >= 0)
		msgpack_pack_int64(pk, ifp->mtu);
	else
		msgpack_pack_nil(pk);
	size_t nflags = 0;
	for (unsigned b = 0; b < SQ_NET_NFLAGS; b++)
		nflags += (ifp->flags >> b) & 1u;
	sq_pack_cstr(pk, "flags");
	msgpack_pack_array(pk, nflags);
	for (unsigned b = 0; b < SQ_NET_NFLAGS; b++)
		if (ifp->flags & (1u << b))
			sq_pack_cstr(pk, sq_net_flag_name(1u << b));
	sq_pack_cstr(pk, "mac");
	if (ifp->has_mac) {
		sq_net_format_mac(ifp->mac, mac, sizeof(mac));
		sq_pack_cstr(pk, mac);
	} else {
		msgpack_pack_nil(pk);
	}
	sq_pack_cstr(pk, "addrs");
	msgpack_pack_array(pk, ifp->naddrs);
	for (size_t i = 0; i < ifp->naddrs; i++) {
		const struct sq_net_addr *a = &ifp->addrs[i];
		msgpack_pack_map(pk, 3);
		sq_pack_kv_str(pk, "family", a->family == AF_INET ? "inet" : "inet6");
		sq_pack_kv_str(pk, "addr", a->addr);
		sq_pack_kv_u64(pk, "prefixlen", a->prefixlen);
	}
	pack_link(pk, ifp);
}

int m_net_list(struct sq_req *r)
{
	struct sq_net_list l;
	int rc = sq_net_list(&l);
	if (rc < 0)
		return sq_req_fail(r, rc, "cannot list the network interfaces: %s",
		                   strerror(-rc));
	msgpack_pack_map(&r->pk, 1);
	sq_pack_cstr(&r->pk, "interfaces");
	msgpack_pack_array(&r->pk, l.n);
	for (size_t i = 0; i < l.n; i++)
		pack_if(&r->pk, &l.ifs[i]);
	sq_net_list_free(&l);
	return 0;
}

/* The wire error for a failed get/set on a well-formed name. */
static int if_error(struct sq_req *r, int rc, const char *name)
{
	char nm[IFNAMSIZ * 4 + 1];
	if (rc == -ENODEV || rc == -ENXIO)
		return sq_req_fail(r, -ENODEV, "no network interface named '%s'",
		                   name_text(name, nm, sizeof(nm)));
	return sq_req_fail(r, rc, "interface '%s': %s", name_text(name, nm, sizeof(nm)),
	                   strerror(-rc));
}

int m_net_mtu_get(struct sq_req *r)
{
	const char *name;
	int mtu;
	int rc;
	if ((rc = get_name(r, &name)) < 0)
		return rc;
	rc = sq_net_mtu_get(name, &mtu);
	if (rc < 0)
		return if_error(r, rc, name);
	msgpack_pack_map(&r->pk, 1);
	sq_pack_kv_i64(&r->pk, "mtu", mtu);
	return 0;
}

int m_net_mtu_set(struct sq_req *r)
{
	const char *name;
	/* in the method table's 0..2^31-1; then the interface's own range,
	 * where the kernel tells it (else the kernel's check alone stands) */
	int64_t want = sq_params_int(&r->params, r->m->params, "mtu");
	int previous = -1, now = -1, min, max;
	char nm[IFNAMSIZ * 4 + 1];
	int rc;
	if ((rc = get_name(r, &name)) < 0)
		return rc;
	rc = sq_net_mtu_range(name, &min, &max);
	if (rc == -ENODEV)
		return if_error(r, rc, name);
	if (rc == 0 && ((min >= 0 && want < min) || (max >= 0 && want > max))) {
		char range[48];
		if (max >= 0)
			snprintf(range, sizeof(range), "%d..%d", min < 0 ? 0 : min, max);
		else
			snprintf(range, sizeof(range), "%d and up", min);
		name_text(name, nm, sizeof(nm));
		sq_log(SQ_LOG_NOTICE, "net.mtu.set: %s mtu %lld by uid %u pid %d refused: outside "
		       "%s", nm, (long long)want, (unsigned)r->cred->uid, (int)r->cred->pid, range);
		return sq_req_fail(r, -EINVAL, "MTU %lld is outside the range '%s' takes: %s "
		                   "(its driver's, as the kernel tells it)", (long long)want, nm,
		                   range);
	}

	pthread_mutex_lock(&mtu_lock);
	rc = sq_net_mtu_set(name, (int)want, &previous, &now);
	pthread_mutex_unlock(&mtu_lock);

	name_text(name, nm, sizeof(nm));
	if (rc < 0) {
		sq_log(SQ_LOG_NOTICE, "net.mtu.set: %s mtu %lld by uid %u pid %d failed: %s",
		       nm, (long long)want, (unsigned)r->cred->uid, (int)r->cred->pid,
		       strerror(-rc));
		if (rc == -EINVAL)
			return sq_req_fail(r, rc, "the kernel refused MTU %lld for '%s' "
			                   "(EINVAL: outside the range this interface supports)",
			                   (long long)want, nm);
		if (rc == -EPERM || rc == -EACCES)
			return sq_req_fail(r, rc, "sysqd may not change the MTU of '%s': %s "
			                   "(it needs CAP_NET_ADMIN / root)", nm, strerror(-rc));
		return if_error(r, rc, name);
	}
	sq_log(SQ_LOG_NOTICE, "net.mtu.set: %s mtu %d -> %d by uid %u pid %d", nm,
	       previous, now, (unsigned)r->cred->uid, (int)r->cred->pid);
	msgpack_pack_map(&r->pk, 2);
	sq_pack_kv_i64(&r->pk, "mtu", now);
	sq_pack_kv_i64(&r->pk, "previous", previous);
	return 0;
}
