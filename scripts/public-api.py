#!/usr/bin/env python3
"""The public API of each library crate, as a sorted list of items, checked
against the pinned lists in api/ (one file per crate), so that a change of
the public surface is a visible, reviewed diff.

    python3 scripts/public-api.py          # check (CI); fails on a difference
    python3 scripts/public-api.py --bless  # re-pin api/*.txt after a change

Reads rustdoc's JSON output (`cargo rustdoc -- --output-format json`; on the
stable toolchain it needs RUSTC_BOOTSTRAP=1, set here). Items hidden from
the documentation (#[doc(hidden)]) are not part of the API and not listed.
Each line is one item: modules, types with their public fields and
variants, functions and methods with their signatures, trait impls written
in the crate, constants; `#[non_exhaustive]` is shown, since removing it
breaks no one but adding it breaks callers.
"""

import difflib
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CRATES = [
    "caseledger",
    "caseledger-store",
    "caseledger-codec",
    "caseledger-ids",
    "caseledger-synth",
    "caseledger-testkit",
    "caseledger-async",
    "caseledger-postgres",
]
# The rustdoc JSON layouts this script reads (rustdoc's format_version).
KNOWN_FORMATS = range(50, 60)


def rustdoc_json(krate):
    env = dict(os.environ, RUSTC_BOOTSTRAP="1")
    # Every feature: what a feature adds is public API too.
    subprocess.run(
        ["cargo", "rustdoc", "--quiet", "--locked", "-p", krate, "--lib", "--all-features", "--",
         "-Z", "unstable-options", "--output-format", "json"],
        cwd=ROOT, env=env, check=True)
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    path = target / "doc" / (krate.replace("-", "_") + ".json")
    doc = json.loads(path.read_text())
    if doc["format_version"] not in KNOWN_FORMATS:
        sys.exit(f"public-api: rustdoc JSON format {doc['format_version']} is not one this "
                 f"script reads ({KNOWN_FORMATS}); update scripts/public-api.py")
    return doc


class Lister:
    def __init__(self, doc):
        self.index = doc["index"]
        self.lines = set()
        self.seen = set()
        self.paths = {}

    def item(self, id_):
        return self.index.get(str(id_))

    # ------------------------------------------------------------ types

    def ty(self, t):
        if t is None:
            return "()"
        (kind, v), = t.items()
        if kind in ("primitive", "generic"):
            return v
        if kind == "resolved_path":
            return self.path(v)
        if kind == "borrowed_ref":
            life = v["lifetime"] + " " if v.get("lifetime") else ""
            mut = "mut " if v["is_mutable"] else ""
            return f"&{life}{mut}{self.ty(v['type'])}"
        if kind == "raw_pointer":
            return ("*mut " if v["is_mutable"] else "*const ") + self.ty(v["type"])
        if kind == "tuple":
            return "(" + ", ".join(self.ty(x) for x in v) + ")"
        if kind == "slice":
            return "[" + self.ty(v) + "]"
        if kind == "array":
            return f"[{self.ty(v['type'])}; {v['len']}]"
        if kind == "impl_trait":
            return "impl " + " + ".join(self.bound(b) for b in v)
        if kind == "dyn_trait":
            parts = [self.poly(p) for p in v["traits"]]
            if v.get("lifetime"):
                parts.append(v["lifetime"])
            return "dyn " + " + ".join(parts)
        if kind == "qualified_path":
            trait = f" as {self.path(v['trait'])}" if v.get("trait") else ""
            return f"<{self.ty(v['self_type'])}{trait}>::{v['name']}"
        if kind == "function_pointer":
            return "fn" + self.sig(v["sig"])
        if kind == "infer":
            return "_"
        return kind

    def path(self, p):
        name = p["path"].split("::")[-1]
        return name + self.args(p.get("args"))

    def args(self, a):
        if not a:
            return ""
        if "angle_bracketed" in a:
            ab = a["angle_bracketed"]
            out = []
            for arg in ab["args"]:
                (kind, v), = arg.items() if isinstance(arg, dict) else (("infer", None),)
                if kind == "type":
                    out.append(self.ty(v))
                elif kind == "lifetime":
                    out.append(v)
                elif kind == "const":
                    out.append(str(v.get("expr", v)))
                else:
                    out.append("_")
            for c in ab.get("constraints", []):
                binding = c.get("binding", {})
                if "equality" in binding:
                    eq = binding["equality"]
                    val = self.ty(eq["type"]) if "type" in eq else str(eq)
                    out.append(f"{c['name']} = {val}")
                else:
                    bounds = " + ".join(self.bound(b) for b in binding.get("constraint", []))
                    out.append(f"{c['name']}: {bounds}")
            return "<" + ", ".join(out) + ">" if out else ""
        if "parenthesized" in a:
            p = a["parenthesized"]
            out = "(" + ", ".join(self.ty(x) for x in p["inputs"]) + ")"
            if p.get("output"):
                out += " -> " + self.ty(p["output"])
            return out
        return ""

    def poly(self, p):
        return self.path(p["trait"])

    def bound(self, b):
        (kind, v), = b.items()
        if kind == "trait_bound":
            modifier = "?" if v.get("modifier") == "maybe" else ""
            return modifier + self.path(v["trait"])
        if kind == "outlives":
            return v
        return kind

    def generics(self, g):
        params = []
        for p in g["params"]:
            (kind, v), = p["kind"].items()
            if kind == "type":
                if v.get("is_synthetic"):
                    continue
                bounds = " + ".join(self.bound(b) for b in v["bounds"])
                params.append(p["name"] + (": " + bounds if bounds else ""))
            elif kind == "const":
                params.append(f"const {p['name']}: {self.ty(v['type'])}")
            else:
                params.append(p["name"])
        out = "<" + ", ".join(params) + ">" if params else ""
        preds = []
        for w in g.get("where_predicates", []):
            if "bound_predicate" in w:
                bp = w["bound_predicate"]
                bounds = " + ".join(self.bound(b) for b in bp["bounds"])
                preds.append(f"{self.ty(bp['type'])}: {bounds}")
        if preds:
            out += " where " + ", ".join(preds)
        return out

    def sig(self, s):
        ins = ", ".join(f"{n}: {self.ty(t)}" for n, t in s["inputs"])
        out = f" -> {self.ty(s['output'])}" if s.get("output") else ""
        return f"({ins}){out}"

    # ------------------------------------------------------------ items

    def add(self, line):
        self.lines.add(line)

    def marks(self, item):
        return "#[non_exhaustive] " if "non_exhaustive" in json.dumps(item.get("attrs", [])) else ""

    def function(self, path, f):
        header = f["header"]
        quals = ("const " if header["is_const"] else "") + ("async " if header["is_async"] else "") \
            + ("unsafe " if header["is_unsafe"] else "")
        return f"{quals}fn {path}{self.generics(f['generics'])}{self.sig(f['sig'])}"

    def collect(self, id_, path):
        """Records every public path of every item reachable from the root
        module (an item re-exported elsewhere, in a prelude say, has two)."""
        item = self.item(id_)
        if item is None or (id_, path) in self.seen:
            return
        self.seen.add((id_, path))
        self.paths.setdefault(id_, []).append(path)
        if "module" not in item["inner"]:
            return
        for child in item["inner"]["module"]["items"]:
            c = self.item(child)
            if c is None or c.get("visibility") != "public":
                continue
            if "use" in c["inner"]:
                self.reexport(c["inner"]["use"], path)
            else:
                self.collect(child, f"{path}::{c['name']}")

    def emit(self):
        """Lists each item in full at its shortest path; its other paths as
        `use OTHER = SHORTEST`."""
        for id_, paths in self.paths.items():
            canonical = min(paths, key=lambda p: (p.count("::"), p))
            self.walk(id_, canonical)
            for other in paths:
                if other != canonical:
                    self.add(f"use {other} = {canonical}")

    def walk(self, id_, path):
        item = self.item(id_)
        (kind, v), = item["inner"].items()
        if kind == "module":
            self.add(f"mod {path}")
        elif kind == "struct":
            self.add(f"{self.marks(item)}struct {path}{self.generics(v['generics'])}")
            sk = v["kind"]
            if isinstance(sk, dict) and "plain" in sk:
                for fid in sk["plain"]["fields"]:
                    self.field(fid, path)
            elif isinstance(sk, dict) and "tuple" in sk:
                for i, fid in enumerate(sk["tuple"]):
                    if fid is not None:
                        self.add(f"field {path}.{i}: {self.ty(self.item(fid)['inner']['struct_field'])}")
            self.impls(v["impls"], path)
        elif kind == "enum":
            self.add(f"{self.marks(item)}enum {path}{self.generics(v['generics'])}")
            for vid in v["variants"]:
                var = self.item(vid)
                vk = var["inner"]["variant"]["kind"]
                shape = ""
                if isinstance(vk, dict) and "tuple" in vk:
                    shape = "(" + ", ".join(
                        self.ty(self.item(f)["inner"]["struct_field"]) if f is not None else "_"
                        for f in vk["tuple"]) + ")"
                elif isinstance(vk, dict) and "struct" in vk:
                    shape = " { " + ", ".join(
                        f"{self.item(f)['name']}: {self.ty(self.item(f)['inner']['struct_field'])}"
                        for f in vk["struct"]["fields"]) + " }"
                self.add(f"{self.marks(var)}variant {path}::{var['name']}{shape}")
            self.impls(v["impls"], path)
        elif kind == "union":
            self.add(f"union {path}")
        elif kind == "function":
            self.add(self.function(path, v))
        elif kind == "trait":
            self.add(f"trait {path}{self.generics(v['generics'])}")
            for tid in v["items"]:
                self.assoc(tid, path)
        elif kind == "constant":
            self.add(f"const {path}: {self.ty(v['type'])}")
        elif kind == "static":
            self.add(f"static {path}: {self.ty(v['type'])}")
        elif kind == "type_alias":
            self.add(f"type {path}{self.generics(v['generics'])} = {self.ty(v['type'])}")
        elif kind in ("macro", "proc_macro"):
            self.add(f"macro {path}")
        else:
            self.add(f"{kind} {path}")

    def field(self, fid, path):
        f = self.item(fid)
        if f and f.get("visibility") == "public":
            self.add(f"field {path}.{f['name']}: {self.ty(f['inner']['struct_field'])}")

    def assoc(self, id_, path):
        a = self.item(id_)
        if a is None:
            return
        (kind, v), = a["inner"].items()
        name = f"{path}::{a['name']}"
        if kind == "function":
            self.add(self.function(name, v))
        elif kind == "assoc_type":
            self.add(f"type {name}")
        elif kind == "assoc_const":
            self.add(f"const {name}: {self.ty(v['type'])}")

    def impls(self, ids, path):
        for iid in ids:
            imp = self.item(iid)
            if imp is None:
                continue
            i = imp["inner"]["impl"]
            if i.get("is_synthetic") or i.get("blanket_impl") is not None:
                continue
            if i.get("trait") is None:
                for mid in i["items"]:
                    m = self.item(mid)
                    if m and m.get("visibility") == "public":
                        self.assoc(mid, path)
            elif imp.get("crate_id") == 0:
                neg = "!" if i.get("is_negative") else ""
                self.add(f"impl {neg}{self.path(i['trait'])} for {path}")

    def reexport(self, use, prefix):
        target = use.get("id")
        item = self.item(target) if target is not None else None
        if use["is_glob"]:
            if item is not None and "module" in item["inner"]:
                for child in item["inner"]["module"]["items"]:
                    c = self.item(child)
                    if c and c.get("visibility") == "public":
                        self.collect(child, f"{prefix}::{c['name']}")
            else:
                self.add(f"use {prefix}::* = {use['source']}::*")
        elif item is not None:
            self.collect(target, f"{prefix}::{use['name']}")
        else:
            self.add(f"use {prefix}::{use['name']} = {use['source']}")


def listing(krate):
    doc = rustdoc_json(krate)
    lister = Lister(doc)
    lister.collect(doc["root"], krate.replace("-", "_"))
    lister.emit()
    return "".join(line + "\n" for line in sorted(lister.lines))


def main():
    bless = "--bless" in sys.argv[1:]
    api = ROOT / "api"
    api.mkdir(exist_ok=True)
    changed = []
    for krate in CRATES:
        now = listing(krate)
        pinned_path = api / f"{krate}.txt"
        pinned = pinned_path.read_text() if pinned_path.exists() else ""
        if now == pinned:
            continue
        if bless:
            pinned_path.write_text(now)
            print(f"public-api: re-pinned {pinned_path.relative_to(ROOT)}")
            continue
        changed.append(krate)
        sys.stdout.writelines(difflib.unified_diff(
            pinned.splitlines(keepends=True), now.splitlines(keepends=True),
            f"api/{krate}.txt (pinned)", f"{krate} (this build)"))
    if changed:
        print(f"\npublic-api: the public API of {', '.join(changed)} changed (diff above).\n"
              "If the change is intended, re-pin it with `python3 scripts/public-api.py --bless`,\n"
              "commit api/*.txt with the change, and list a breaking change in CHANGELOG.md.")
        sys.exit(1)
    if not bless:
        print(f"public-api: {len(CRATES)} crates match api/*.txt")


if __name__ == "__main__":
    main()
