#!/usr/bin/env python3
"""Checks the plug-in's end-to-end results (the E2E lines printed by e2e.py
inside GIMP) against the hippotag CLI run on the same pixels.

    check.py GIMP_OUTPUT CLI_JSONL

Prints one verdict a line for run-e2e to number: "PASS text", "FAIL text",
"TODO text" (an unfinished feature, reported as TAP TODO) or "DIAG text".

References (the CLI decodes files with gdk-pixbuf, an implementation of the
pixel path independent of GIMP's babl/GEGL):
- cases whose pixels are exported losslessly (PNG) by GIMP: the CLI on that
  PNG must give the same class and a probability within 1e-4 (same pixels,
  same engine; only thread scheduling may differ);
- the JPEG: GIMP's and gdk-pixbuf's JPEG decoders differ slightly: 0.01;
- the big JPEG: the plug-in box-averages to >= 2x the input, the CLI decodes
  with DCT scaling: same class, within 0.02;
- precision conversions of an 8-bit image (16-bit, half, float, linear or
  not) must give what the 8-bit image gave: within 2e-3;
- exact 2x nearest-neighbour upscales (which the plug-in box-averages back)
  must give what the 1x image gave: within 1e-4.
"""
import json
import re
import statistics
import sys

CLASSES = {"Drawing", "Hentai", "Neutral", "Porn", "Sexy"}   # INTERIM
CLI_NAMES = ["Drawing", "Hentai", "Neutral", "Porn", "Sexy"]  # INTERIM

out_path, cli_path = sys.argv[1], sys.argv[2]
text = open(out_path, errors="replace").read()
cases = {}
for line in text.splitlines():
    if line.startswith("E2E {"):
        d = json.loads(line[4:])
        cases.setdefault(d["case"], d)
cli = {}
for line in open(cli_path):
    line = line.strip()
    if line:
        d = json.loads(line)
        if "features" in d:
            f = d["features"]
            i = max(range(len(f)), key=lambda k: f[k])
            cli[d["file"]] = (CLI_NAMES[i] if len(f) == 5 else "class-%d" % i, f[i], f)


def verdict(ok, msg):
    print(("PASS " if ok else "FAIL ") + msg)


def diag(msg):
    print("DIAG " + msg)


verdict("done" in cases, "the GIMP-side script ran to its end")

# ---------------------------------------------------------------- registered
reg = cases.get("registered", {}).get("procedures", {})
want = {
    "plug-in-hippotag-classify": (["image", "drawables", "project", "source", "add-keyword"],
                                  ["label", "confidence"], "<Image>/Image/Hippotag"),
    "plug-in-hippotag-label": (["image", "drawables", "project", "source", "class-name"], [],
                               "<Image>/Image/Hippotag"),
    "plug-in-hippotag-trainer": (["run-mode", "project"], [], "<Image>/Image/Hippotag"),
    "plug-in-hippotag-batch": (["run-mode", "project", "folder", "mode", "dest", "action",
                                "min-confidence", "dry-run"], ["n-done", "n-failed"],
                               "<Image>/File/Hippotag"),
}
for name, (args, rets, menu) in want.items():
    p = reg.get(name)
    ok = (p is not None and all(a in p["args"] for a in args)
          and p["returns"] == rets and menu in p["menu"])
    verdict(ok, "%s is registered with arguments %s, returns %s, menu %s"
            % (name, ",".join(args), ",".join(rets) or "-", menu))
    if not ok:
        diag("got %s" % json.dumps(p))


# ---------------------------------------------------------------- classify
def check_case(name, what, ref_kind, tol):
    c = cases.get(name)
    if c is None:
        verdict(False, "%s: no result (case did not run)" % what)
        return None
    if c.get("status") != "success":
        verdict(False, "%s: status %s: %s" % (what, c.get("status"), c.get("error")))
        return None
    label, conf = c["label"], c["confidence"]
    diag("%-14s %-10s %s/%s  %-8s %.6f  (%.0f ms caller-side)"
         % (name, "", c.get("type"), c.get("precision"), label, conf, c["ms"]))
    ok = label in CLASSES and 0.0 < conf <= 1.0
    if ref_kind == "cli":
        ref = cli.get(c.get("ref"))
        if ref is None:
            verdict(False, "%s: the CLI gave no reference for %s" % (what, c.get("ref")))
            return c
        ok = ok and ref[0] == label and abs(ref[1] - conf) <= tol
        verdict(ok, "%s: %s %.6f; CLI on the same pixels %s %.6f (tolerance %g)"
                % (what, label, conf, ref[0], ref[1], tol))
    else:
        base = cases.get(ref_kind)
        if base is None or base.get("status") != "success":
            verdict(False, "%s: reference case %s missing" % (what, ref_kind))
            return c
        ok = ok and base["label"] == label and abs(base["confidence"] - conf) <= tol
        verdict(ok, "%s: %s %.6f; case %s gave %s %.6f (tolerance %g)"
                % (what, label, conf, ref_kind, base["label"], base["confidence"], tol))
    return c


check_case("jpeg", "a JPEG photo classifies (Python)", "cli", 0.01)
check_case("png-alpha", "an RGBA PNG classifies, alpha onto white", "cli", 1e-4)
check_case("png", "a second PNG classifies", "cli", 1e-4)
check_case("grey", "a greyscale image (gimp-image-convert-grayscale)", "cli", 1e-4)
check_case("indexed", "an indexed image (gimp-image-convert-indexed)", "cli", 1e-4)
check_case("indexed-alpha", "an indexed image with alpha", "cli", 1e-4)
check_case("u16", "16-bit non-linear (gimp-image-convert-precision)", "jpeg", 2e-3)
check_case("u16-linear", "16-bit linear", "jpeg", 2e-3)
check_case("float-linear", "32-bit float linear", "jpeg", 2e-3)
check_case("half", "16-bit float non-linear", "jpeg", 2e-3)
check_case("u16-alpha", "16-bit with alpha", "png-alpha", 2e-3)
check_case("composite", "two layers: the visible composite is classified", "cli", 1e-4)
check_case("drawable", "source=drawable classifies that layer alone", "cli", 1e-4)
check_case("big", "a 4000x3000 JPEG (box-averaged before the engine)", "cli", 0.02)
check_case("box-rgb", "box-averaging an exact 2x upscale gives the 1x result (RGB)", "jpeg", 1e-4)
check_case("alpha-photo", "a photo with a transparent hole (alpha onto white)", "cli", 1e-4)
check_case("box-rgba", "box-averaging with alpha (exact 2x upscale)", "alpha-photo", 1e-4)
check_case("grey-alpha", "grey with alpha", "cli", 1e-4)
check_case("box-grey-alpha", "box-averaging grey with alpha (exact 2x upscale)", "grey-alpha", 1e-4)

# Script-Fu
m = re.search(r"hippotag-sf: label=(\S+) confidence=([0-9.eE+-]+)", text)
if m:
    label, conf = m.group(1), float(m.group(2))
    py = cases.get("jpeg", {})
    ok = (label in CLASSES and 0 < conf <= 1 and py.get("label") == label
          and abs(py.get("confidence", -1) - conf) < 1e-6)
    verdict(ok, "Script-Fu classify returns label %s and confidence %.6f, as Python did"
            % (label, conf))
else:
    verdict(False, "Script-Fu classify printed its label and confidence")
m = re.search(r"hippotag-sf-grey: label=(\S+) confidence=([0-9.eE+-]+)", text)
g = cases.get("grey", {})
verdict(bool(m) and m.group(1) == g.get("label")
        and abs(float(m.group(2)) - g.get("confidence", -1)) < 1e-6,
        "Script-Fu: gimp-image-convert-grayscale then classify matches Python")

# ---------------------------------------------------------------- timing
w = cases.get("warm")
if w and w.get("status") == "success":
    warm = text.split("E2E-WARM-BEGIN", 1)[-1].split("E2E-WARM-END", 1)[0]
    plug = [float(x) for x in re.findall(r"hippotag-timing:\s+([0-9.]+) ms since exec\s+classify: result", warm)]
    caller = w["caller_ms"]
    if plug:
        diag("warm classify, plug-in exec -> result: %s ms (median %.1f)"
             % (", ".join("%.1f" % x for x in plug), statistics.median(plug)))
    diag("warm classify, caller-side PDB call: %s ms (median %.1f)"
         % (", ".join("%.1f" % x for x in caller), statistics.median(caller)))
    verdict(bool(plug) and statistics.median(plug) < 1000 and statistics.median(caller) < 1000,
            "warm classify of one image takes under 1 s from the plug-in's start to its result")
else:
    verdict(False, "warm classify timing ran")

# ---------------------------------------------------------------- unfinished
for name, feature in (("label", "label adds the image as an example to the project"),
                      ("trainer", "the trainer opens from GIMP"),
                      ("batch", "batch tags or sorts a folder")):
    c = cases.get(name, {})
    clean = c.get("status") == "execution-error" and "not available yet" in (c.get("error") or "")
    verdict(clean, "%s fails cleanly with an execution error for now: %s"
            % (name, c.get("error")))
    print("TODO " + feature + " (unfinished: needs the project/classifier API or ui/)")
