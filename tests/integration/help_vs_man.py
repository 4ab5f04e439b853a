#!/usr/bin/python3
# SPDX-License-Identifier: ISC
# help_vs_man.py SYSQ MANPAGE - for every command `sysq --help` lists, the
# options its `sysq CMD --help` names against those sysq(1) names in that
# command's entry under COMMANDS, and its usage line against its line in
# `sysq --help`.  Prints each difference; exits 1 when there is one.
# (Run by test_cli.c; the global -j/--json and --help, and "--", are left out.)
import re
import subprocess
import sys

sysq, manpage = sys.argv[1], sys.argv[2]
IGNORED = {"-j", "--json", "--help", "--"}


def help_text(*args):
    p = subprocess.run([sysq, "-s", "/nonexistent", *args], capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"sysq {' '.join(args)}: exit {p.returncode}: {p.stderr}")
    return p.stdout


def help_options(text):
    """-a, --all, and -ahT as -a -h -T; not placeholders like -SIGNAL."""
    opts = set()
    for tok in re.findall(r"(?<![\w-])(--?[A-Za-z0-9][A-Za-z0-9-]*)", text):
        if tok.startswith("--"):
            opts.add(tok)
        elif len(tok) > 2 and tok[1:].isupper():
            continue
        else:
            opts.update("-" + c for c in tok[1:])
    return opts


def man_options(lines):
    opts = set()
    for line in lines:
        for arg in re.findall(r"\bFl (\S+)", line):
            if arg.startswith("\\-"):
                opts.add("-" + arg[1:].rstrip(",.;:"))
            elif re.fullmatch(r"[A-Za-z0-9]+", arg) and not arg[0].isupper() or \
                    re.fullmatch(r"[A-Z]", arg):
                opts.update("-" + c for c in arg)
    return opts


def man_commands():
    """{command: [its lines]} from the COMMANDS section."""
    text = open(manpage, encoding="utf-8").read().split("\n")
    start = text.index(".Sh COMMANDS")
    cmds, cur, i = {}, None, start + 1
    while i < len(text) and not text[i].startswith(".Sh "):
        line = text[i]
        m = re.match(r"\.It Cm (\w+)", line)
        if line == ".It Xo":
            m = re.match(r"\.Cm (\w+)", text[i + 1])
        if m:
            cur = m.group(1)
        if cur:
            cmds.setdefault(cur, []).append(line)
        i += 1
    return cmds


top = help_text("--help")
listed = re.findall(r"^  (\w+) ?(.*?)(?:  |$)", top.split("commands:\n")[1], re.M)
man = man_commands()
bad = []
for name, synopsis in listed:
    if not name.islower() or name == "exit":
        continue
    own = help_text(name, "--help")
    ignore = IGNORED | ({"-h"} if name != "df" else set())
    h = help_options(own) - ignore
    if name not in man:
        bad.append(f"{name}: no entry in sysq(1)")
        continue
    m = man_options(man[name]) - ignore
    if h - m:
        bad.append(f"{name}: --help names {sorted(h - m)}, sysq(1) does not")
    if m - h:
        bad.append(f"{name}: sysq(1) names {sorted(m - h)}, --help does not")
    first = own.split("\n")[0]
    if help_options(first) - help_options(synopsis) - ignore:
        bad.append(f"{name}: sysq --help's line '{synopsis}' lacks "
                   f"{sorted(help_options(first) - help_options(synopsis) - ignore)} "
                   f"of '{first}'")
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
