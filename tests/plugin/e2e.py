# The GIMP side of the plug-in's end-to-end test: run inside GIMP 3 by
# python-fu-eval (run-e2e does `exec(open(THIS).read())`). Loads images,
# converts them in GIMP, calls the plug-in's procedures through the PDB and
# prints one line per case: "E2E {json}". run-e2e checks the lines against
# `hippotag classify PROJECT --format jsonl` run on the exported pixels, and
# the files that label and batch wrote.
#
# Environment: E2E_WORK (a writable folder), E2E_PROJECT (a trained
# project), E2E_LABEL_PROJECT (a copy of it that label may change),
# E2E_UNTRAINED (a project with classes but no training), E2E_BATCH (a
# folder for batch), E2E_BAD_BATCH (a folder of bad images: empty,
# truncated, huge header, symlink loop... docs/robustness.md), E2E_JPEG (a
# photo), E2E_PNG (a PNG with alpha), E2E_PNG2 (another PNG),
# E2E_WARM_RUNS (timing runs).
import json
import os
import shutil
import time

from gi.repository import Gegl, Gimp, Gio

work = os.environ["E2E_WORK"]
project = os.environ["E2E_PROJECT"]
pdb = Gimp.get_pdb()


def gfile(path):
    return Gio.File.new_for_path(path)


def emit(**kw):
    print("E2E " + json.dumps(kw), flush=True)


def load(path):
    return Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(path))


def export(img, name):
    path = os.path.join(work, name)
    ok = Gimp.file_save(Gimp.RunMode.NONINTERACTIVE, img, Gio.File.new_for_path(path), None)
    return path if ok else None


def run(name, img=None, drawables=None, **args):
    """Runs a procedure; returns a dict: status, values, error, ms."""
    proc = pdb.lookup_procedure(name)
    if proc is None:
        return {"status": "missing", "error": "no procedure " + name}
    c = proc.create_config()
    if img is not None:
        c.set_property("image", img)
        if drawables is not False:   # False: the procedure takes none
            c.set_core_object_array("drawables", drawables if drawables is not None
                                    else img.get_selected_drawables())
    for k, v in args.items():
        c.set_property(k.replace("_", "-"), v)
    t0 = time.monotonic()
    r = proc.run(c)
    ms = (time.monotonic() - t0) * 1e3
    status = r.index(0)
    out = {"status": status.value_nick, "ms": round(ms, 1)}
    if status == Gimp.PDBStatusType.SUCCESS:
        out["values"] = [r.index(i) for i in range(1, r.length())]
    elif r.length() > 1:
        out["error"] = str(r.index(1))
    return out


def classify(case, img, ref=None, drawables=None, **args):
    """Classifies img, emits the result with the file the CLI should see."""
    if "project" not in args:
        args["project"] = gfile(project)
    elif args["project"] is None:
        del args["project"]        # the per-user default project
    r = run("plug-in-hippotag-classify", img, drawables, **args)
    res = {"case": case, "status": r["status"], "ms": r["ms"], "ref": ref}
    if r["status"] == "success":
        res["label"], res["confidence"], res["unsure"] = r["values"][:3]
    else:
        res["error"] = r.get("error")
    res["type"] = img.get_base_type().value_nick
    res["precision"] = img.get_precision().value_nick
    emit(**res)
    return r


def guarded(case, f):
    try:
        f()
    except Exception as e:  # a broken case must not hide the others
        emit(case=case, status="exception", error="%s: %s" % (type(e).__name__, e))


jpeg = os.environ["E2E_JPEG"]
png = os.environ["E2E_PNG"]
png2 = os.environ["E2E_PNG2"]


def case_jpeg():
    img = load(jpeg)
    classify("jpeg", img, ref=jpeg)
    img.delete()


def case_png():
    img = load(png)
    classify("png-alpha", img, ref=png)
    img.delete()
    img = load(png2)
    classify("png", img, ref=png2)
    img.delete()


def case_grey():
    img = load(jpeg)
    img.convert_grayscale()
    classify("grey", img, ref=export(img, "grey.png"))
    img.delete()


def to_indexed(img):
    """gimp-image-convert-indexed: a generated 255-colour palette, no dither."""
    r = run("gimp-image-convert-indexed", img=img, drawables=False,
            dither_type=Gimp.ConvertDitherType.NONE,
            palette_type=Gimp.ConvertPaletteType.GENERATE, num_cols=255,
            palette="Default")
    if r["status"] != "success":
        raise RuntimeError("gimp-image-convert-indexed: %s" % r.get("error"))


def case_indexed():
    img = load(jpeg)
    try:
        to_indexed(img)
        classify("indexed", img, ref=export(img, "indexed.png"))
    finally:
        img.delete()
    img = load(png)   # indexed with alpha
    try:
        to_indexed(img)
        classify("indexed-alpha", img, ref=export(img, "indexed-alpha.png"))
    finally:
        img.delete()


def case_precision():
    for prec, name in ((Gimp.Precision.U16_NON_LINEAR, "u16"),
                       (Gimp.Precision.U16_LINEAR, "u16-linear"),
                       (Gimp.Precision.FLOAT_LINEAR, "float-linear"),
                       (Gimp.Precision.HALF_NON_LINEAR, "half")):
        img = load(jpeg)
        img.convert_precision(prec)
        # the 8-bit original is the reference: the conversion must not
        # change what the classifier sees beyond rounding
        classify(name, img, ref=jpeg)
        img.delete()
    img = load(png)
    img.convert_precision(Gimp.Precision.U16_NON_LINEAR)
    classify("u16-alpha", img, ref=png)
    img.delete()


def case_composite():
    img = load(png2)
    try:
        composite_on(img)
    finally:
        img.delete()


def composite_on(img):
    w, h = img.get_width(), img.get_height()
    layer = Gimp.Layer.new(img, "overlay", w // 2, h, Gimp.ImageType.RGBA_IMAGE,
                           60.0, Gimp.LayerMode.NORMAL)
    img.insert_layer(layer, None, 0)
    Gimp.context_push()
    Gimp.context_set_foreground(Gegl.Color.new("#3050e0"))
    layer.edit_fill(Gimp.FillType.FOREGROUND)
    Gimp.context_pop()
    classify("composite", img, ref=export(img, "composite.png"))
    # the overlay layer alone (source=drawable); its reference is a copy of
    # the layer in an image of its own
    alone = Gimp.Image.new(layer.get_width(), layer.get_height(), Gimp.ImageBaseType.RGB)
    try:
        copy = Gimp.Layer.new_from_drawable(layer, alone)
        alone.insert_layer(copy, None, 0)
        copy.set_opacity(100.0)
        ref = export(alone, "drawable.png")
    finally:
        alone.delete()
    classify("drawable", img, ref=ref, drawables=[layer], source="drawable")


def case_big():
    img = load(jpeg)
    Gimp.context_push()
    Gimp.context_set_interpolation(Gimp.InterpolationType.LINEAR)
    img.scale(4000, 3000)
    Gimp.context_pop()
    big = export(img, "big.jpg")
    img.delete()
    img = load(big)
    classify("big", img, ref=big)
    img.delete()


def upscale_nearest(img, k):
    """An exact k x k block upscale: box-averaging k x k gives the image back."""
    Gimp.context_push()
    Gimp.context_set_interpolation(Gimp.InterpolationType.NONE)
    img.scale(img.get_width() * k, img.get_height() * k)
    Gimp.context_pop()


def with_hole(img):
    """Adds alpha and clears a rectangle: half-transparent content."""
    layer = img.get_layers()[0]
    layer.add_alpha()
    img.select_rectangle(Gimp.ChannelOps.REPLACE, 100, 80, 300, 200)
    layer.edit_clear()
    Gimp.Selection.none(img)


def case_box():
    # the box-averaging path (images >= 2x the input on both sides) on
    # exact upscales: it must see the same pixels as the 1x image
    img = load(jpeg)
    try:
        upscale_nearest(img, 2)
        classify("box-rgb", img, ref=None)
    finally:
        img.delete()
    img = load(jpeg)
    try:
        with_hole(img)
        classify("alpha-photo", img, ref=export(img, "alpha-photo.png"))
        upscale_nearest(img, 2)
        classify("box-rgba", img)
    finally:
        img.delete()
    img = load(jpeg)
    try:
        with_hole(img)
        img.convert_grayscale()
        classify("grey-alpha", img, ref=export(img, "grey-alpha.png"))
        upscale_nearest(img, 2)
        classify("box-grey-alpha", img)
    finally:
        img.delete()


def case_keyword():
    img = load(jpeg)
    try:
        classify("keyword", img, ref=jpeg, add_keyword=True)
        # a second run must not add the keyword twice
        run("plug-in-hippotag-classify", img, add_keyword=True,
            project=gfile(project))
        # run-e2e reads the exported file's XMP and IPTC with exiv2; a
        # non-interactive export writes metadata only when asked to
        path = os.path.join(work, "keyword.jpg")
        r = run("file-jpeg-export", img=img, drawables=False,
                file=Gio.File.new_for_path(path), include_xmp=True,
                include_iptc=True, include_exif=True)
        emit(case="keyword-export", status=r["status"], error=r.get("error"),
             exported=path)
    finally:
        img.delete()


def case_warm():
    img = load(jpeg)
    print("E2E-WARM-BEGIN", flush=True)
    times = []
    for _ in range(int(os.environ.get("E2E_WARM_RUNS", "5"))):
        r = run("plug-in-hippotag-classify", img, project=gfile(project))
        times.append(r["ms"])
    print("E2E-WARM-END", flush=True)
    emit(case="warm", status="success", caller_ms=times)
    img.delete()


def case_default_project():
    """No project argument: the per-user default project, or a clear error."""
    default = os.path.join(Gimp.directory(), "hippotag", "default.hippotag")
    os.makedirs(os.path.dirname(default), exist_ok=True)
    img = load(jpeg)
    try:
        shutil.copyfile(project, default)
        classify("default-project", img, ref=jpeg, project=None)
        os.unlink(default)
        classify("no-default-project", img, project=None)
    finally:
        img.delete()
        if os.path.exists(default):
            os.unlink(default)


def case_untrained():
    img = load(jpeg)
    try:
        classify("untrained", img, project=gfile(os.environ["E2E_UNTRAINED"]))
    finally:
        img.delete()


def label(case, img, class_name, path):
    r = run("plug-in-hippotag-label", img, project=gfile(path),
            class_name=class_name)
    res = {"case": case, "status": r["status"], "asked": class_name}
    if r["status"] == "success":
        res["class"], res["n_examples"] = r["values"][0], r["values"][1]
    else:
        res["error"] = r.get("error")
    emit(**res)


def case_label():
    path = os.environ["E2E_LABEL_PROJECT"]
    img = load(jpeg)          # never saved: labelled by its pixels
    try:
        label("label-existing", img, "food", path)
        # the same pixels again: still one example (a move, not an add)
        label("label-again", img, "food", path)
        label("label-case", img, "VEHICLES", path)
    finally:
        img.delete()
    img = load(png)
    try:
        img.convert_grayscale()   # pixels no file holds
        label("label-new-class", img, "plants", path)
    finally:
        img.delete()
    img = load(png2)
    try:
        label("label-empty", img, "  ", path)
        label("label-missing-project", img, "food",
              os.path.join(work, "missing.hippotag"))
    finally:
        img.delete()


def batch(case, **args):
    args.setdefault("project", gfile(project))
    args.setdefault("run_mode", Gimp.RunMode.NONINTERACTIVE)
    r = run("plug-in-hippotag-batch", **args)
    res = {"case": case, "status": r["status"], "ms": r["ms"]}
    if r["status"] == "success":
        v = r["values"]
        res.update(n_done=v[0], n_failed=v[1], n_unsure=v[2],
                   journal=v[3].get_path() if v[3] is not None else None)
    else:
        res["error"] = r.get("error")
    emit(**res)


def case_batch():
    folder = gfile(os.environ["E2E_BATCH"])
    dest = os.path.join(work, "sorted")
    both = os.path.join(work, "sorted-both")
    batch("batch-tag", folder=folder, mode="tag")
    batch("batch-tag-again", folder=folder, mode="tag")
    batch("batch-tag-min", folder=folder, mode="tag", dry_run=True,
          min_confidence=0.95)
    batch("batch-min-confidence", folder=folder, mode="tag", dry_run=True,
          min_confidence=0.0)
    batch("batch-sort-dry", folder=folder, mode="sort", dest=gfile(dest),
          dry_run=True, min_confidence=0.95)
    emit(case="batch-sort-dry-dest", status="success",
         exists=os.path.exists(dest))
    batch("batch-sort", folder=folder, mode="sort", dest=gfile(dest),
          action="copy", min_confidence=0.95)
    batch("batch-both", folder=folder, mode="both", dest=gfile(both),
          action="copy", tag_mode="in-place", min_confidence=0.95)
    batch("batch-no-folder", mode="tag")
    batch("batch-untrained", folder=folder, mode="tag",
          project=gfile(os.environ["E2E_UNTRAINED"]))


def case_bad_batch():
    # every file is tried, the bad ones counted in n-failed; nothing written
    batch("batch-bad-images", folder=gfile(os.environ["E2E_BAD_BATCH"]), mode="tag",
          dry_run=True, min_confidence=0.0)


def case_trainer():
    r = run("plug-in-hippotag-trainer", run_mode=Gimp.RunMode.NONINTERACTIVE,
            project=gfile(project))
    emit(case="trainer", **r)


def case_registered():
    procs = {}
    for name in ("plug-in-hippotag-classify", "plug-in-hippotag-label",
                 "plug-in-hippotag-trainer", "plug-in-hippotag-batch"):
        p = pdb.lookup_procedure(name)
        procs[name] = None if p is None else {
            "args": [a.name for a in p.get_arguments()],
            "returns": [a.name for a in p.get_return_values()],
            "menu": list(p.get_menu_paths())}
    emit(case="registered", procedures=procs)


for name, f in (("registered", case_registered), ("jpeg", case_jpeg),
                ("png", case_png), ("grey", case_grey),
                ("indexed", case_indexed), ("precision", case_precision),
                ("composite", case_composite), ("big", case_big),
                ("box", case_box),
                ("keyword", case_keyword), ("warm", case_warm),
                ("default-project", case_default_project),
                ("untrained", case_untrained), ("label", case_label),
                ("batch", case_batch), ("bad-batch", case_bad_batch),
                ("trainer", case_trainer)):
    guarded(name, f)
emit(case="done")
