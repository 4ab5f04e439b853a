/* SPDX-License-Identifier: ISC */
/*
 * errno.c - the errno <-> name table behind sq_errno_name().
 *
 * Portable: each entry is compiled only where the OS defines the constant.
 * Order matters where two names share a value on one OS (Linux ENOTSUP ==
 * EOPNOTSUPP, EWOULDBLOCK == EAGAIN): the first entry names the value.
 */
#include <errno.h>
#include <string.h>

#include "sq_errno.h"

struct entry {
	int value;
	const char *name;
};

#define E(x) { x, #x },
static const struct entry table[] = {
	E(EPERM) E(ENOENT) E(ESRCH) E(EINTR) E(EIO) E(ENXIO) E(E2BIG) E(ENOEXEC)
	E(EBADF) E(ECHILD) E(EAGAIN) E(ENOMEM) E(EACCES) E(EFAULT) E(EBUSY)
	E(EEXIST) E(EXDEV) E(ENODEV) E(ENOTDIR) E(EISDIR) E(EINVAL) E(ENFILE)
	E(EMFILE) E(ENOTTY) E(ETXTBSY) E(EFBIG) E(ENOSPC) E(ESPIPE) E(EROFS)
	E(EMLINK) E(EPIPE) E(EDOM) E(ERANGE) E(EDEADLK) E(ENAMETOOLONG) E(ENOLCK)
	E(ENOSYS) E(ENOTEMPTY) E(ELOOP) E(ENOMSG) E(EIDRM) E(EPROTO)
	E(EBADMSG) E(EOVERFLOW) E(EILSEQ) E(ENOTSOCK) E(EDESTADDRREQ)
	E(EMSGSIZE) E(EPROTOTYPE) E(ENOPROTOOPT) E(EPROTONOSUPPORT)
	E(ENOTSUP) E(EOPNOTSUPP) E(EAFNOSUPPORT) E(EADDRINUSE) E(EADDRNOTAVAIL)
	E(ENETDOWN) E(ENETUNREACH) E(ENETRESET) E(ECONNABORTED) E(ECONNRESET)
	E(ENOBUFS) E(EISCONN) E(ENOTCONN) E(ETIMEDOUT) E(ECONNREFUSED)
	E(EHOSTUNREACH) E(EALREADY) E(EINPROGRESS) E(ESTALE) E(EDQUOT)
	E(ECANCELED) E(EOWNERDEAD) E(ENOTRECOVERABLE)
#ifdef ENOATTR
	E(ENOATTR)
#endif
#ifdef ENODATA
	E(ENODATA)
#endif
#ifdef ETIME
	E(ETIME)
#endif
#ifdef EHOSTDOWN
	E(EHOSTDOWN)
#endif
#ifdef ESHUTDOWN
	E(ESHUTDOWN)
#endif
#ifdef ETOOMANYREFS
	E(ETOOMANYREFS)
#endif
#ifdef ESOCKTNOSUPPORT
	E(ESOCKTNOSUPPORT)
#endif
#ifdef EPFNOSUPPORT
	E(EPFNOSUPPORT)
#endif
#ifdef EUSERS
	E(EUSERS)
#endif
#ifdef EMULTIHOP
	E(EMULTIHOP)
#endif
#ifdef ENOLINK
	E(ENOLINK)
#endif
#ifdef ENOMEDIUM
	E(ENOMEDIUM)
#endif
#ifdef EMEDIUMTYPE
	E(EMEDIUMTYPE)
#endif
#ifdef EAUTH
	E(EAUTH)
#endif
#ifdef ENEEDAUTH
	E(ENEEDAUTH)
#endif
#ifdef EPROCLIM
	E(EPROCLIM)
#endif
#ifdef EBADRPC
	E(EBADRPC)
#endif
#ifdef EFTYPE
	E(EFTYPE)
#endif
#ifdef ENOPOLICY
	E(ENOPOLICY)
#endif
#ifdef EQFULL
	E(EQFULL)
#endif
#ifdef ERFKILL
	E(ERFKILL)
#endif
#ifdef EKEYREJECTED
	E(EKEYREJECTED)
#endif
#ifdef EREMOTEIO
	E(EREMOTEIO)
#endif
#ifdef ENOKEY
	E(ENOKEY)
#endif
};
#undef E

const char *sq_errno_name(int err)
{
	/* compare both signs rather than negate: -INT_MIN overflows */
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (table[i].value == err || -table[i].value == err)
			return table[i].name;
	return "EUNKNOWN";
}

int sq_errno_from_name(const char *name)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (strcmp(table[i].name, name) == 0)
			return table[i].value;
	return 0;
}
