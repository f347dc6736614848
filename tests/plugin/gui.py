# The GIMP side of the plug-in's dialog test: run inside the GIMP 3 GUI
# (under Xvfb) by python-fu-eval while tests/plugin/gui-e2e clicks and
# types in the dialogs with xdotool. Runs the procedures interactively, one
# after the other, and prints one line per case: "GUI {json}".
#
# Environment: GUI_PROJECT_COPY (the trained project, also the per-user
# default project), GUI_IMAGE, GUI_IMAGE2 (two PNGs),
# GUI_SMALL (a folder for a batch that runs to its end), GUI_BIG (a big
# folder for a batch that is cancelled), GUI_TRAINER_PROJECT (a trained
# project for the trainer), GUI_TRAINER_FOLDER (a folder of one image).
import html
import json
import os
import re
import sqlite3
import time

from gi.repository import Gimp, Gio

pdb = Gimp.get_pdb()


def emit(**kw):
    print("GUI " + json.dumps(kw), flush=True)


def run(name, **args):
    proc = pdb.lookup_procedure(name)
    c = proc.create_config()
    for k, v in args.items():
        if k == "drawables":
            c.set_core_object_array("drawables", v)
        else:
            c.set_property(k.replace("_", "-"), v)
    t0 = time.monotonic()
    r = proc.run(c)
    out = {"status": r.index(0).value_nick, "s": round(time.monotonic() - t0, 1)}
    if r.index(0) == Gimp.PDBStatusType.SUCCESS:
        vals = []
        for i in range(1, r.length()):
            v = r.index(i)
            vals.append(v.get_path() if isinstance(v, Gio.File) else v)
        out["values"] = vals
    elif r.length() > 1:
        out["error"] = str(r.index(1))
    return out


def load(path):
    return Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(path))


def subjects(img):
    """The image's XMP dc:subject keywords, read from GIMP's serialised
    metadata (GExiv2's own methods are not reachable from Python here)."""
    md = img.get_metadata()
    if md is None:
        return []
    text = md.serialize()
    m = re.search(r'<tag name="Xmp\.dc\.subject">([^<]*)</tag>', text)
    return [v.strip() for v in html.unescape(m.group(1)).split(",")] if m else []


def guarded(case, f):
    try:
        f()
    except Exception as e:
        emit(case=case, status="exception", error="%s: %s" % (type(e).__name__, e))


def case_classify():
    # the driver types "food" under "Wrong? Label as…", presses "Add as
    # example", ticks "Add as keyword" and OK
    img = load(os.environ["GUI_IMAGE"])
    Gimp.Display.new(img)
    r = run("plug-in-hippotag-classify", run_mode=Gimp.RunMode.INTERACTIVE,
            image=img, drawables=img.get_selected_drawables())
    emit(case="classify", keywords=subjects(img), **r)


def case_label():
    # the driver OKs the arguments dialog
    img = load(os.environ["GUI_IMAGE2"])
    Gimp.Display.new(img)
    r = run("plug-in-hippotag-label", run_mode=Gimp.RunMode.INTERACTIVE,
            image=img, drawables=img.get_selected_drawables(),
            project=Gio.File.new_for_path(os.environ["GUI_PROJECT_COPY"]),
            class_name="plants")
    emit(case="label", **r)


def case_batch():
    # the driver OKs the arguments dialog and lets the batch finish
    r = run("plug-in-hippotag-batch", run_mode=Gimp.RunMode.INTERACTIVE,
            project=Gio.File.new_for_path(os.environ["GUI_PROJECT_COPY"]),
            folder=Gio.File.new_for_path(os.environ["GUI_SMALL"]), mode="tag")
    emit(case="batch", **r)


def case_cancel():
    # the driver OKs the arguments dialog, then presses Cancel in the
    # progress window after a few seconds
    r = run("plug-in-hippotag-batch", run_mode=Gimp.RunMode.INTERACTIVE,
            project=Gio.File.new_for_path(os.environ["GUI_PROJECT_COPY"]),
            folder=Gio.File.new_for_path(os.environ["GUI_BIG"]), mode="tag",
            dry_run=True)
    emit(case="cancel", **r)


def examples(project, after=0):
    db = sqlite3.connect("file:%s?mode=ro" % project, uri=True)
    try:
        return db.execute("SELECT e.id, c.name, e.source, e.path FROM examples e "
                          "JOIN classes c ON c.id = e.class_id WHERE e.id > ? "
                          "ORDER BY e.id", (after,)).fetchall()
    finally:
        db.close()


def case_trainer():
    # the images classify and label opened are still open; the driver
    # selects every image in the trainer (Ctrl+A), presses 1 and closes it.
    # Then label, on the same pixels and class, must find the examples the
    # trainer stored (same pixel hash) and add none.
    project = os.environ["GUI_TRAINER_PROJECT"]
    last = max([e[0] for e in examples(project)] or [0])
    images = Gimp.get_images()
    r = run("plug-in-hippotag-trainer", run_mode=Gimp.RunMode.INTERACTIVE,
            project=Gio.File.new_for_path(project),
            folder=Gio.File.new_for_path(os.environ["GUI_TRAINER_FOLDER"]))
    added = examples(project, last)
    gimp_classes = sorted({e[1] for e in added if e[2] == "gimp"})
    relabel = []
    if len(gimp_classes) == 1:
        for img in images:
            relabel.append(run("plug-in-hippotag-label",
                               run_mode=Gimp.RunMode.NONINTERACTIVE, image=img,
                               drawables=img.get_selected_drawables(),
                               project=Gio.File.new_for_path(project),
                               class_name=gimp_classes[0]))
    emit(case="trainer", n_open=len(images), added=[e[1:] for e in added],
         relabel=relabel, after_relabel=len(examples(project, last)), **r)


# cancel before batch: a successful interactive run saves its arguments,
# which the next interactive run of the same procedure would take instead
# of the ones given here
for name, f in (("classify", case_classify), ("label", case_label),
                ("cancel", case_cancel), ("batch", case_batch),
                ("trainer", case_trainer)):
    guarded(name, f)
emit(case="done")
