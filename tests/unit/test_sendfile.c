/* SPDX-License-Identifier: ISC */
/*
 * test_sendfile.c - lib/ for bulk transfers in isolation: sq_sendfile over
 * an AF_UNIX socket pair (exact ranges, end of file, a full non-blocking
 * socket, a closed peer) and sq_file_open_read (regular files only, with
 * typed refusals, never blocking on a FIFO).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sq_file.h"
#include "sq_sendfile.h"

#define FSIZE (256u * 1024u + 7u)

static char dir[64];
static char path[128];
static unsigned char *content;

static void setup(void)
{
	signal(SIGPIPE, SIG_IGN);
	snprintf(dir, sizeof(dir), "/tmp/sysq-unit-sf.XXXXXX");
	cr_assert(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/data", dir);
	content = malloc(FSIZE);
	cr_assert(content);
	for (size_t i = 0; i < FSIZE; i++)
		content[i] = (unsigned char)(i * 131u + (i >> 9));
	FILE *f = fopen(path, "we");
	cr_assert(f);
	cr_assert_eq(fwrite(content, 1, FSIZE, f), FSIZE);
	fclose(f);
}

static void teardown(void)
{
	char cmd[160];
	free(content);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_expect_eq(system(cmd), 0);
}

TestSuite(sendfile, .init = setup, .fini = teardown, .timeout = 30);

/* Receive exactly n bytes from s. */
static void recv_exact(int s, unsigned char *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t k = recv(s, buf + got, n - got, 0);
		cr_assert_gt(k, 0, "recv: %s", k < 0 ? strerror(errno) : "EOF");
		got += (size_t)k;
	}
}

/* Send [off, off+len) completely while the peer reads it; check the bytes. */
static void send_and_check(int fd, off_t off, size_t len)
{
	int sp[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	unsigned char *got = malloc(len ? len : 1);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) { /* the sender; the parent reads */
		close(sp[1]);
		size_t sent = 0;
		while (sent < len) {
			ssize_t k = sq_sendfile(sp[0], fd, off + (off_t)sent, len - sent);
			if (k <= 0)
				_exit(10);
			sent += (size_t)k;
		}
		_exit(0);
	}
	close(sp[0]);
	recv_exact(sp[1], got, len);
	int st;
	waitpid(pid, &st, 0);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "sender failed");
	cr_assert_eq(memcmp(got, content + off, len), 0, "bytes differ for [%lld, +%zu)",
	             (long long)off, len);
	close(sp[1]);
	free(got);
}

Test(sendfile, sends_exact_ranges_and_leaves_the_file_position_alone)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	send_and_check(fd, 0, FSIZE);
	send_and_check(fd, 1, 1);
	send_and_check(fd, 4095, 4097);
	send_and_check(fd, FSIZE - 1, 1);
	send_and_check(fd, 12345, 100000);
	cr_assert_eq(lseek(fd, 0, SEEK_CUR), 0, "sq_sendfile moved the file position");
	close(fd);
}

Test(sendfile, end_of_file_and_zero_length_return_0)
{
	int sp[2];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	cr_assert_eq(sq_sendfile(sp[0], fd, FSIZE, 10), 0);
	cr_assert_eq(sq_sendfile(sp[0], fd, FSIZE + 4096, 10), 0);
	cr_assert_eq(sq_sendfile(sp[0], fd, 0, 0), 0);
	/* asking past the end sends only what is there */
	cr_assert_eq(sq_sendfile(sp[0], fd, FSIZE - 10, 100), 10);
	unsigned char buf[10];
	recv_exact(sp[1], buf, 10);
	cr_assert_eq(memcmp(buf, content + FSIZE - 10, 10), 0);
	close(sp[0]);
	close(sp[1]);
	close(fd);
}

Test(sendfile, full_nonblocking_socket_says_eagain)
{
	int sp[2];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	fcntl(sp[0], F_SETFL, fcntl(sp[0], F_GETFL) | O_NONBLOCK);
	int small = 4096;
	setsockopt(sp[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	size_t total = 0;
	ssize_t k = 0;
	for (int i = 0; i < 10000; i++) {
		k = sq_sendfile(sp[0], fd, (off_t)(total % (FSIZE / 2)), FSIZE / 2);
		if (k <= 0)
			break;
		total += (size_t)k;
	}
	cr_assert_eq(k, -EAGAIN, "expected -EAGAIN from a full socket, got %zd", k);
	cr_assert_gt(total, 0);
	cr_assert_lt(total, (size_t)10000 * (FSIZE / 2), "the socket never filled");
	close(sp[0]);
	close(sp[1]);
	close(fd);
}

Test(sendfile, closed_peer_and_bad_descriptors_are_errors)
{
	int sp[2];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	close(sp[1]);
	cr_assert_eq(sq_sendfile(sp[0], fd, 0, 100), -EPIPE);
	close(sp[0]);
	cr_assert_lt(sq_sendfile(sp[0], fd, 0, 100), 0, "a closed socket descriptor");
	cr_assert_lt(sq_sendfile(-1, fd, 0, 100), 0);
	close(fd);
}

/* ---- sq_file_open_read ------------------------------------------------ */

Test(sendfile, open_read_gives_a_blocking_cloexec_descriptor_and_the_size)
{
	struct sq_file_info info;
	int fd = sq_file_open_read(path, false, &info);
	cr_assert_geq(fd, 0, "open: %s", strerror(-fd));
	cr_assert_eq(info.size, FSIZE);
	cr_assert(S_ISREG(info.mode));
	cr_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	cr_assert_eq(fcntl(fd, F_GETFL) & O_NONBLOCK, 0, "O_NONBLOCK left set");
	cr_assert_eq(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY);
	close(fd);

	char empty[160];
	snprintf(empty, sizeof(empty), "%s/empty", dir);
	close(open(empty, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
	fd = sq_file_open_read(empty, true, &info);
	cr_assert_geq(fd, 0);
	cr_assert_eq(info.size, 0);
	close(fd);
}

Test(sendfile, open_read_refuses_what_is_not_a_regular_file_by_kind)
{
	struct sq_file_info info;
	char p[160];

	cr_assert_eq(sq_file_open_read(dir, false, &info), -EISDIR);
	cr_assert(S_ISDIR(info.mode));
	cr_assert_str_eq(sq_file_kind(info.mode), "a directory");

	/* a FIFO with no writer: refused at once, never blocks */
	snprintf(p, sizeof(p), "%s/fifo", dir);
	cr_assert_eq(mkfifo(p, 0644), 0);
	cr_assert_eq(sq_file_open_read(p, false, &info), -ENOTSUP);
	cr_assert_str_eq(sq_file_kind(info.mode), "a FIFO");

	cr_assert_eq(sq_file_open_read("/dev/null", false, &info), -ENOTSUP);
	cr_assert_str_eq(sq_file_kind(info.mode), "a character device");

	snprintf(p, sizeof(p), "%s/missing", dir);
	cr_assert_eq(sq_file_open_read(p, false, &info), -ENOENT);
}

Test(sendfile, open_read_nofollow_refuses_a_final_symlink_only)
{
	struct sq_file_info info;
	char link[160], sub[160], via[200];
	snprintf(link, sizeof(link), "%s/link", dir);
	cr_assert_eq(symlink(path, link), 0);

	int fd = sq_file_open_read(link, false, &info);
	cr_assert_geq(fd, 0, "following: %s", strerror(-fd));
	cr_assert_eq(info.size, FSIZE);
	close(fd);

	cr_assert_eq(sq_file_open_read(link, true, &info), -ELOOP);
	cr_assert(S_ISLNK(info.mode));

	/* a symlink to a FIFO is judged by its target */
	snprintf(sub, sizeof(sub), "%s/fifo2", dir);
	cr_assert_eq(mkfifo(sub, 0644), 0);
	snprintf(via, sizeof(via), "%s/tofifo", dir);
	cr_assert_eq(symlink(sub, via), 0);
	cr_assert_eq(sq_file_open_read(via, false, &info), -ENOTSUP);
	cr_assert_str_eq(sq_file_kind(info.mode), "a FIFO");
}
