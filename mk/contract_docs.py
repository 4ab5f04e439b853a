#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""contract_docs.py - the method contracts in the docs, from the one source:
the method table in daemon/methods.c, as a built sysqd reports it through
sys.methods.

  mk/contract_docs.py write SYSQD   rewrite the generated blocks (`make docs`)
  mk/contract_docs.py check SYSQD   exit 1 naming every disagreement

Generated: in PROTOCOL.md, one block under each method's heading (between
`<!-- BEGIN contract NAME -->` and `<!-- END contract -->`); in
man/sysq-protocol.7, the METHODS list (between `.\\" BEGIN contract` and
`.\\" END contract`).  Checked besides: that every method has its block and
no block names a method sysqd does not have, and that the hand-written parts
agree with the table: param tables (names, types, ranges, defaults,
required), error tables and "Errors:" lines (only codes the method answers
or the protocol's own, PROTOCOL.md section 3), and the man page's group
sections.  tests/interop/test_contract.py runs the check under `make test`.
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import msgpack

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROTOCOL = os.path.join(TOP, "PROTOCOL.md")
MANPAGE = os.path.join(TOP, "man", "sysq-protocol.7")
# the codes of PROTOCOL.md section 3: any method may answer them
PROTOCOL_ERRORS = {"EPROTO", "ENOSYS", "EINVAL", "EPERM", "E2BIG", "ETIMEDOUT", "EAGAIN",
                   "ENOMEM", "ECANCELED"}


# ---- the source: sys.methods of a private sysqd --------------------------------------

def fetch_methods(sysqd):
    """sys.methods of a sysqd started on a private socket, then stopped."""
    tmp = tempfile.mkdtemp(prefix="sysq-contract.")
    sock_path = os.path.join(tmp, "sysqd.sock")
    with open(os.path.join(tmp, "log"), "wb") as log:
        proc = subprocess.Popen([sysqd, "-s", sock_path], stderr=log)
    try:
        deadline = time.monotonic() + 10
        while True:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(sock_path)
                break
            except OSError:
                s.close()
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{sysqd} did not start")
                time.sleep(0.01)
        s.sendall(msgpack.packb([0, 1, "sys.methods", []]))
        unpacker = msgpack.Unpacker(raw=False)
        while True:
            data = s.recv(1 << 16)
            if not data:
                raise RuntimeError("sysqd closed the connection")
            unpacker.feed(data)
            for msg in unpacker:
                s.close()
                if msg[2] is not None:
                    raise RuntimeError(f"sys.methods: {msg[2]}")
                return msg[3]["methods"]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
        shutil.rmtree(tmp, ignore_errors=True)


# ---- rendering -----------------------------------------------------------------------

TYPE_ORDER = ["nil", "bool", "int", "float", "str", "bin", "array", "map", "any"]


def type_text(f, depth=0):
    """A field's type as the synopsis writes it: int 1..10000, [str], "a"|"b"."""
    parts = []
    if "str" in f["types"] and f.get("values"):
        parts.append("|".join(f'"{v}"' for v in f["values"]))
    for t in f["types"]:
        if t == "str" and f.get("values"):
            continue
        if t == "array" and "items" in f:
            inner = type_text(f["items"], depth)
            if "max_items" in f:
                inner += f"; max {f['max_items']}"
            parts.append(f"[{inner}]")
        elif t == "map" and "keys" in f and depth == 0:
            parts.append(map_text(f["keys"], depth + 1))
        else:
            parts.append(t)
    text = "|".join(parts)
    if "min" in f:
        text += f" {f['min']}..{f['max']}"
    return text


def map_text(keys, depth):
    return "{" + ", ".join(f"{k['name']}{'' if k['required'] else '?'}: {type_text(k, depth)}"
                           for k in keys) + "}"


def params_text(params):
    """The synopsis of a method's params, as sys.methods' "params" gives it."""
    out = []
    for p in params:
        s = f"{p['name']}{'' if p['required'] else '?'}: {type_text(p, 1)}"
        if "default" in p:
            d = p["default"]
            s += " = " + ("true" if d is True else "false" if d is False else str(d))
        out.append(s)
    return "{" + ", ".join(out) + "}"


def result_text(m):
    return type_text(m["result"])


def md_block(m):
    errors = ", ".join(f"`{e}`" for e in m["errors"])
    summary = m["summary"][0].upper() + m["summary"][1:]
    return [
        f"<!-- BEGIN contract {m['name']}: generated from daemon/methods.c by `make docs` -->",
        f"- **Contract**: access `{m['access']}`, runs on `{m['runs_on']}`. {summary}.",
        f"- **Params**: `{m['params']}`",
        f"- **Result**: `{result_text(m)}`",
        f"- **Errors**: {errors}; any method may also answer those of section 3",
        "<!-- END contract -->",
    ]


def man_escape(s):
    return s.replace("\\", "\\e").replace('"', "\\(dq")


def man_block(methods):
    out = [".\\\" BEGIN contract: generated from daemon/methods.c by `make docs`",
           ".Bl -tag -width Ds"]
    for m in methods:
        summary = m["summary"][0].upper() + m["summary"][1:] + "."
        out += [f".It Li {m['name']}", f"{m['access']}, runs on {m['runs_on']}."]
        # a sentence per line, as mandoc likes it
        out += re.split(r"(?<=\.) (?=[A-Za-z(])", man_escape(summary))
        out += [
            "Params:",
            f".Li {man_escape(m['params'])} .",
            "Result:",
            f".Li {man_escape(result_text(m))} .",
            "Errors:",
            ".Er " + " , ".join(m["errors"]) + " .",
        ]
    out += [".El", ".\\\" END contract"]
    return out


# ---- PROTOCOL.md -------------------------------------------------------------------

HEADING = re.compile(r"^(#{2,3}) (.*)$")
MD_BEGIN = re.compile(r"^<!-- BEGIN contract (\S+?):")
MD_END = "<!-- END contract -->"


def heading_method(title, names):
    t = title.strip().strip("`")
    return t if t in names else None


def apply_md(text, methods):
    """PROTOCOL.md with every block regenerated, and the problems: a method
    without a heading, a block for no method."""
    by_name = {m["name"]: m for m in methods}
    lines = text.split("\n")
    out, problems, seen = [], [], set()
    i = 0
    while i < len(lines):
        line = lines[i]
        b = MD_BEGIN.match(line)
        if b:  # an old block: dropped here, written again under its heading
            if b.group(1) not in by_name:
                problems.append(f"PROTOCOL.md: a contract block for '{b.group(1)}', "
                                "which sysqd does not have")
            while i < len(lines) and lines[i] != MD_END:
                i += 1
            i += 1
            if i < len(lines) and lines[i] == "" and out and out[-1] == "":
                i += 1
            continue
        out.append(line)
        h = HEADING.match(line)
        if h and h.group(1) == "###":
            name = heading_method(h.group(2), by_name)
            if name:
                seen.add(name)
                out += [""] + md_block(by_name[name])
        i += 1
    for m in methods:
        if m["name"] not in seen:
            problems.append(f"PROTOCOL.md: no section '### `{m['name']}`'")
    return "\n".join(out), problems


def md_sections(text, names):
    """(group title, method or None, [lines]) for every ### section, and for
    the text of each ## section before its first ###; generated blocks left out."""
    sections, group, method, body = [], "", None, []
    in_block = False
    for line in text.split("\n"):
        if MD_BEGIN.match(line):
            in_block = True
        if in_block:
            in_block = line != MD_END
            continue
        h = HEADING.match(line)
        if h:
            sections.append((group, method, body))
            if h.group(1) == "##":
                group, method = h.group(2), None
            else:
                method = heading_method(h.group(2), names)
            body = []
            continue
        body.append(line)
    sections.append((group, method, body))
    return sections


def group_methods(group_title, methods):
    """The methods of a '## N. Methods: ... (`proc.*`)' section."""
    pats = re.findall(r"`([a-z]+)\.\*`|`([a-z]+\.[a-z.]+)`", group_title)
    out = []
    for prefix, exact in pats:
        out += [m for m in methods if (prefix and m["name"].startswith(prefix + "."))
                or m["name"] == exact]
    return out


def tables(lines):
    """Every markdown table in lines: (header cells, [row cells])."""
    found, cur = [], None
    for line in lines:
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if cur is None:
                cur = (cells, [])
                found.append(cur)
            elif not set("".join(cells)) <= set("-: "):
                cur[1].append(cells)
        else:
            cur = None
    return found


TYPE_WORDS = {"int": ["int"], "bool": ["bool"], "str": ["str"], "bin": ["bin"],
              "array": ["array", "["], "map": ["map", "{"]}


def check_param_row(where, p, row, per_method):
    problems = []
    text = " | ".join(row[1:])
    for t in p["types"]:
        if t in TYPE_WORDS and not any(w in text for w in TYPE_WORDS[t]):
            problems.append(f"{where}: param '{p['name']}' is {t} in sysqd; the table says "
                            f"'{row[1]}'")
    if "items" in p:
        for t in p["items"]["types"]:
            if t in TYPE_WORDS and not any(w in text for w in TYPE_WORDS[t]):
                problems.append(f"{where}: param '{p['name']}' holds {t}s in sysqd; the "
                                f"table says '{row[1]}'")
    for f in (p, p.get("items", {})):
        if "min" in f and f["max"] < 2 ** 53:
            plain = text.replace(",", "")
            for bound in (f["min"], f["max"]):
                if not re.search(rf"(?<!\d){bound}(?!\d)", plain):
                    problems.append(f"{where}: param '{p['name']}' has range "
                                    f"{f['min']}..{f['max']} in sysqd; the table does not "
                                    f"say {bound}")
    if "default" in p:
        d = p["default"]
        d = "true" if d is True else "false" if d is False else str(d)
        if not re.search(rf"\b{re.escape(d)}\b", text):
            problems.append(f"{where}: param '{p['name']}' defaults to {d} in sysqd; the "
                            "table does not say so")
    # optional params may be needed in some cases ("required with ..."): only a
    # cell that says "required" and nothing else contradicts them
    says_required = any(c.strip("()* ").lower() == "required" for c in row[1:])
    if per_method and (p["required"] and "required" not in text.lower() or
                       not p["required"] and says_required):
        problems.append(f"{where}: param '{p['name']}' is "
                        f"{'required' if p['required'] else 'optional'} in sysqd; the "
                        "table says otherwise")
    return problems


ERRNO = re.compile(r"`(E[A-Z0-9]{2,})`")


def check_md(text, methods):
    """Disagreements between PROTOCOL.md's hand-written sections and sysqd."""
    by_name = {m["name"]: m for m in methods}
    problems = []
    sections = md_sections(text, by_name)
    # params a group describes once for all its methods ("Params common to all four")
    common = {}
    for group, name, lines in sections:
        for head, rows in tables(lines):
            if not name and head[0].strip("`*").lower() in ("param", "name"):
                common.setdefault(group, set()).update(r[0].strip("`* ") for r in rows)
    for group, name, lines in sections:
        scope = [by_name[name]] if name else group_methods(group, methods)
        if not scope:
            continue
        where = f"PROTOCOL.md, {name or group}"
        params = {p["name"]: p for m in scope for p in m["typed_params"]}
        allowed = PROTOCOL_ERRORS.union(*(m["errors"] for m in scope))
        for head, rows in tables(lines):
            kind = head[0].strip("`*").lower()
            if kind in ("param", "name") and "type" in [h.lower() for h in head]:
                for row in rows:
                    pname = row[0].strip("`* ")
                    if pname not in params:
                        problems.append(f"{where}: the table has param '{pname}', which "
                                        "sysqd does not take")
                        continue
                    problems += check_param_row(where, params[pname], row, name is not None)
                if name:
                    listed = {r[0].strip("`* ") for r in rows} | common.get(group, set())
                    for missing in sorted(set(params) - listed):
                        problems.append(f"{where}: param '{missing}' is not in the table")
            elif kind in ("code", "error"):
                for row in rows:
                    for code in ERRNO.findall(row[0]):
                        if code not in allowed:
                            problems.append(f"{where}: error {code} is listed, but sysqd's "
                                            "table does not have it")
        for line in lines:
            if line.startswith("Errors:"):
                for code in ERRNO.findall(line):
                    if code not in allowed:
                        problems.append(f"{where}: error {code} is listed, but sysqd's "
                                        "table does not have it")
            syn = re.match(r"Params: `(\{.*?\})`", line)
            if syn and name and syn.group(1) != by_name[name]["params"]:
                problems.append(f"{where}: 'Params: {syn.group(1)}' differs from sysqd's "
                                f"'{by_name[name]['params']}'")
    return problems


# ---- man/sysq-protocol.7 --------------------------------------------------------------

MAN_BEGIN = ".\\\" BEGIN contract"
MAN_END = ".\\\" END contract"


def apply_man(text, methods):
    lines = text.split("\n")
    try:
        b = next(i for i, l in enumerate(lines) if l.startswith(MAN_BEGIN))
        e = next(i for i, l in enumerate(lines) if l.startswith(MAN_END))
    except StopIteration:
        return text, ["man/sysq-protocol.7: no generated method list "
                      f"('{MAN_BEGIN}' ... '{MAN_END}')"]
    return "\n".join(lines[:b] + man_block(methods) + lines[e + 1:]), []


def key_names(f):
    out = set()
    for k in f.get("keys", []):
        out.add(k["name"])
        out |= key_names(k)
    if "items" in f:
        out |= key_names(f["items"])
    return out


def check_man(text, methods):
    """Disagreements between the man page's group sections and sysqd."""
    problems = []
    group, inside = None, False
    for line in text.split("\n"):
        if line.startswith(MAN_BEGIN):
            inside = True
        if inside:
            inside = not line.startswith(MAN_END)
            continue
        if line.startswith(".Sh "):
            m = re.match(r"\.Sh METHODS: .*\((\S+?)\)$", line)
            scope = []
            if m:
                pat = m.group(1)
                scope = [x for x in methods if x["name"] == pat or
                         (pat.endswith(".*") and x["name"].startswith(pat[:-1]))]
            group = (line[4:], scope) if scope else None
            continue
        if not group:
            continue
        where = f"man/sysq-protocol.7, {group[0]}"
        scope = group[1]
        if line.startswith(".It Er "):
            allowed = PROTOCOL_ERRORS.union(*(m["errors"] for m in scope))
            for code in re.findall(r"\bE[A-Z0-9]{2,}\b", line):
                if code not in allowed:
                    problems.append(f"{where}: error {code} is listed, but sysqd's table "
                                    "does not have it")
        if line.startswith(".It Fa "):
            known = set()
            for m in scope:
                known |= {p["name"] for p in m["typed_params"]} | key_names(m["result"])
            for word in re.findall(r"[a-z_]+", line[7:]):
                if word not in known:
                    problems.append(f"{where}: '{word}' is neither a param nor a result "
                                    "key of these methods in sysqd")
    return problems


# ---- the command -----------------------------------------------------------------------

def run(mode, sysqd):
    methods = fetch_methods(sysqd)
    problems = []
    for m in methods:
        if params_text(m["typed_params"]) != m["params"]:
            problems.append(f"sysqd: {m['name']}: typed params {params_text(m['typed_params'])} "
                            f"but synopsis {m['params']}")
    outputs = {}
    for path, apply in ((PROTOCOL, apply_md), (MANPAGE, apply_man)):
        with open(path, encoding="utf-8") as f:
            old = f.read()
        new, p = apply(old, methods)
        problems += p
        outputs[path] = (old, new)
    problems += check_md(outputs[PROTOCOL][1], methods)
    problems += check_man(outputs[MANPAGE][1], methods)
    for path, (old, new) in outputs.items():
        if old == new:
            continue
        if mode == "write":
            with open(path, "w", encoding="utf-8") as f:
                f.write(new)
            print(f"contract_docs: rewrote {os.path.relpath(path, TOP)}")
        else:
            problems.append(f"{os.path.relpath(path, TOP)}: its generated parts are not "
                            "what sysqd's method table gives: run `make docs`")
    return problems


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("write", "check"):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    problems = run(sys.argv[1], sys.argv[2])
    for p in problems:
        print(p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
