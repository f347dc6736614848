#!/bin/bash
# The project commands of the hippotag CLI (init, class, label, unlabel,
# train, classify, suggest, eval, tag, sort): output formats, exit codes,
# bad inputs, sharding, undo. TAP output. Needs the default model
# (HIPPOTAG_MODEL_PATH), the shared data sets, python3 and exiv2; says so
# loudly and skips when they are missing. Timings of train and classify on
# 1,000 cached images are printed as TAP comments (not asserted).
set -u
bin=${HIPPOTAG_BIN:?}
srcdir=${HIPPOTAG_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
shared=${HIPPOTAG_SHARED:-$srcdir/../shared}
data=$shared/datasets
n=0; failed=0
ok()   { n=$((n + 1)); echo "ok $n - $1"; }
fail() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
skip() { n=$((n + 1)); echo "ok $n # SKIP $1"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else fail "$what"; fi; }
tmp=$(mktemp -d); trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1

if ! "$bin" model info >/dev/null 2>&1; then
  echo "1..0 # SKIP no default model: run ./setup or set HIPPOTAG_MODEL_PATH (THIS TEST DID NOT RUN)"
  exit 0
fi
if [ ! -d "$data/tuxpaint-stamps/animals" ] || [ ! -d "$data/emoji-google" ]; then
  echo "1..0 # SKIP no data sets at $data: set HIPPOTAG_SHARED (THIS TEST DID NOT RUN)"
  exit 0
fi
if ! command -v python3 >/dev/null || ! command -v exiv2 >/dev/null; then
  echo "1..0 # SKIP python3 and exiv2 are needed (THIS TEST DID NOT RUN)"
  exit 0
fi

# rc of the last command, its stdout in out, stderr in err
run() { "$@" > out 2> err; rc=$?; }
manifest() { (cd "$1" && find . -type f ! -name '.*' -print0 | sort -z | xargs -0 -r sha256sum); }
export -f manifest

# 3 classes x 12 labelled + 6 held out, from tuxpaint-stamps
for c in animals food vehicles; do
  mkdir -p train/$c held/$c
  ls "$data/tuxpaint-stamps/$c" | sort | head -18 > list
  head -12 list | while read -r f; do cp "$data/tuxpaint-stamps/$c/$f" train/$c/; done
  tail -6 list | while read -r f; do cp "$data/tuxpaint-stamps/$c/$f" held/$c/; done
done
echo "not an image" > junk.png

# --- init -----------------------------------------------------------------
run "$bin" init p.hippotag
check "init creates the project" bash -c "[ $rc = 0 ] && [ -s p.hippotag ]"
sum=$(sha256sum < p.hippotag)
run "$bin" init p.hippotag
check "init on an existing project exits 3 and leaves it alone" \
  bash -c "[ $rc = 3 ] && grep -q exists err && [ \"\$(sha256sum < p.hippotag)\" = '$sum' ]"
run "$bin" init bad.hippotag --model "$tmp/no/such/model"
check "init with a missing model exits 3 and leaves no file" \
  bash -c "[ $rc = 3 ] && [ ! -e bad.hippotag ] && [ ! -e bad.hippotag-wal ]"
run "$bin" init
check "init without PROJECT exits 2" test $rc = 2

# --- errors before training -------------------------------------------------
run "$bin" train p.hippotag
check "train with no classes exits 3 and says so" bash -c "[ $rc = 3 ] && grep -q 'class' err"

# --- class ------------------------------------------------------------------
run "$bin" class add p.hippotag plants
rc1=$rc
run "$bin" class add p.hippotag Plants
rc2=$rc
run "$bin" class add p.hippotag 'a/b'
check "class add; a name taken ignoring case or with '/' exits 2" \
  bash -c "[ $rc1 = 0 ] && [ $rc2 = 2 ] && [ $rc = 2 ]"
run "$bin" class rename p.hippotag plants flora
rc1=$rc
run "$bin" class rename p.hippotag nosuch other
check "class rename; an unknown class exits 3 naming it" \
  bash -c "[ $rc1 = 0 ] && [ $rc = 3 ] && grep -q nosuch err"
"$bin" class list p.hippotag > list
check "class list shows the renamed class" bash -c "grep -q '^flora	0$' list && ! grep -q plants list"

# --- label ------------------------------------------------------------------
run "$bin" label p.hippotag --class flora train/food/$(ls train/food | head -1)
rc1=$rc
run "$bin" class remove p.hippotag flora
rc2=$rc
check "class remove refuses a class with examples (exit 3, says --force)" \
  bash -c "[ $rc1 = 0 ] && [ $rc2 = 3 ] && grep -q -- --force err"
run "$bin" class remove p.hippotag flora --force
"$bin" class list p.hippotag > list
check "class remove --force removes it and its examples" \
  bash -c "[ $rc = 0 ] && grep -q '1 labelled example' out && ! grep -q flora list"

run "$bin" label p.hippotag --class animals train/animals
check "label --class creates a missing class and labels a folder" \
  bash -c "[ $rc = 0 ] && grep -q \"created class 'animals'\" err && grep -q '^animals	12 labelled' out"
run "$bin" label p.hippotag --tree train
"$bin" class list p.hippotag > list
check "label --tree makes one class per folder" \
  bash -c "[ $rc = 0 ] && [ \"\$(cat list)\" = \"\$(printf 'animals\t12\nfood\t12\nvehicles\t12')\" ]"
run "$bin" label p.hippotag --class food train/food/$(ls train/food | head -1) junk.png "$tmp/missing.png"
check "label with a missing file and a non-image exits 1, names both, labels the rest" \
  bash -c "[ $rc = 1 ] && grep -q junk.png err && grep -q missing.png err && grep -q '^food	1 labelled, 2 failed' out"
run "$bin" label p.hippotag --class food --tree train
check "label with both --class and --tree exits 2" test $rc = 2

run "$bin" unlabel p.hippotag train/animals/$(ls train/animals | head -1)
"$bin" class list p.hippotag > list
rc1=$rc
run "$bin" unlabel p.hippotag "$tmp/missing.png"
check "unlabel removes a label; an unknown missing file exits 1" \
  bash -c "[ $rc1 = 0 ] && grep -q '^animals	11$' list && [ $rc = 1 ]"
"$bin" label p.hippotag --class animals train/animals > /dev/null 2>&1

run "$bin" classify p.hippotag held
check "classify on an untrained project exits 3 and says to train" \
  bash -c "[ $rc = 3 ] && grep -q 'not trained' err"

# --- train ------------------------------------------------------------------
run "$bin" train p.hippotag
check "train (text): accuracy, per-class table, confusion matrix, time" \
  bash -c "[ $rc = 0 ] && grep -q '^Accuracy' out && grep -q 'precision recall' out && grep -q '^Confusion' out && grep -Eq 'in [0-9.]+ s' out"
run "$bin" train p.hippotag --folds 3 --format json
cp out train.json
check "train --format json parses with counts, classes and a 3x3 confusion" \
  python3 - train.json <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["n_samples"] == 36 and d["folds"] == 3, d
assert [c["name"] for c in d["classes"]] == ["animals", "food", "vehicles"]
m = d["confusion"]
assert len(m) == 3 and all(len(r) == 3 for r in m)
assert sum(map(sum, m)) == d["n_tested"] == 36
assert 0 <= d["accuracy"] <= 1 and d["train_seconds"] >= 0
EOF
run "$bin" train p.hippotag --format xml
check "train with a bad --format exits 2" test $rc = 2

# --- classify ---------------------------------------------------------------
cp "$(ls held/food/* | head -1)" 'held/food/a,"quoted".png'
run "$bin" classify p.hippotag --format jsonl --top 2 held/animals junk.png "$tmp/missing.png" held/food
check "classify with a missing file and a non-image exits 1" test $rc = 1
cp out c.jsonl
check "classify jsonl: one line per input in order, errors as lines, top 2 sorted" \
  python3 - c.jsonl <<'EOF'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
files = [l["file"] for l in lines]
assert len(lines) == 6 + 2 + 7, len(lines)
assert files[6] == "junk.png" and "error" in lines[6] and lines[6]["error"]
assert files[7].endswith("missing.png") and lines[7]["error"]
for l in lines[:6] + lines[8:]:
    s = l["scores"]
    assert len(s) == 2, s
    v = list(s.values())
    assert v[0] >= v[1]
    assert l["label"] == list(s)[0] and abs(l["confidence"] - v[0]) < 1e-6
    assert l["label"] in ("animals", "food", "vehicles") and 0 <= l["confidence"] <= 1
EOF
run "$bin" classify p.hippotag --format jsonl held
cp out full.jsonl
check "classify jsonl without --top: every class's score, summing to 1" \
  python3 - full.jsonl <<'EOF'
import json, sys
for l in map(json.loads, open(sys.argv[1])):
    assert sorted(l["scores"]) == ["animals", "food", "vehicles"]
    assert abs(sum(l["scores"].values()) - 1) < 1e-3
EOF
run "$bin" classify p.hippotag --format csv --top 1 held junk.png
cp out c.csv
check "classify csv: RFC 4180 (quoted name with a comma and quotes), header, errors" \
  python3 - c.csv full.jsonl <<'EOF'
import csv, json, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
assert rows[0] == ["file", "label", "confidence", "unsure", "scores", "error"]
by = {r[0]: r for r in rows[1:]}
assert 'held/food/a,"quoted".png' in by, list(by)
assert by["junk.png"][5] and not by["junk.png"][1]
ref = {l["file"]: l for l in map(json.loads, open(sys.argv[2]))}
for f, l in ref.items():
    r = by[f]
    assert r[1] == l["label"] and abs(float(r[2]) - l["confidence"]) < 1e-3
    assert r[4].startswith(l["label"] + ":") and ";" not in r[4]
EOF
run "$bin" classify p.hippotag held
cp out c.txt
check "classify text: FILE TAB LABEL TAB CONFIDENCE [TAB unsure], same as jsonl" \
  python3 - c.txt full.jsonl <<'EOF'
import json, sys
ref = {l["file"]: l for l in map(json.loads, open(sys.argv[2]))}
n = 0
for line in open(sys.argv[1]):
    f = line.rstrip("\n").split("\t")
    assert len(f) in (3, 4), f
    assert f[1] == ref[f[0]]["label"] and abs(float(f[2]) - ref[f[0]]["confidence"]) < 1e-3
    assert (len(f) == 4) == ref[f[0]]["unsure"] and (len(f) == 3 or f[3] == "unsure")
    n += 1
assert n == len(ref)
EOF
rm 'held/food/a,"quoted".png'
"$bin" classify p.hippotag --format jsonl held > full.jsonl
run "$bin" classify p.hippotag --format yaml held
rc1=$rc
run "$bin" classify p.hippotag
check "classify with a bad format or no paths exits 2" bash -c "[ $rc1 = 2 ] && [ $rc = 2 ]"

# --- shard ------------------------------------------------------------------
"$bin" classify p.hippotag --format jsonl held train > all.jsonl
"$bin" classify p.hippotag --format jsonl --shard 1/2 --jobs 1 held train > s1.jsonl
"$bin" classify p.hippotag --format jsonl --shard 2/2 --jobs 2 held train > s2.jsonl
check "--shard 1/2 + 2/2: disjoint, non-empty, union equals the full run" \
  bash -c "[ -s s1.jsonl ] && [ -s s2.jsonl ] && [ \"\$(sort s1.jsonl s2.jsonl)\" = \"\$(sort all.jsonl)\" ] && [ -z \"\$(sort s1.jsonl s2.jsonl | uniq -d)\" ]"
run "$bin" classify p.hippotag --shard 3/2 held
rc1=$rc
run "$bin" classify p.hippotag --shard 1 held
check "a bad --shard exits 2" bash -c "[ $rc1 = 2 ] && [ $rc = 2 ]"

# --- precision --------------------------------------------------------------
"$bin" classify p.hippotag --format jsonl --precision float32 held train > f32.jsonl
run "$bin" classify p.hippotag --format jsonl --precision bf16 held train
cp out bf16.jsonl
check "classify --precision bf16: the float32 labels, confidences within 0.1" \
  python3 - f32.jsonl bf16.jsonl <<'EOF'
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]
b = [json.loads(l) for l in open(sys.argv[2])]
assert len(a) == len(b) > 0
worst = 0
for x, y in zip(a, b):
    assert x["file"] == y["file"], (x, y)
    if "label" not in x:
        assert "label" not in y
        continue
    assert x["label"] == y["label"], (x, y)
    worst = max(worst, abs(x["confidence"] - y["confidence"]))
print("# bf16 vs float32: worst confidence difference %.4f" % worst)
assert worst <= 0.1, worst
EOF
"$bin" classify p.hippotag --format jsonl --precision f32 held train > again.jsonl
check "bfloat16 features are cached apart: float32 classify is unchanged" \
  bash -c "cmp -s again.jsonl f32.jsonl && [ \"\$(sqlite3 p.hippotag 'SELECT count(DISTINCT preprocess_version) FROM features')\" = 2 ]"
run "$bin" classify p.hippotag --precision half held
rc1=$rc
run "$bin" train p.hippotag --precision f16
check "a bad --precision exits 2" bash -c "[ $rc1 = 2 ] && [ $rc = 2 ] && grep -q precision err"

# --- suggest ----------------------------------------------------------------
run "$bin" suggest p.hippotag -n 4 train held
cp out sug.txt
check "suggest -n 4: 4 unlabelled files, most uncertain first, in [0, 1]" \
  python3 - sug.txt <<'EOF'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
assert len(rows) == 4, rows
u = [float(r[1]) for r in rows]
assert u == sorted(u, reverse=True) and all(0 <= x <= 1 for x in u)
assert all(r[0].startswith("held/") for r in rows), rows
EOF
run "$bin" suggest p.hippotag -n 3 train
check "suggest over labelled files only prints nothing" bash -c "[ $rc = 0 ] && [ ! -s out ]"

# --- eval -------------------------------------------------------------------
run "$bin" eval p.hippotag --tree held
check "eval (text): accuracy, per class, confusion" \
  bash -c "[ $rc = 0 ] && grep -q '^Accuracy' out && grep -q '^Confusion' out && grep -q vehicles out"
run "$bin" eval p.hippotag --tree held --format json
cp out eval.json
check "eval json agrees with classify on the same files" \
  python3 - eval.json full.jsonl <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
ref = [json.loads(l) for l in open(sys.argv[2])]
right = sum(l["label"] == l["file"].split("/")[1] for l in ref)
assert d["n_tested"] == len(ref) == 18, d["n_tested"]
assert abs(d["accuracy"] - right / len(ref)) < 1e-9, (d["accuracy"], right)
assert sum(map(sum, d["confusion"])) == 18 and d["failed"] == 0
EOF
mkdir -p held2 && cp -r held/animals held2/ && mkdir held2/dinosaurs held2/robots
cp held/food/* held2/dinosaurs/
run "$bin" eval p.hippotag --tree held2
check "eval with classes the project lacks exits 2 naming them" \
  bash -c "[ $rc = 2 ] && grep -q dinosaurs err && grep -q robots err"

# --- tag --------------------------------------------------------------------
cp -r held tagged
run "$bin" tag p.hippotag --dry-run tagged
check "tag --dry-run writes nothing" \
  bash -c "[ $rc = 0 ] && [ -z \"\$(find tagged -name '*.xmp')\" ] && grep -q 'would tag' out"
run "$bin" tag p.hippotag --sidecar --min-confidence 0 tagged
check "tag --sidecar writes one FILE.EXT.xmp per image" \
  bash -c "[ $rc = 0 ] && [ \$(find tagged -name '*.png.xmp' | wc -l) = 18 ]"
ok_kw=1
while IFS=$'\t' read -r f label conf status; do
  exiv2 -px "$f.xmp" > kw 2>/dev/null
  grep -Eq "^Xmp\.dc\.subject +XmpBag +1 +$label\$" kw \
    && grep -Eq "^Xmp\.lr\.hierarchicalSubject +XmpBag +1 +Hippotag\|$label\$" kw \
    && grep -Eq "^Xmp\.digiKam\.TagsList +XmpSeq +1 +Hippotag/$label\$" kw || ok_kw=0
done < out
check "the sidecars hold the predicted label (exiv2 reads it back)" test $ok_kw = 1
m1=$(manifest tagged; find tagged -name '*.xmp' -print0 | sort -z | xargs -0 sha256sum)
run "$bin" tag p.hippotag --min-confidence 0 tagged
m2=$(manifest tagged; find tagged -name '*.xmp' -print0 | sort -z | xargs -0 sha256sum)
check "tag twice: the second run changes nothing" \
  bash -c "[ $rc = 0 ] && [ '$m1' = '$m2' ] && [ \$(grep -c 'already tagged' out) = 18 ]"
cp -r held tagged2
p=$(python3 -c "
import json
c = sorted(json.loads(l)['confidence'] for l in open('full.jsonl'))
print((c[8] + c[9]) / 2)")
run "$bin" tag p.hippotag --min-confidence "$p" tagged2
check "tag --min-confidence P: files below P are reported unsure and get no sidecar" \
  python3 - out full.jsonl "$p" <<'EOF'
import json, os, sys
p = float(sys.argv[3])
ref = {"tagged2" + l["file"][4:]: l for l in map(json.loads, open(sys.argv[2]))}
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
assert len(rows) == 18
for f, label, conf, status in rows:
    below = ref[f]["confidence"] < p
    assert below == status.startswith("unsure"), (f, status)
    assert below != os.path.exists(f + ".xmp"), f
assert 0 < sum(s.startswith("unsure") for *_, s in rows) < 18
EOF
cp "$srcdir/tests/data/progressive.jpg" photo.jpg
exiv2 -M"set Exif.Image.Artist Ascii Hippotag Tester" -M"set Iptc.Application2.Keywords String holiday" photo.jpg
run "$bin" tag p.hippotag --in-place --min-confidence 0 photo.jpg
label=$(cut -f2 out)
exiv2 -pa photo.jpg > meta 2>/dev/null
check "tag --in-place keeps EXIF and old keywords and adds the label (XMP, IPTC)" \
  bash -c "[ $rc = 0 ] && [ ! -e photo.jpg.xmp ] && grep -q 'Exif.Image.Artist.*Hippotag Tester' meta && grep -q 'Iptc.Application2.Keywords.*holiday' meta && grep -Eq 'Iptc.Application2.Keywords +String +[0-9]+ +$label\$' meta && grep -Eq 'Xmp.dc.subject +XmpBag +1 +$label\$' meta"
s1=$(sha256sum < photo.jpg)
run "$bin" tag p.hippotag --in-place --min-confidence 0 photo.jpg
check "tag --in-place twice adds nothing twice" \
  bash -c "[ $rc = 0 ] && [ \"\$(sha256sum < photo.jpg)\" = '$s1' ] && grep -q 'already tagged' out"
run "$bin" tag p.hippotag --in-place --sidecar photo.jpg
check "tag with --sidecar and --in-place together exits 2" test $rc = 2

# --- sort -------------------------------------------------------------------
cp -r held src
before=$(manifest src)
run "$bin" sort p.hippotag --into dest --copy --dry-run src
check "sort --dry-run lists every file and creates nothing" \
  bash -c "[ $rc = 0 ] && [ \$(wc -l < out) = 18 ] && [ ! -e dest ] && [ '$before' = \"\$(manifest src)\" ]"
run "$bin" sort p.hippotag --into dest --copy src
journal=$(sed -n 's/^hippotag: journal: //p' err)
check "sort --copy: each file copied into its class folder, sources kept, journal named" \
  python3 - out full.jsonl "$rc" "$journal" <<'EOF'
import hashlib, json, os, sys
assert sys.argv[3] == "0" and os.path.isfile(sys.argv[4]), sys.argv[3:]
ref = {"src" + l["file"][4:]: l for l in map(json.loads, open(sys.argv[2]))}
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
assert len(rows) == 18
h = lambda p: hashlib.sha256(open(p, "rb").read()).hexdigest()
for src, dest, label, conf in rows:
    want = "unsure" if ref[src]["unsure"] else ref[src]["label"]
    assert label == want and os.path.basename(os.path.dirname(dest)) == want, (src, dest)
    assert h(src) == h(dest)
EOF
run "$bin" sort --undo "$journal"
check "sort --undo removes the copies and their folders" \
  bash -c "[ $rc = 0 ] && [ -z \"\$(find dest -type f ! -name '.*')\" ] && [ -z \"\$(find dest -mindepth 1 -type d)\" ] && [ '$before' = \"\$(manifest src)\" ]"
run "$bin" sort p.hippotag --into dest --move --journal "$tmp/move.journal" src
after=$( (cd dest && find . -type f ! -name '.*' -print0 | xargs -0 sha256sum | cut -d' ' -f1 | sort) )
check "sort --move: sources gone, every file once in dest, same bytes" \
  bash -c "[ $rc = 0 ] && [ -z \"\$(find src -type f)\" ] && [ \"\$(echo '$before' | cut -d' ' -f1 | sort)\" = '$after' ]"
run "$bin" sort --undo "$tmp/move.journal"
check "sort --undo after --move restores the tree byte for byte" \
  bash -c "[ $rc = 0 ] && [ '$before' = \"\$(manifest src)\" ] && [ -z \"\$(find dest -type f ! -name '.*')\" ]"
run "$bin" sort p.hippotag --into dest2 --copy --min-confidence "$p" --unsure leave src
check "sort --unsure leave: files below P stay, the rest are copied" \
  python3 - out "$rc" <<'EOF'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
assert sys.argv[2] == "0" and len(rows) == 18
un = [r for r in rows if r[2] == "unsure"]
assert 0 < len(un) < 18
for src, dest, label, conf in rows:
    assert (dest.endswith("/" + src) if label == "unsure" else "/dest2/" + label + "/" in dest), (src, dest)
EOF
run "$bin" sort p.hippotag --into dest3 --link --min-confidence "$p" src
check "sort --link --min-confidence P: links, unsure ones into DEST/unsure" \
  bash -c "[ $rc = 0 ] && [ \$(find dest3 -type l | wc -l) = 18 ] && [ \$(find dest3/unsure -type l | wc -l) = \$(grep -c '	unsure	' out) ]"
run "$bin" sort p.hippotag --into dest4 --copy --move src
rc1=$rc
run "$bin" sort p.hippotag src
rc2=$rc
run "$bin" sort --undo "$tmp/no-such.journal"
check "sort: two actions or no --into exit 2; a missing journal exits 3" \
  bash -c "[ $rc1 = 2 ] && [ $rc2 = 2 ] && [ $rc = 3 ]"

# --- edge cases of the project ------------------------------------------------
"$bin" init one.hippotag > /dev/null
"$bin" label one.hippotag --class solo held/animals/$(ls held/animals | head -1) > /dev/null 2>&1
"$bin" label one.hippotag --class many held/food > /dev/null 2>&1
run "$bin" train one.hippotag
check "a class with one example: train works and notes it was not tested" \
  bash -c "[ $rc = 0 ] && grep -q 'solo has 1 example' out"
"$bin" class add one.hippotag empty > /dev/null
run "$bin" train one.hippotag
check "a class without examples: train exits 3 naming it" \
  bash -c "[ $rc = 3 ] && grep -q \"'empty'\" err"

"$bin" init ml.hippotag --multi-label > /dev/null
"$bin" label ml.hippotag --tree train > /dev/null 2>&1
"$bin" train ml.hippotag > /dev/null 2>&1
run "$bin" classify ml.hippotag --format jsonl held/food
check "a multi-label project classifies with a list of labels" \
  python3 - out "$rc" <<'EOF'
import json, sys
assert sys.argv[2] == "0"
for l in map(json.loads, open(sys.argv[1])):
    assert all(l["scores"][x] >= 0.5 for x in l["labels"]), l
    assert set(l["labels"]) <= {"animals", "food", "vehicles"}
EOF

# read-only: root ignores file modes, so run as nobody when we are root
mkdir ro && cp p.hippotag ro/ && chmod 0444 ro/p.hippotag && chmod 0555 ro
chmod 0755 "$tmp"
as=""
if [ "$(id -u)" = 0 ]; then
  command -v setpriv >/dev/null && as="setpriv --reuid=65534 --regid=65534 --clear-groups"
fi
if [ "$(id -u)" = 0 ] && [ -z "$as" ]; then
  skip "read-only project: running as root without setpriv (THIS CASE DID NOT RUN)"
  skip "read-only project: running as root without setpriv (THIS CASE DID NOT RUN)"
elif ! $as "$bin" model info > /dev/null 2>&1; then
  skip "read-only project: the model is not readable by nobody (THIS CASE DID NOT RUN)"
  skip "read-only project: the model is not readable by nobody (THIS CASE DID NOT RUN)"
else
  run $as "$bin" classify ro/p.hippotag held/food
  check "a read-only project still classifies (read-only, says so)" \
    bash -c "[ $rc = 0 ] && [ \$(wc -l < out) = 6 ] && grep -q 'read-only' err"
  run $as "$bin" label ro/p.hippotag --class food held/food
  check "labelling into a read-only project exits 3 with a clear error" \
    bash -c "[ $rc = 3 ] && grep -q 'not writable' err"
fi

# locked: another process holds an exclusive transaction
python3 - p.hippotag > lock.out <<'EOF' &
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
time.sleep(20)
EOF
lock_pid=$!
for _ in $(seq 100); do grep -q locked lock.out && break; sleep 0.1; done
t0=$(date +%s.%N)
run "$bin" label p.hippotag --class food held/food
t1=$(date +%s.%N)
check "a locked project: label exits 3 saying it is locked, within the busy timeout" \
  bash -c "[ $rc = 3 ] && grep -q locked err && python3 -c 'import sys; sys.exit(not ($t1 - $t0 < 15))'"
run "$bin" classify p.hippotag held/food
check "a locked project still classifies (read-only)" \
  bash -c "[ $rc = 0 ] && [ \$(wc -l < out) = 6 ]"
kill "$lock_pid" 2>/dev/null; wait "$lock_pid" 2>/dev/null

# --- speed: 1,000 images of emoji-google with cached features ----------------
python3 - "$data/emoji-google" <<'EOF'
import os, sys
root = sys.argv[1]
classes = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)))
files = {c: sorted(os.listdir(os.path.join(root, c))) for c in classes}
picked, i = [], 0
while len(picked) < 1000:
    for c in classes:
        if i < len(files[c]) and len(picked) < 1000:
            picked.append((c, files[c][i]))
    i += 1
for c, f in picked:
    os.makedirs(os.path.join("emoji", c), exist_ok=True)
    os.symlink(os.path.join(root, c, f), os.path.join("emoji", c, f))
EOF
"$bin" init speed.hippotag > /dev/null
t0=$(date +%s.%N)
run "$bin" label speed.hippotag --tree emoji
t1=$(date +%s.%N)
check "labelled 1,000 emoji-google images" bash -c "[ $rc = 0 ] && [ \$(find emoji -type l | wc -l) = 1000 ]"
echo "# label 1000 images (computing features): $(python3 -c "print(f'{$t1 - $t0:.2f}')") s"
TIMEFORMAT='%R s wall, %U s user, %S s sys'
{ time "$bin" train speed.hippotag --format json > train-speed.json 2>/dev/null; } 2> t.train
echo "# train on 1000 labelled images with cached features: $(cat t.train)" \
     "(in-library: $(python3 -c "import json; print(round(json.load(open('train-speed.json'))['train_seconds'], 3))") s)"
{ time "$bin" classify speed.hippotag --format jsonl emoji > speed.jsonl 2>/dev/null; } 2> t.classify
echo "# classify a cached folder of 1000 images: $(cat t.classify)"
check "classify of the cached folder gives 1,000 lines" test "$(wc -l < speed.jsonl)" = 1000

echo "1..$n"
[ $failed = 0 ]
