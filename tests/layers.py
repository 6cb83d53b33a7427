#!/usr/bin/python3
"""layers: lib/ is folders by layer, and a file includes only its own
layer and those below it, with no cycle among modules (STYLE.md 19,
DESIGN.md "Layout", lib/README.md). This reads every #include "…" line of
lib/ and fails, naming the file and line, when

* a file includes a layer it may not (one above its own, or beside it:
  the client never includes the daemon's transport), or a header that is
  not in lib/;
* the modules include each other in a cycle (a module is a .h/.c pair,
  or a folder, or the files of one prefix: link.c, link_send.c,
  link-impl.h are one module);
* a source file of lib/ is longer than MAX_LINES.

It first checks itself on small made-up trees, so that a checker that
finds nothing fails too.

    tests/layers.py [LIB_DIR]
"""

import os
import re
import sys
import tempfile

# Which layers each layer may include (its own always). The generated
# protocol header counts as "wire".
ALLOWED = {
    "base": set(),
    "wire": {"base"},
    "transport": {"base"},
    "db": {"base"},
    "client": {"base", "wire"},
    "delivery": {"base", "wire", "transport", "db"},
    "features": {"base", "wire", "transport", "db", "delivery"},
    "control": {"base", "wire", "transport", "db", "delivery", "features"},
    "daemon": {"base", "wire", "transport", "db", "delivery", "features", "control", "client"},
}
GENERATED = {"vigil.pb-c.h": "wire", "schema_files.c": "db"}
MAX_LINES = 1000
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def module_of(rel):
    """(layer, module) of a path relative to lib/: lib/node.c is the
    daemon; lib/L/x.c, lib/L/x_more.c, lib/L/x-impl.h are module L/x;
    lib/L/D/anything is module L/D."""
    parts = rel.split("/")
    if len(parts) == 1:
        return "daemon", "daemon/" + re.split(r"[_.-]", parts[0])[0]
    layer = parts[0]
    if len(parts) > 2:
        return layer, layer + "/" + parts[1]
    return layer, layer + "/" + re.split(r"[_.-]", parts[1])[0]


def check(lib):
    """Every complaint about the tree at LIB, as strings."""
    problems, edges, files = [], {}, []
    for root, _, names in os.walk(lib):
        for name in names:
            if name.endswith((".c", ".h")):
                files.append(os.path.relpath(os.path.join(root, name), lib))
    for rel in sorted(files):
        layer, module = module_of(rel)
        if layer not in ALLOWED:
            problems.append("%s: folder %s is not a layer (%s)" % (rel, layer, ", ".join(sorted(ALLOWED))))
            continue
        edges.setdefault(module, set())
        with open(os.path.join(lib, rel), encoding="utf-8") as f:
            lines = f.readlines()
        if rel.endswith(".c") and len(lines) > MAX_LINES:
            problems.append("%s: %d lines, more than %d: split it" % (rel, len(lines), MAX_LINES))
        for n, line in enumerate(lines, 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            target = m.group(1)
            if target in GENERATED:
                to_layer, to_module = GENERATED[target], None
            elif os.path.exists(os.path.join(lib, target)):
                to_layer, to_module = module_of(target)
            else:
                problems.append('%s:%d: #include "%s": not a header of lib/ (name its folder)' % (rel, n, target))
                continue
            if to_layer != layer and to_layer not in ALLOWED[layer]:
                problems.append('%s:%d: #include "%s": layer %s may not include %s (it may: %s)'
                                % (rel, n, target, layer, to_layer,
                                   ", ".join(sorted(ALLOWED[layer])) or "nothing but itself"))
            if to_module and to_module != module:
                edges[module].add(to_module)
    for cycle in cycles(edges):
        problems.append("modules include each other in a cycle (each reaches every other): %s" % ", ".join(cycle))
    return problems


def cycles(edges):
    """The strongly connected components of more than one module (and
    modules including themselves), by Tarjan's algorithm; each as a list."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def self_test():
    """The checker must find a forbidden include, a cycle, a file too long
    and an unknown header in made-up trees, and nothing in a good one."""
    def tree(files):
        d = tempfile.mkdtemp(prefix="layers-")
        for path, text in files.items():
            os.makedirs(os.path.dirname(os.path.join(d, path)) or d, exist_ok=True)
            with open(os.path.join(d, path), "w") as f:
                f.write(text)
        return d

    good = {"base/log.h": "", "base/log.c": '#include "base/log.h"\n',
            "delivery/link.h": '#include "base/log.h"\n#include "vigil.pb-c.h"\n',
            "delivery/link_send.c": '#include "delivery/link.h"\n',
            "features/grant.c": '#include "delivery/link.h"\n', "node.c": '#include "features/grant.c"\n'}
    cases = [
        ({}, None),
        ({"delivery/link.c": '#include "features/grant.c"\n'}, "layer delivery may not include features"),
        ({"base/log.c": '#include "wire/wire.h"\n', "wire/wire.h": ""}, "layer base may not include wire"),
        ({"features/a.h": '#include "features/b.h"\n', "features/b.h": '#include "features/a.h"\n'},
         "cycle (each reaches every other): features/a, features/b"),
        ({"features/grant.c": "\n" * (MAX_LINES + 1)}, "lines, more than"),
        ({"features/grant.c": '#include "grant.h"\n'}, "not a header of lib/"),
        ({"misc/x.c": ""}, "is not a layer"),
    ]
    for extra, want in cases:
        problems = check(tree(dict(good, **extra)))
        if want is None and problems:
            sys.exit("layers: self-test: a good tree has problems: %s" % problems)
        if want is not None and not any(want in p for p in problems):
            sys.exit("layers: self-test: %r not found in %s" % (want, problems))


def main():
    lib = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib")
    self_test()
    problems = check(lib)
    for p in problems:
        print("layers: lib/%s" % p if not p.startswith("modules") else "layers: " + p)
    if problems:
        sys.exit(1)
    print("layers: lib/ keeps its layers: no include upwards, no cycle, no file over %d lines" % MAX_LINES)


if __name__ == "__main__":
    main()
