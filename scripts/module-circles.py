#!/usr/bin/env python3
"""Prints the module graph of each crate in crates/ and any circle in it;
exits 1 if there is one. docs/architecture.md ("Module graph") says why.

An edge a -> b means module a names module b: a `use crate::b...` or
`use super::...` line, an inline `crate::b::x`, `super::x` or `child::x`
path. Comments, strings and `#[cfg(test)] mod tests` blocks are left out.
A parent's `mod x;` and its `pub use x::...` re-exports are structure, not
edges. Usage: scripts/module-circles.py [crates-dir] [-v]  (-v: every edge).
A quick text scan, not a compiler: a path spelled unusually can escape it.
"""
import os, re, sys
from collections import defaultdict

def strip_comments(src):
    """Removes comments, strings and char literals (one pass, so that a
    `//` inside a string or a quote inside a comment cannot confuse it)."""
    out, i, n = [], 0, len(src)
    while i < n:
        c = src[i]
        if src.startswith('//', i):
            j = src.find('\n', i)
            i = n if j < 0 else j
        elif src.startswith('/*', i):
            j = src.find('*/', i + 2)
            i = n if j < 0 else j + 2
        elif c == 'r' and re.match(r'r(#*)"', src[i:i + 10]) and not (i and (src[i-1].isalnum() or src[i-1] == '_')):
            hashes = re.match(r'r(#*)"', src[i:]).group(1)
            j = src.find('"' + hashes, i + 2 + len(hashes))
            out.append('""'); i = n if j < 0 else j + 1 + len(hashes)
        elif c == '"':
            j = i + 1
            while j < n and src[j] != '"':
                j += 2 if src[j] == '\\' else 1
            out.append('""'); i = j + 1
        elif c == "'":
            m = re.match(r"'(\\.[^']*|[^\\'])'", src[i:i + 12])
            if m:
                out.append("' '"); i += len(m.group(0))
            else:
                out.append(c); i += 1
        else:
            out.append(c); i += 1
    return ''.join(out)

def expand(tree):
    """Expands a use tree like a::{b, c::{d, e}} into paths."""
    tree = tree.replace(' ', '').replace('\n', '')
    out = []
    def rec(prefix, t):
        # split top-level items by comma
        depth, cur, items = 0, '', []
        for ch in t:
            if ch == '{': depth += 1
            if ch == '}': depth -= 1
            if ch == ',' and depth == 0:
                items.append(cur); cur = ''
            else:
                cur += ch
        if cur: items.append(cur)
        for it in items:
            m = re.match(r'^([^{]*?)(::)?\{(.*)\}$', it)
            if m:
                rec(prefix + ([m.group(1)] if m.group(1) else []), m.group(3))
            else:
                out.append('::'.join(prefix + [it]) if it else '::'.join(prefix))
    rec([], tree)
    return out

def module_of(path, src_dir):
    rel = os.path.relpath(path, src_dir)[:-3]
    parts = rel.split(os.sep)
    if parts[-1] in ('lib', 'main', 'mod'):
        parts = parts[:-1]
    return tuple(parts)

def analyse(src_dir):
    files = {}
    for root, _, names in os.walk(src_dir):
        for n in names:
            if n.endswith('.rs'):
                p = os.path.join(root, n)
                files[module_of(p, src_dir)] = p
    mods = set(files)
    def resolve(path_parts):
        # deepest existing module that is a prefix
        for k in range(len(path_parts), -1, -1):
            if tuple(path_parts[:k]) in mods:
                return tuple(path_parts[:k])
        return ()
    edges = defaultdict(set)
    for mod, p in files.items():
        src = strip_comments(open(p).read())
        # drop #[cfg(test)] mod tests { ... } blocks: a unit test may use anything
        i = src.find('#[cfg(test)]\nmod tests')
        if i >= 0: src = src[:i]
        refs = []
        for m in re.finditer(r'\b(pub(?:\([a-z]+\))?\s+)?use\s+([^;]+);', src):
            for path in expand(m.group(2)):
                path = re.sub(r'\s+as\s+\w+$', '', path)
                refs.append((bool(m.group(1)), path))
        children = sorted(x[-1] for x in mods if len(x) == len(mod) + 1 and x[:-1] == mod)
        pattern = '|'.join(['crate', 'super'] + children)
        code = re.sub(r'\buse\s+[^;]+;', '', src)
        for m in re.finditer(r'(?<![\w:$.])((?:' + pattern + r')(?:::\w+)+)', code):
            refs.append((False, m.group(1)))
        for is_pub, path in refs:
            parts = path.split('::')
            if parts[0] == 'crate':
                target = list(parts[1:])
            elif parts[0] == 'super':
                base = list(mod)
                while parts and parts[0] == 'super':
                    base = base[:-1]; parts = parts[1:]
                target = base + parts
            elif parts[0] in [x[-1] for x in mods if x[:-1] == mod and x]:
                # a child module used by its bare name (use child::X)
                target = list(mod) + parts
            else:
                continue
            t = resolve(target)
            if t == mod:
                continue
            # a parent re-exporting or using its own child: structure
            if t[:len(mod)] == mod and len(t) > len(mod):
                if is_pub:
                    continue
            edges[mod].add(t)
    return mods, edges

def sccs(nodes, edges):
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]
    sys.setrecursionlimit(10000)
    def strong(v):
        index[v] = low[v] = counter[0]; counter[0] += 1
        stack.append(v); on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                strong(w); low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop(); on.discard(w); comp.append(w)
                if w == v: break
            if len(comp) > 1: out.append(comp)
    for v in sorted(nodes):
        if v not in index: strong(v)
    return out

def name(m): return 'crate' if not m else '::'.join(m)

paths = [a for a in sys.argv[1:] if not a.startswith('-')]
root = paths[0] if paths else os.path.join(os.path.dirname(__file__), '..', 'crates')
verbose = '-v' in sys.argv
bad = 0
for crate in sorted(os.listdir(root)):
    src = os.path.join(root, crate, 'src')
    if not os.path.isdir(src): continue
    mods, edges = analyse(src)
    circles = sccs(mods, edges)
    n_edges = sum(len(v) for v in edges.values())
    print(f'{crate}: {len(mods)} modules, {n_edges} edges, '
          f'{"no circle" if not circles else str(len(circles)) + " circle(s)"}')
    for c in circles:
        bad += 1
        print('  circle:', ' <-> '.join(name(m) for m in sorted(c)))
        for a in sorted(c):
            print('    ', name(a), '->', ', '.join(name(b) for b in sorted(edges[a]) if b in c))
    if verbose:
        for a in sorted(edges):
            print('   ', name(a), '->', ', '.join(name(b) for b in sorted(edges[a])))
sys.exit(1 if bad else 0)
