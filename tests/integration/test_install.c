/* SPDX-License-Identifier: ISC */
/*
 * test_install.c - `make install-files` into a DESTDIR with PREFIX=/usr:
 * each file in place with its mode (binaries, man pages, service files, the
 * policy, libsysq shared and static with its header and sysq.pc, the Python
 * package, shell completions when there are some), the shared library
 * exporting only what libsysq.h declares, uninstall removing it all; and
 * README's C and Python examples built against that install and run
 * against a private sysqd.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <glob.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static char dir[64];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/sysq-inst.XXXXXX");
	cr_assert(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
	chmod(dir, 0755);
}

static void teardown(void)
{
	if (!dir[0])
		return;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_expect_eq(system(cmd), 0);
	dir[0] = '\0';
}

TestSuite(install, .init = setup, .fini = teardown, .timeout = 120);

static void in_dir(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", dir, name);
}

/* Run a shell command (printf-style) with its output into log; its status. */
__attribute__((format(printf, 2, 3)))
static int sh(const char *log, const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	va_start(ap, fmt);
	cmd[0] = '(';
	int n = vsnprintf(cmd + 1, sizeof(cmd) - 200, fmt, ap);
	va_end(ap);
	cr_assert(n > 0 && (size_t)n < sizeof(cmd) - 200, "command too long");
	n++;
	snprintf(cmd + n, sizeof(cmd) - (size_t)n, ") >'%s' 2>&1", log); /* its own > wins */
	int st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* The build variant under test: the directory SQ_SYSQ (the CLI) lives in,
 * even when sysqd is wrapped (make valgrind, make test-confined). */
static void variant(char *buf, size_t size)
{
	const char *bin = getenv("SQ_SYSQ");
	cr_assert(bin && getenv("SQ_TOP"), "SQ_TOP and SQ_SYSQ come from tests/run-all.sh");
	const char *end = strrchr(bin, '/');
	const char *start = end;
	while (start && start > bin && start[-1] != '/')
		start--;
	cr_assert(end && start && end > start && (size_t)(end - start) < size);
	snprintf(buf, size, "%.*s", (int)(end - start), start);
}

/* make TARGET DESTDIR=dest PREFIX=/usr [extra] for the variant under test;
 * env -u: the outer make's jobserver descriptors are not ours. */
static void make(const char *target, const char *dest, const char *extra)
{
	char v[64], log[128];
	variant(v, sizeof(v));
	in_dir(log, sizeof(log), "make.log");
	int rc = sh(log, "env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C '%s' %s BUILD='%s' "
	            "DESTDIR='%s' PREFIX=/usr %s", getenv("SQ_TOP"), target, v, dest, extra);
	char *text = slurp(log);
	cr_assert_eq(rc, 0, "make %s failed:\n%s", target, text);
	free(text);
}

static int count_files(const char *top)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "find '%s' ! -type d | wc -l", top);
	FILE *p = popen(cmd, "r");
	cr_assert(p);
	int n = -1;
	if (fscanf(p, "%d", &n) != 1)
		n = -1;
	pclose(p);
	return n;
}

static void expect_file(const char *dest, const char *path, mode_t mode)
{
	char full[512];
	struct stat st;
	snprintf(full, sizeof(full), "%s%s", dest, path);
	cr_assert_eq(lstat(full, &st), 0, "not installed: %s", path);
	cr_expect(S_ISREG(st.st_mode), "%s is not a regular file", path);
	cr_expect_eq(st.st_mode & 07777, mode, "%s has mode %o", path,
	             (unsigned)(st.st_mode & 07777));
}

/* Where the package went: the one sysq/__init__.py under dest (on Debian,
 * PREFIX=/usr means /usr/lib/python3/dist-packages); its directory. */
static void python_dir(const char *dest, char *buf, size_t size)
{
	char pat[256];
	glob_t g;
	snprintf(pat, sizeof(pat), "%s/usr/lib/python3*/*-packages/sysq/__init__.py", dest);
	cr_assert_eq(glob(pat, 0, NULL, &g), 0, "no sysq/__init__.py under %s/usr/lib", dest);
	cr_expect_eq(g.gl_pathc, 1, "the package is installed %zu times", g.gl_pathc);
	size_t n = strlen(g.gl_pathv[0]) - strlen("/sysq/__init__.py");
	cr_assert(n < size);
	snprintf(buf, size, "%.*s", (int)n, g.gl_pathv[0]);
#ifdef __linux__
	struct stat st;
	if (stat("/usr/lib/python3/dist-packages", &st) == 0) /* Debian's system Python */
		cr_expect(strstr(buf, "/usr/lib/python3/dist-packages"), "installed in %s", buf);
#endif
	globfree(&g);
}

/* Whether the tree's completions directory has one of two files (the
 * Makefile's choice of a completion script: the first that exists). */
static bool completion_in_tree(const char *a, const char *b)
{
	char path[512];
	struct stat st;
	snprintf(path, sizeof(path), "%s/completions/%s", getenv("SQ_TOP"), a);
	if (stat(path, &st) == 0)
		return true;
	snprintf(path, sizeof(path), "%s/completions/%s", getenv("SQ_TOP"), b);
	return stat(path, &st) == 0;
}

#ifdef __APPLE__
#define SHLIB "/usr/lib/libsysq.0.dylib"
#define SHLINK "/usr/lib/libsysq.dylib"
#define LIBPATH "DYLD_LIBRARY_PATH"
#define LIBS_OF "otool -L"
#else
#define SHLIB "/usr/lib/libsysq.so.0"
#define SHLINK "/usr/lib/libsysq.so"
#define LIBPATH "LD_LIBRARY_PATH"
#define LIBS_OF "ldd"
#endif

Test(install, make_install_puts_each_file_in_place_and_uninstall_removes_them)
{
	char dest[128], path[512];
	in_dir(dest, sizeof(dest), "dest");
	make("install-files", dest, "");

	static const struct { const char *path; mode_t mode; } want[] = {
		{ "/usr/sbin/sysqd", 0755 },
		{ "/usr/bin/sysq", 0755 },
		{ "/usr/share/man/man8/sysqd.8", 0644 },
		{ "/usr/share/man/man1/sysq.1", 0644 },
		{ "/usr/share/man/man7/sysq-protocol.7", 0644 },
		{ "/etc/sysq/policy.conf", 0644 },
		{ "/usr/include/libsysq.h", 0644 },
		{ SHLIB, 0755 },
		{ "/usr/lib/libsysq.a", 0644 },
		{ "/usr/lib/pkgconfig/sysq.pc", 0644 },
#ifdef __APPLE__
		{ "/Library/LaunchDaemons/com.sysq.sysqd.plist", 0644 },
		{ "/Library/LaunchDaemons/com.sysq.metrics.plist", 0644 },
#else
		{ "/usr/lib/systemd/system/sysqd.service", 0644 },
		{ "/usr/lib/systemd/system/sysqd.socket", 0644 },
		{ "/usr/lib/systemd/system/sysq-metrics.service", 0644 },
		{ "/usr/lib/systemd/system/sysq-metrics.timer", 0644 },
		{ "/usr/lib/systemd/system/sysq-metrics-http.service", 0644 },
#endif
	};
	int nwant = (int)(sizeof(want) / sizeof(want[0]));
	for (int i = 0; i < nwant; i++)
		expect_file(dest, want[i].path, want[i].mode);

	/* the development link names the versioned library */
	char target[64] = "";
	snprintf(path, sizeof(path), "%s%s", dest, SHLINK);
	ssize_t n = readlink(path, target, sizeof(target) - 1);
	cr_expect(n > 0 && strcmp(target, strrchr(SHLIB, '/') + 1) == 0,
	          "%s should be a link to %s (is '%s')", SHLINK, strrchr(SHLIB, '/') + 1, target);
	nwant++;

	/* the Python package: every module of the tree's python/sysq/ */
	char pydir[256];
	python_dir(dest, pydir, sizeof(pydir));
	glob_t g;
	snprintf(path, sizeof(path), "%s/python/sysq/*.py", getenv("SQ_TOP"));
	cr_assert_eq(glob(path, 0, NULL, &g), 0);
	for (size_t i = 0; i < g.gl_pathc; i++) {
		char mod[512];
		snprintf(mod, sizeof(mod), "%s/sysq/%s", pydir + strlen(dest),
		         strrchr(g.gl_pathv[i], '/') + 1);
		expect_file(dest, mod, 0644);
		nwant++;
	}
	globfree(&g);

	/* completions, when the tree has them */
	if (completion_in_tree("sysq.bash", "sysq")) {
		expect_file(dest, "/usr/share/bash-completion/completions/sysq", 0644);
		nwant++;
	}
	if (completion_in_tree("_sysq", "sysq.zsh")) {
		expect_file(dest, "/usr/share/zsh/vendor-completions/_sysq", 0644);
		nwant++;
	}
	cr_expect_eq(count_files(dest), nwant, "only the expected files are installed");

#ifndef __APPLE__
	/* the unit runs the binary installed for this PREFIX */
	snprintf(path, sizeof(path), "%s/usr/lib/systemd/system/sysqd.service", dest);
	char *unit = slurp(path);
	cr_expect(strstr(unit, "\nExecStart=/usr/sbin/sysqd\n"), "ExecStart:\n%s", unit);
	free(unit);
#endif
	/* sysq.pc says where it was installed */
	snprintf(path, sizeof(path), "%s/usr/lib/pkgconfig/sysq.pc", dest);
	char *pc = slurp(path);
	cr_expect(strstr(pc, "prefix=/usr\n") && strstr(pc, "Libs: -L${libdir} -lsysq"),
	          "sysq.pc:\n%s", pc);
	free(pc);

	/* the installed daemon runs */
	char log[128];
	in_dir(log, sizeof(log), "out");
	cr_expect_eq(sh(log, "'%s/usr/sbin/sysqd' --version", dest), 0);
	char *ver = slurp(log);
	cr_expect(strncmp(ver, "sysqd ", 6) == 0, "--version said: %s", ver);
	free(ver);

	make("uninstall", dest, "");
	cr_expect_eq(count_files(dest), 0, "files left after uninstall");
}

Test(install, completions_are_installed_when_the_tree_has_them)
{
	char dest[128], src[128], path[256];
	in_dir(dest, sizeof(dest), "dest");
	in_dir(src, sizeof(src), "completions");
	cr_assert_eq(mkdir(src, 0755), 0);
	static const char *const files[] = { "sysq.bash", "_sysq" };
	for (size_t i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s", src, files[i]);
		FILE *f = fopen(path, "w");
		cr_assert(f);
		fprintf(f, "# %s\n", files[i]);
		fclose(f);
	}
	char extra[192];
	snprintf(extra, sizeof(extra), "COMPLETIONS='%s'", src);
	make("install-files", dest, extra);
	expect_file(dest, "/usr/share/bash-completion/completions/sysq", 0644);
	expect_file(dest, "/usr/share/zsh/vendor-completions/_sysq", 0644);
	snprintf(path, sizeof(path), "%s/usr/share/zsh/vendor-completions/_sysq", dest);
	char *text = slurp(path);
	cr_expect_str_eq(text, "# _sysq\n");
	free(text);
	make("uninstall", dest, extra);
	cr_expect_eq(count_files(dest), 0, "files left after uninstall");
}

#ifdef __linux__
/* What the exported dynamic symbols and libsysq.h's functions are. */
Test(install, the_shared_library_exports_only_what_libsysq_h_declares)
{
	char dest[128], log[128];
	in_dir(dest, sizeof(dest), "dest");
	in_dir(log, sizeof(log), "out");
	make("install-files", dest, "");
	cr_assert_eq(sh(log, "objdump -p '%s" SHLIB "' | grep -q 'SONAME *libsysq.so.0$'", dest),
	             0, "no SONAME libsysq.so.0");
	char exported[128], declared[128];
	in_dir(exported, sizeof(exported), "exported");
	in_dir(declared, sizeof(declared), "declared");
	cr_assert_eq(sh(log, "nm -D --defined-only '%s" SHLIB "' | awk '{print $3}' | sort "
	                ">'%s'", dest, exported), 0);
	cr_assert_eq(sh(log, "grep -v '^ \\*' '%s/usr/include/libsysq.h' | "
	                "grep -o 'sysq_[a-z0-9_]*(' | tr -d '(' | sort -u >'%s'", dest, declared),
	             0);
	int rc = sh(log, "diff '%s' '%s'", declared, exported);
	char *text = slurp(log);
	cr_expect_eq(rc, 0, "declared (<) vs exported (>):\n%s", text);
	free(text);
	text = slurp(declared);
	cr_expect(strstr(text, "sysq_connect\n") && strstr(text, "sysq_call_end\n"), "%s", text);
	free(text);
}
#endif

/* README's example in a fenced block after "<!-- example: NAME -->". */
static void readme_example(const char *name, const char *out)
{
	char log[128];
	in_dir(log, sizeof(log), "extract.log");
	cr_assert_eq(sh(log, "awk '/<!-- example: %s -->/ { on = 1; next } "
	                "on && /^```/ { if (body) exit; body = 1; next } on && body' "
	                "'%s/README.md' >'%s'", name, getenv("SQ_TOP"), out), 0);
	char *text = slurp(out);
	int lines = 0;
	for (const char *p = text; *p; p++)
		lines += *p == '\n';
	cr_assert(lines > 3, "README has no example %s", name);
	cr_expect(lines <= 12, "README's %s is %d lines, not about ten", name, lines);
	free(text);
}

Test(install, readme_examples_build_against_the_install_and_run)
{
	char dest[128], app[128], src[128], py[128], log[128], pydir[256], pc[384];
	in_dir(dest, sizeof(dest), "dest");
	in_dir(app, sizeof(app), "app");
	in_dir(src, sizeof(src), "app.c");
	in_dir(py, sizeof(py), "example.py");
	in_dir(log, sizeof(log), "out");
	make("install-files", dest, "");
	readme_example("app.c", src);
	readme_example("example.py", py);

	char v[64];
	variant(v, sizeof(v));
	/* a sanitized libsysq needs its runtime in the program */
	const char *san = strcmp(v, "asan") == 0 ? "-fsanitize=address,undefined" : "";
	snprintf(pc, sizeof(pc), "PKG_CONFIG_SYSROOT_DIR='%s' PKG_CONFIG_PATH='%s/usr/lib/pkgconfig'",
	         dest, dest);
	struct sqd d;
	sqd_start(&d, NULL);

	/* cc app.c $(pkg-config --cflags --libs sysq), with the shared library */
	int rc = sh(log, "%s; export PKG_CONFIG_SYSROOT_DIR PKG_CONFIG_PATH; cc %s -o '%s' '%s' "
	            "$(pkg-config --cflags --libs sysq)", pc, san, app, src);
	char *text = slurp(log);
	cr_assert_eq(rc, 0, "the C example does not build:\n%s", text);
	free(text);
	rc = sh(log, LIBPATH "='%s/usr/lib' SYSQ_SOCKET='%s' '%s'", dest, d.sock, app);
	text = slurp(log);
	cr_expect(rc == 0 && strstr(text, "sysname"), "the C example (%d):\n%s", rc, text);
	free(text);
#ifdef __linux__
	rc = sh(log, "LD_LIBRARY_PATH='%s/usr/lib' ldd '%s' | grep -q '%s" SHLIB "'", dest, app,
	        dest);
	cr_expect_eq(rc, 0, "the C example is not linked with the installed " SHLIB);
#endif

	/* and with the static library: pkg-config --static, libsysq.a by name */
	rc = sh(log, "%s; export PKG_CONFIG_SYSROOT_DIR PKG_CONFIG_PATH; cc %s -o '%s' '%s' "
	        "$(pkg-config --cflags sysq) $(pkg-config --static --libs sysq | "
	        "sed 's/-lsysq/-l:libsysq.a/')", pc, san, app, src);
	text = slurp(log);
	cr_assert_eq(rc, 0, "the C example does not build with libsysq.a:\n%s", text);
	free(text);
	rc = sh(log, "SYSQ_SOCKET='%s' '%s' && ! " LIBS_OF " '%s' | grep libsysq", d.sock, app, app);
	text = slurp(log);
	cr_expect(rc == 0 && strstr(text, "sysname"), "the static C example (%d):\n%s", rc, text);
	free(text);

	/* the Python example, from the installed package */
	python_dir(dest, pydir, sizeof(pydir));
	rc = sh(log, "cd / && PYTHONPATH='%s' SYSQ_SOCKET='%s' /usr/bin/python3 '%s'", pydir,
	        d.sock, py);
	text = slurp(log);
	cr_expect(rc == 0 && strstr(text, "sysname") && strstr(text, "pong"),
	          "the Python example (%d):\n%s", rc, text);
	cr_expect(!strstr(text, "Traceback"), "%s", text);
	free(text);
	/* it came from the install, not from the tree */
	rc = sh(log, "cd / && PYTHONPATH='%s' /usr/bin/python3 -c 'import sysq; print(sysq.__file__)'",
	        pydir);
	text = slurp(log);
	cr_expect(rc == 0 && strncmp(text, pydir, strlen(pydir)) == 0, "imported %s", text);
	free(text);
	sqd_stop_clean(&d);
}
