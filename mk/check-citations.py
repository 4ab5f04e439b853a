#!/usr/bin/python3
# SPDX-License-Identifier: ISC
# mk/check-citations.py - fail when the project cites a file it does not have.
#
# Scans the project's sources and documents (C, headers, Markdown, shell,
# Python, man pages, the systemd and launchd files, the makefiles, scripts
# without an extension) for path-like citations of project files and prints
# FILE:LINE: TARGET for each one that does not exist.  A citation is:
#   - a relative path rooted at one of the top-level directories below
#     ("docs/identity.md", "daemon/engine.c", "tests/common/kids.h", "lib/"),
#     taken as a shell glob when it has * or ?; a path without an extension
#     may also name a program built from PATH.c ("bench/sys_rtt") or a module
#     of PATH.c, PATH.h or PATH_*.c ("lib/proc");
#   - a top-level file by name ("PROTOCOL.md", "README.md", "Makefile");
#   - any bare Markdown file name, which must be at the top or beside the
#     citing file;
#   - the target of a Markdown link, relative to the citing file;
#   - a section of a Markdown file cited right after its name, as
#     'PROTOCOL.md section 11', 'PROTOCOL.md, "file.read"' or
#     'identity.md ("Two ways")': the numbered section, and a heading that
#     contains each quoted title, must be in that file;
#   - a path starting with ../, relative to the citing file: it must exist
#     inside the project (../shared/x leaves it, and is never allowed: the
#     project explains itself from its own files).  In code, a ../ path in a
#     string literal is data (a test's bad path), not a citation.
# Absolute paths (/proc/..., /run/sysq/..., /etc/...) and URLs are not
# citations: a match must not follow '/', a word character or '.'.  A path
# that runs into a placeholder ("daemon/m_<name>.c", "lib/$(OS).c") is an
# example, not a citation, and is skipped.
# Usage: mk/check-citations.py [ROOT]   (exit 1 when something is missing)
import glob
import os
import re
import subprocess
import sys

TOP_DIRS = ("daemon proto client lib compat tests docs man mk bench systemd "
            "launchd etc completions .ci").split()
TOP_FILES = ("PROTOCOL.md", "README.md", "Makefile", "LICENSE")
SCAN_EXT = (".c", ".h", ".md", ".sh", ".py", ".mk", ".go", ".js",
            ".service", ".socket", ".timer", ".plist", ".conf",
            ".1", ".5", ".7", ".8")
SCAN_NAMES = ("Makefile",)
# Data, not prose: fuzz inputs and the like.
SKIP_UNDER = ("tests/fuzz/corpus/",)

_dirs = "|".join(re.escape(d) for d in TOP_DIRS)
PATH_RE = re.compile(r"(?<![\w./$-])((?:%s)/[\w./*?+-]*)" % _dirs)
TOPFILE_RE = re.compile(r"(?<![\w./-])(%s)(?![\w-])" %
                        "|".join(re.escape(f) for f in TOP_FILES))
BARE_MD_RE = re.compile(r"(?<![\w./-])([\w-]+\.md)\b")
OUTSIDE_RE = re.compile(r"(?<![\w./])((?:\.\./)+[\w.-][\w./-]*)")
MDLINK_RE = re.compile(r"\]\(([^)\s#]+)(?:#[^)]*)?\)")
PLACEHOLDER = set("<{$%[")
# What may follow a cited Markdown file to name a section of it.
SECTION_RE = re.compile(r'(?:,\s*|\s*\(\s*|\s+)(?:section\s+(\d+)\b)?'
                        r'((?:,?\s*\(?\s*"[^"]+")*)')
TITLE_RE = re.compile(r'"([^"]+)"')
_headings = {}


def headings(root, rel):
    """The headings of a Markdown file, without their #s and backquotes."""
    if rel not in _headings:
        hs = []
        with open(os.path.join(root, rel), encoding="utf-8",
                  errors="replace") as f:
            fence = False
            for line in f:
                if line.startswith("```"):
                    fence = not fence
                elif not fence and line.startswith("#"):
                    hs.append(line.lstrip("#").strip().replace("`", ""))
        _headings[rel] = hs
    return _headings[rel]


def check_sections(root, rel, rest):
    """Sections of Markdown file rel cited at the start of rest."""
    if not rel.endswith(".md") or not os.path.isfile(os.path.join(root, rel)):
        return []
    m = SECTION_RE.match(rest)
    if not m or not (m.group(1) or m.group(2)):
        return []
    hs = headings(root, rel)
    bad = []
    if m.group(1) and not any(h.startswith(m.group(1) + ".") for h in hs):
        bad.append(("%s section %s" % (rel, m.group(1)), "no such section"))
    for t in TITLE_RE.findall(m.group(2) or ""):
        want = t.replace("`", "").lower()
        if not any(want in h.lower() for h in hs):
            bad.append(('%s "%s"' % (rel, t), "no such heading"))
    return bad
SELF = "mk/check-citations.py"  # its comments give examples, not citations


def project_files(root):
    try:
        out = subprocess.run(
            ["git", "-C", root, "ls-files", "--cached", "--others",
             "--exclude-standard"], capture_output=True, text=True, check=True)
        names = out.stdout.split("\n")
    except (OSError, subprocess.CalledProcessError):
        names = []
        for d, subdirs, files in os.walk(root):
            subdirs[:] = [s for s in subdirs
                          if s not in (".git", "build", ".cache")]
            names += [os.path.relpath(os.path.join(d, f), root) for f in files]
    for n in sorted(set(names)):
        if not n or n.startswith(SKIP_UNDER) or n == SELF:
            continue
        path = os.path.join(root, n)
        if not os.path.isfile(path):
            continue
        if n.endswith(SCAN_EXT) or os.path.basename(n) in SCAN_NAMES:
            yield n
        elif "." not in os.path.basename(n):
            with open(path, "rb") as f:
                if f.read(2) == b"#!":
                    yield n  # a script without an extension (.ci/run)


def exists(root, rel):
    p = os.path.join(root, rel)
    if "*" in rel or "?" in rel:
        return bool(glob.glob(p))
    return os.path.exists(p)


def names_something(root, rel):
    """rel exists, or names a program or module built from its sources."""
    if exists(root, rel):
        return True
    if os.path.splitext(rel)[1] or rel.endswith("/"):
        return False
    p = os.path.join(root, rel)
    return (os.path.exists(p + ".c") or os.path.exists(p + ".h")
            or bool(glob.glob(glob.escape(p) + "_*.c")))


def clean(path):
    # Sentence punctuation and a trailing "..." are not part of the path.
    while path and path[-1] in ".,;:":
        path = path[:-1]
    return path


def in_string(line, pos):
    """pos is inside a double-quoted literal (an odd count of quotes before)."""
    return len(re.findall(r'(?<!\\)"', line[:pos])) % 2 == 1


def check_line(root, name, line):
    here = os.path.dirname(name)
    code = name.endswith((".c", ".h", ".py", ".go", ".js"))
    missing = []

    for m in OUTSIDE_RE.finditer(line):
        if code and in_string(line, m.start()):
            continue  # data, as in a test's list of bad paths
        t = clean(m.group(1))
        rel = os.path.normpath(os.path.join(here, t))
        if rel.startswith("..") or not exists(root, rel):
            missing.append((t, "not a file of the project"))

    for m in PATH_RE.finditer(line):
        nxt = line[m.end():m.end() + 1]
        path = clean(m.group(1))
        if nxt in PLACEHOLDER or path.endswith("..") or "..." in path:
            continue
        if not names_something(root, path):
            missing.append((path, "no such file"))
        else:
            missing += check_sections(root, path, line[m.end():])

    for m in TOPFILE_RE.finditer(line):
        if not exists(root, m.group(1)):
            missing.append((m.group(1), "no such file"))
        else:
            missing += check_sections(root, m.group(1), line[m.end():])

    for m in BARE_MD_RE.finditer(line):
        f = m.group(1)
        if f in TOP_FILES:
            continue
        rel = os.path.join(here, f)
        if exists(root, rel):
            missing += check_sections(root, rel, line[m.end():])
        elif exists(root, f):
            missing += check_sections(root, f, line[m.end():])
        else:
            missing.append((f, "no such file"))

    if name.endswith(".md"):
        for m in MDLINK_RE.finditer(line):
            t = m.group(1)
            if re.match(r"[a-z][a-z0-9+.-]*:", t) or t.startswith("/"):
                continue  # a URL or an absolute path
            if t.startswith("../"):
                continue  # checked above
            rel = os.path.normpath(os.path.join(here, t))
            if not exists(root, rel):
                missing.append((t, "no such file (link)"))
            else:
                missing += check_sections(root, rel, line[m.end():])
    return missing


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "."
    bad = 0
    for name in project_files(root):
        with open(os.path.join(root, name), encoding="utf-8",
                  errors="replace") as f:
            for no, line in enumerate(f, 1):
                seen = set()
                for target, why in check_line(root, name, line):
                    if target in seen:
                        continue
                    seen.add(target)
                    print("%s:%d: %s: %s" % (name, no, target, why))
                    bad += 1
    if bad:
        print("check-citations: %d citation%s of missing files or sections" %
              (bad, "" if bad == 1 else "s"), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
