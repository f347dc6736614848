#!/bin/bash
# Hostile inputs and faults through the hippotag CLI (docs/robustness.md):
# bad images in batches (features, classify, label), a file deleted while a
# batch runs, read-only files and folders, a project from a newer schema,
# damaged projects, two processes labelling and training one project at
# once, and bad models of both TF.js formats. Each bad input must give a
# clear per-file error or a correct result, the batch going on, exit code 1
# when some failed; nothing may crash. TAP output. Needs the default model
# (HIPPOTAG_MODEL_PATH), the shared data sets, python3 and ImageMagick's
# convert; says so loudly and skips when they are missing.
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
diag() { sed 's/^/# /'; }
tmp=$(mktemp -d); trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
chmod 0755 "$tmp"   # read-only cases run as nobody when we are root
cd "$tmp" || exit 1

if ! "$bin" model info >/dev/null 2>&1; then
  echo "1..0 # SKIP no default model: run ./setup or set HIPPOTAG_MODEL_PATH (THIS TEST DID NOT RUN)"
  exit 0
fi
if [ ! -d "$data/tuxpaint-stamps/animals" ]; then
  echo "1..0 # SKIP no data sets at $data: set HIPPOTAG_SHARED (THIS TEST DID NOT RUN)"
  exit 0
fi
IM=$(command -v convert-im6.q16 || command -v convert)
if ! command -v python3 >/dev/null || [ -z "$IM" ]; then
  echo "1..0 # SKIP python3 and ImageMagick's convert are needed (THIS TEST DID NOT RUN)"
  exit 0
fi
models=
IFS=: read -ra dirs <<< "${HIPPOTAG_MODEL_PATH:-}"
for d in "${dirs[@]}"; do
  [ -f "$d/mobilenet_v2/model.json" ] && [ -f "$d/mobilenet_v2_mid/model.json" ] && { models=$d; break; }
done

# rc of the last command, its stdout in out, stderr in err
run() { "$@" > out 2> err; rc=$?; }
# exit codes of a crash: a signal (128+) or a sanitizer's abort
not_crashed() { [ "$1" -lt 128 ] && ! grep -Eq 'Sanitizer|runtime error|CRITICAL|Segmentation' "$2"; }
# a picture of ImageMagick's plasma (seeded) in PNG24 (8-bit RGB)
plasma() { "$IM" -seed "$1" -size "${3:-48x32}" plasma: -depth 8 "PNG24:$2" 2>/dev/null; }
ds=$data/tuxpaint-stamps

# python helpers: features/classify lines, runs with a file deleted mid-way
cat > lines.py <<'EOF'
# lines.py JSONL: the lines as a dict file -> object (strict UTF-8 JSON)
import json, sys
def load(path):
    raw = open(path, "rb").read()
    text = raw.decode("utf-8")          # strict: raises on invalid UTF-8
    out = {}
    for line in text.splitlines():
        d = json.loads(line)
        assert d["file"] not in out, "twice: " + d["file"]
        out[d["file"]] = d
    return out
EOF
cat > trig.py <<'EOF'
# trig.py out|err VICTIM CMD...: runs CMD and deletes VICTIM as soon as CMD
# writes its first line on that stream (CMD then blocks on the full pipe
# until the line is read: the deletion always comes before CMD reaches the
# files after the first chunk); passes CMD's output and exit code through.
import os, subprocess, sys
stream, victim, cmd = sys.argv[1], sys.argv[2], sys.argv[3:]
p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                     bufsize=0)
first = (p.stdout if stream == "out" else p.stderr).readline()
os.unlink(victim)
out, err = p.communicate()
if stream == "out":
    out = first + out
else:
    err = first + err
sys.stdout.buffer.write(out)
sys.stderr.buffer.write(err)
sys.exit(p.returncode)
EOF

# ---------------------------------------------------------------------------
# 1. bad images through features, classify and label
mkdir -p bad/sub ref
plasma 1 bad/ok.png
"$IM" -seed 2 -size 64x48 plasma: -quality 90 bad/ok.jpg 2>/dev/null
: > bad/zero.jpg
"$IM" -seed 3 -size 160x120 plasma: -quality 90 big.jpg 2>/dev/null
head -c $(( $(stat -c %s big.jpg) / 2 )) big.jpg > bad/truncated.jpg
plasma 4 big.png 160x120
head -c $(( $(stat -c %s big.png) / 2 )) big.png > bad/truncated.png
cp bad/ok.png bad/png-named.jpg
python3 - <<'EOF'
# a valid PNG whose header says 100000 x 100000 (30 GB of pixels)
import struct, zlib
def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
ihdr = struct.pack(">IIBBBBB", 100000, 100000, 8, 2, 0, 0, 0)
open("bad/huge.png", "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
    + chunk(b"IDAT", zlib.compress(b"\0" * 30001)) + chunk(b"IEND", b""))
EOF
"$IM" -size 1x1 'xc:rgb(10,200,30)' PNG24:bad/one.png
"$IM" -size 16x16 'xc:rgb(10,200,30)' PNG24:ref/one-16x16.png
"$IM" -size 32x32 'xc:rgb(200,60,40)' -colorspace CMYK -quality 95 bad/cmyk.jpg
"$IM" -size 32x32 'xc:rgb(200,60,40)' PNG24:ref/cmyk-as-rgb.png
"$IM" -seed 5 -size 48x32 plasma: -depth 16 PNG48:bad/deep16.png 2>/dev/null
"$IM" bad/deep16.png -depth 8 PNG24:ref/deep16-as-8.png
"$IM" -size 48x32 gradient:gray20-gray90 \( -size 48x32 gradient:white-black -rotate 90 -resize 48x32! \) \
  -alpha off -compose copy_opacity -composite -colorspace Gray -depth 8 \
  -define png:color-type=4 bad/grey-alpha.png
"$IM" bad/grey-alpha.png -background white -alpha remove -alpha off -colorspace sRGB \
  -type TrueColor PNG24:ref/grey-alpha-flat.png
"$IM" -delay 10 -size 16x16 xc:red xc:blue -loop 0 bad/animated.gif
"$IM" -size 16x16 xc:red PNG24:ref/red.png
"$IM" -size 16x16 xc:blue PNG24:ref/blue.png
ln -s loop-b bad/loop-a; ln -s loop-a bad/loop-b   # a symlink loop (ELOOP)
ln -s .. bad/sub/up                                # a folder loop
nonutf8=$(printf 'bad/n\xff\xfeme.png')
cp bad/ok.png "$nonutf8"

check "the bad images are what they claim (file(1)/identify)" bash -c "
  identify bad/cmyk.jpg | grep -q CMYK && identify bad/deep16.png | grep -q 16-bit &&
  file bad/grey-alpha.png | grep -q 'gray+alpha' && [ \$(identify bad/animated.gif | wc -l) = 2 ] &&
  file bad/huge.png | grep -q '100000 x 100000' && file bad/png-named.jpg | grep -q PNG &&
  [ ! -s bad/zero.jpg ] && file bad/one.png | grep -q '1 x 1'"

cat > expect.py <<'EOF'
# expected outcome per file of bad/: None (a result) or a fragment of the error
import sys
NONUTF8 = "bad/n\ufffd\ufffdme.png"
EXPECT = {
    "bad/ok.png": None, "bad/ok.jpg": None, "bad/png-named.jpg": None,
    "bad/one.png": None, "bad/cmyk.jpg": None, "bad/deep16.png": None,
    "bad/grey-alpha.png": None, "bad/animated.gif": None, NONUTF8: None,
    "bad/zero.jpg": "the file is empty",
    "bad/truncated.jpg": "truncated",
    "bad/truncated.png": "truncated",
    "bad/huge.png": "100000 x 100000 pixels",
    "bad/loop-a": "Too many levels of symbolic links",
    "bad/loop-b": "Too many levels of symbolic links",
}
def check_outcomes(lines, ok_key):
    """lines: file -> object. Every file once, errors as expected."""
    assert set(lines) == set(EXPECT), sorted(set(lines) ^ set(EXPECT))
    for f, want in EXPECT.items():
        d = lines[f]
        if want is None:
            assert ok_key in d and "error" not in d, (f, d)
        else:
            assert want in d.get("error", ""), (f, d, want)
EOF

t0=$(date +%s.%N)
run "$bin" features --threads 1 bad
t1=$(date +%s.%N)
cp out feat.jsonl; cp err feat.err
check "features on the folder of bad images exits 1, quickly ($(python3 -c "print(f'{$t1 - $t0:.1f}')") s)" \
  bash -c "[ $rc = 1 ] && python3 -c 'import sys; sys.exit(not ($t1 - $t0 < 60))'"
check "features: one valid UTF-8 JSON line per file (the non-UTF-8 name lossily converted), each bad file a clear error, the others features" \
  python3 -c "
import sys; sys.path[:0] = ['.']
from lines import load; from expect import *
check_outcomes(load('feat.jsonl'), 'features')"
run "$bin" features --threads 1 --format f32 -o feat.f32 bad
check "features --format f32: exit 1, a row of NaN per failing file, each named on stderr with its reason" \
  bash -c "[ $rc = 1 ] && python3 -c \"
import array, math, sys; sys.path[:0] = ['.']
from expect import *
from lines import load
order = sorted(EXPECT, key=lambda f: f.encode('utf-8'))
err = open('err', 'rb').read().decode('utf-8')
v = array.array('f'); v.frombytes(open('feat.f32', 'rb').read())
dim = len(v) // len(EXPECT)
assert dim * len(EXPECT) == len(v) and dim > 0, len(v)
for f, want in EXPECT.items():
    row = v[dim * order.index(f):dim * (order.index(f) + 1)]
    assert all(map(math.isnan, row)) == (want is not None), f
    if want:
        assert f.split('/')[-1] in err and want in err, (f, want)
\""
diag < err

run "$bin" features --threads 1 ref
cp out ref.jsonl
check "a PNG named .jpg, a 1x1 image, CMYK, 16-bit, grey+alpha, the first frame of an animated GIF and the non-UTF-8 name give the features of their plain counterparts" \
  python3 - <<'EOF'
import math, sys
sys.path[:0] = ["."]
from lines import load
from expect import NONUTF8
f = {k: v["features"] for k, v in load("feat.jsonl").items() if "features" in v}
r = {k: v["features"] for k, v in load("ref.jsonl").items()}
def cos(a, b):
    return sum(x * y for x, y in zip(a, b)) / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))
def maxdiff(a, b):
    return max(abs(x - y) for x, y in zip(a, b))
res = {
    "png-named.jpg == ok.png": maxdiff(f["bad/png-named.jpg"], f["bad/ok.png"]),
    "non-UTF-8 name == ok.png": maxdiff(f[NONUTF8], f["bad/ok.png"]),
    "1x1 == 16x16 of its colour": maxdiff(f["bad/one.png"], r["ref/one-16x16.png"]),
    "animated GIF == first frame (red)": maxdiff(f["bad/animated.gif"], r["ref/red.png"]),
}
sims = {
    "CMYK JPEG ~ the RGB colour": cos(f["bad/cmyk.jpg"], r["ref/cmyk-as-rgb.png"]),
    "16-bit PNG ~ 8-bit copy": cos(f["bad/deep16.png"], r["ref/deep16-as-8.png"]),
    "grey+alpha ~ flattened on white": cos(f["bad/grey-alpha.png"], r["ref/grey-alpha-flat.png"]),
    "animated GIF vs second frame (blue)": cos(f["bad/animated.gif"], r["ref/blue.png"]),
}
for k, v in res.items():
    print("# max |diff| %s: %.3g" % (k, v))
for k, v in sims.items():
    print("# cosine %s: %.6f" % (k, v))
assert all(v < 1e-5 for v in res.values()), res
assert sims["CMYK JPEG ~ the RGB colour"] > 0.99, sims
assert sims["16-bit PNG ~ 8-bit copy"] > 0.999, sims
assert sims["grey+alpha ~ flattened on white"] > 0.999, sims
assert sims["animated GIF vs second frame (blue)"] < 0.99, sims
EOF

# a small trained project (2 classes x 6 tuxpaint stamps)
for c in animals food; do
  mkdir -p train/$c
  find "$ds/$c" -maxdepth 1 -name '*.png' | LC_ALL=C sort | head -6 | xargs cp -t train/$c
done
"$bin" init p.hippotag > /dev/null && "$bin" label p.hippotag --tree train > /dev/null 2>&1 \
  && "$bin" train p.hippotag > /dev/null 2>&1
check "a project trained on 2 classes x 6 for the batch commands" test $? = 0

run "$bin" classify p.hippotag --format jsonl --jobs 1 bad
cp out classify.jsonl
check "classify --format jsonl on the bad images exits 1: valid UTF-8 JSON, every file once, clear errors, the batch goes on" \
  bash -c "[ $rc = 1 ] && python3 -c \"
import sys; sys.path[:0] = ['.']
from lines import load; from expect import *
check_outcomes(load('classify.jsonl'), 'label')\""
run "$bin" classify p.hippotag --format csv --jobs 1 bad
cp out classify.csv
check "classify --format csv: strict UTF-8, a row per file, errors in the error column" \
  bash -c "[ $rc = 1 ] && python3 -c \"
import csv, io, sys; sys.path[:0] = ['.']
from expect import *
rows = list(csv.reader(io.StringIO(open('classify.csv', 'rb').read().decode('utf-8'), newline='')))
got = {r[0]: r for r in rows[1:]}
assert set(got) == set(EXPECT), sorted(set(got) ^ set(EXPECT))
for f, want in EXPECT.items():
    assert (want is None and got[f][1] and not got[f][5]) or (want and want in got[f][5]), got[f]
\""
run "$bin" classify p.hippotag --jobs 1 bad
check "classify text: strict UTF-8, a line per image that decoded, exit 1" \
  bash -c "[ $rc = 1 ] && python3 -c \"
lines = open('out', 'rb').read().decode('utf-8').splitlines()
assert len(lines) == 9, lines\""

cp p.hippotag l.hippotag
run "$bin" label l.hippotag --class food --jobs 1 bad
check "label on the bad images exits 1: '9 labelled, 6 failed', each failure named on stderr" \
  bash -c "[ $rc = 1 ] && grep -q '^food	9 labelled, 6 failed$' out &&
           [ \$(grep -c 'truncated\|empty\|100000 x 100000\|symbolic links' err) = 6 ]"
run "$bin" class list l.hippotag
check "label: the 9 good images were labelled; 7 distinct contents (food 6 -> 13)" \
  bash -c "grep -q '^food	13$' out"

# ---------------------------------------------------------------------------
# 2. a file deleted while the batch runs (between the scan and its decode)
mkdir del1
for i in $(seq -w 1 40); do plasma "1$i" del1/img$i.png 24x24; done
run python3 trig.py out del1/img40.png "$bin" features --threads 1 --batch 4 del1
cp out del1.jsonl
check "features: a file deleted after the scan gives its own error ('No such file'); the 39 others have features; exit 1" \
  bash -c "[ $rc = 1 ] && python3 -c \"
import sys; sys.path[:0] = ['.']
from lines import load
d = load('del1.jsonl')
assert len(d) == 40 and all('features' in v for k, v in d.items() if k != 'del1/img40.png'), len(d)
assert 'No such file' in d['del1/img40.png']['error'], d['del1/img40.png']\""

# classify and label work in chunks of 256 files: the first chunk is
# cached copies of a labelled image (classify) or empty files (label) with
# long names, so that its output fills the pipe
long=$(printf 'x%.0s' $(seq 200))
mkdir del2 del3
first=$(ls train/food/* | head -1)
for i in $(seq -w 1 256); do cp "$first" "del2/a$long$i.png"; : > "del3/a$long$i.png"; done
for i in $(seq -w 1 8); do plasma "2$i" "del2/b$i.png" 24x24; plasma "3$i" "del3/b$i.png" 24x24; done
plasma 29 del2/z-victim.png 24x24; plasma 39 del3/z-victim.png 24x24
run python3 trig.py out del2/z-victim.png "$bin" classify p.hippotag --format jsonl --jobs 1 del2
cp out del2.jsonl
check "classify: a file deleted after the scan gives its own error; the 264 others classified; exit 1" \
  bash -c "[ $rc = 1 ] && python3 -c \"
import sys; sys.path[:0] = ['.']
from lines import load
d = load('del2.jsonl')
assert len(d) == 265 and sum('label' in v for v in d.values()) == 264, len(d)
assert 'No such file' in d['del2/z-victim.png']['error'], d['del2/z-victim.png']\""
cp p.hippotag d.hippotag
run python3 trig.py err del3/z-victim.png "$bin" label d.hippotag --class animals --jobs 1 del3
check "label: a file deleted after the scan fails alone ('8 labelled, 257 failed'); exit 1" \
  bash -c "[ $rc = 1 ] && grep -q '^animals	8 labelled, 257 failed$' out &&
           grep -q 'z-victim.png.*No such file' err"

# ---------------------------------------------------------------------------
# 3. read-only files and folders (as nobody when we are root: root ignores
# file modes)
as=()
if [ "$(id -u)" = 0 ]; then
  command -v setpriv > /dev/null && as=(setpriv --reuid=65534 --regid=65534 --clear-groups)
fi
if [ "$(id -u)" = 0 ] && [ ${#as[@]} = 0 ]; then
  for _ in 1 2 3 4 5 6; do skip "read-only cases: root without setpriv (THIS CASE DID NOT RUN)"; done
elif ! "${as[@]}" "$bin" model info > /dev/null 2>&1; then
  for _ in 1 2 3 4 5 6; do skip "read-only cases: the model is not readable by nobody (THIS CASE DID NOT RUN)"; done
else
  mkdir -p rw ro-file ro-dir src-ro
  cp p.hippotag rw/p.hippotag
  cp "$srcdir/tests/data/progressive.jpg" ro-file/locked.jpg
  cp "$srcdir/tests/data/progressive.jpg" ro-file/open.jpg
  cp bad/ok.jpg ro-dir/a.jpg
  cp bad/ok.jpg rw/b.jpg
  cp bad/ok.jpg bad/ok.png src-ro/
  [ "$(id -u)" = 0 ] && chown -R 65534:65534 rw ro-file ro-dir src-ro
  chmod 0444 ro-file/locked.jpg
  chmod 0555 ro-dir src-ro
  sum=$(sha256sum < ro-file/locked.jpg)
  run "${as[@]}" "$bin" tag rw/p.hippotag --in-place --min-confidence 0 ro-file
  check "tag --in-place on a read-only file (0444) exits 1, says so, leaves it byte for byte; the writable one is tagged" \
    bash -c "[ $rc = 1 ] && grep -q 'locked.jpg.*read-only' err && [ \"\$(sha256sum < ro-file/locked.jpg)\" = '$sum' ] &&
             grep -q 'open.jpg	.*	tagged' out && [ \$(ls -A ro-file | wc -l) = 2 ]"
  cat err | diag
  if [ "$(id -u)" = 0 ]; then
    run "$bin" tag rw/p.hippotag --in-place --min-confidence 0 ro-file/locked.jpg
    check "tag --in-place as root also leaves a 0444 file alone (exit 1)" \
      bash -c "[ $rc = 1 ] && grep -q 'read-only' err && [ \"\$(sha256sum < ro-file/locked.jpg)\" = '$sum' ]"
  else
    skip "tag --in-place as root on a 0444 file: not root (THIS CASE DID NOT RUN)"
  fi
  run "${as[@]}" "$bin" tag rw/p.hippotag --sidecar --min-confidence 0 ro-dir rw/b.jpg
  check "tag --sidecar into a read-only folder: exit 1, the error names the file, no sidecar; the other file gets its sidecar" \
    bash -c "[ $rc = 1 ] && grep -q 'ro-dir/a.jpg' err && [ ! -e ro-dir/a.jpg.xmp ] && [ -s rw/b.jpg.xmp ]"
  cat err | diag
  before=$(cd src-ro && sha256sum ./*)
  run "${as[@]}" "$bin" sort rw/p.hippotag --into "$tmp/rw/sorted" --move --min-confidence 0 src-ro
  check "sort --move from a read-only folder: exit 1, an error per file, every file still in place, none in the destination" \
    bash -c "[ $rc = 1 ] && [ \$(grep -c 'src-ro/ok.*Permission denied' err) = 2 ] &&
             [ \"\$(cd src-ro && sha256sum ./*)\" = '$before' ] && [ -z \"\$(find rw/sorted -type f ! -name '.*')\" ]"
  cat err | diag
  run "${as[@]}" "$bin" sort rw/p.hippotag --into "$tmp/rw/copied" --copy --min-confidence 0 src-ro
  check "sort --copy from a read-only folder works (exit 0, 2 copies)" \
    bash -c "[ $rc = 0 ] && [ \$(find rw/copied -type f ! -name '.*' | wc -l) = 2 ]"
  mkdir -p rw/tree/locked
  cp bad/ok.jpg rw/tree/
  cp bad/ok.jpg rw/tree/locked/
  [ "$(id -u)" = 0 ] && chown -R 65534:65534 rw/tree
  chmod 0 rw/tree/locked
  run "${as[@]}" "$bin" classify rw/p.hippotag --format jsonl rw/tree
  cp out locked.jsonl
  check "a folder that cannot be read (mode 000) in a batch: not skipped in silence but an error line naming it ('Permission denied'); the rest classified; exit 1" \
    bash -c "[ $rc = 1 ] && python3 -c \"
import sys; sys.path[:0] = ['.']
from lines import load
d = load('locked.jsonl')
assert sorted(d) == ['rw/tree/locked', 'rw/tree/ok.jpg'], sorted(d)
assert 'Permission denied' in d['rw/tree/locked']['error'] and 'label' in d['rw/tree/ok.jpg'], d\""
  chmod 0755 rw/tree/locked
fi

# ---------------------------------------------------------------------------
# 4. projects: a newer schema, damage, two writers at once
cp p.hippotag newer.hippotag
python3 - newer.hippotag <<'EOF'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("PRAGMA user_version = 99")
c.execute("UPDATE meta SET value = 'Hippotag 9.0' WHERE key = 'last_written_by'")
c.commit()
c.execute("PRAGMA journal_mode = DELETE")
EOF
sum=$(sha256sum < newer.hippotag)
ok_newer=1
for cmd in "classify newer.hippotag bad/ok.png" "label newer.hippotag --class food bad/ok.png" \
           "train newer.hippotag" "class add newer.hippotag birds"; do
  # shellcheck disable=SC2086
  run "$bin" $cmd
  { [ $rc = 3 ] && grep -q 'newer.hippotag was written by a newer Hippotag (schema 99 > [0-9]*; last written by Hippotag 9.0)' err; } \
    || { ok_newer=0; echo "$cmd: exit $rc: $(cat err)" | diag; }
done
check "a project of a newer schema: classify, label, train and class add exit 3 naming both versions; the file is untouched" \
  bash -c "[ $ok_newer = 1 ] && [ \"\$(sha256sum < newer.hippotag)\" = '$sum' ]"
sed -n 1p err | diag

python3 - p.hippotag <<'EOF'
# damaged copies: random bytes overwritten (few or many, anywhere or in the
# first pages), and truncations
import random, sys
orig = open(sys.argv[1], "rb").read()
r = random.Random(7)
for i in range(12):
    d = bytearray(orig)
    for _ in range(r.choice((1, 4, 16, 64, 512))):
        at = r.randrange(min(len(d), 8192)) if r.random() < 0.5 else r.randrange(len(d))
        d[at] = r.randrange(256)
    open("damaged-%02d.hippotag" % i, "wb").write(d)
for i, frac in enumerate((0.1, 0.5, 0.9)):
    open("cut-%d.hippotag" % i, "wb").write(orig[:int(len(orig) * frac)])
open("cut-header.hippotag", "wb").write(orig[:50])
EOF
crashes=0; refused=0; worked=0
for f in damaged-*.hippotag cut-*.hippotag; do
  for cmd in "classify $f --format jsonl bad/ok.png" "train $f" "label $f --class food bad/ok.jpg"; do
    # shellcheck disable=SC2086
    run "$bin" $cmd
    if ! not_crashed $rc err || [ $rc = 2 ] || { [ $rc != 0 ] && ! grep -q '^hippotag: ' err; }; then
      crashes=$((crashes + 1)); echo "$cmd: exit $rc: $(head -3 err)" | diag
    elif [ $rc = 0 ]; then worked=$((worked + 1))
    else refused=$((refused + 1))
    fi
  done
done
echo "# damaged projects: $refused runs refused with an error, $worked worked (the damage was elsewhere)"
check "16 damaged projects x classify, train, label: a clear error (exit 1 or 3) or a result, never a crash" test $crashes = 0
run "$bin" classify cut-1.hippotag bad/ok.png
check "a project cut in half: exit 3, 'the file is damaged ... restore it from a backup'" \
  bash -c "[ $rc = 3 ] && grep -q 'cut-1.hippotag.*damaged.*backup' err"
sed -n 1p err | diag

# two processes labelling and a third training, all at once, three times
for c in animals food; do
  mkdir -p conc/$c
  find "$ds/$c" -maxdepth 1 -name '*.png' | LC_ALL=C sort | sed -n '7,36p' | xargs cp -t conc/$c
done
cp p.hippotag c.hippotag
conc_ok=1
: > conc.log
for round in 1 2 3; do
  "$bin" label c.hippotag --class animals --jobs 1 conc/animals > l1.out 2> l1.err & p1=$!
  "$bin" label c.hippotag --class food --jobs 1 conc/food > l2.out 2> l2.err & p2=$!
  trains=0
  while kill -0 $p1 2>/dev/null || kill -0 $p2 2>/dev/null; do
    "$bin" train c.hippotag > t.out 2> t.err; trc=$?
    trains=$((trains + 1))
    if [ $trc != 0 ] && ! { [ $trc = 3 ] && grep -q 'locked' t.err; }; then
      conc_ok=0; echo "round $round: train exit $trc: $(cat t.err)" >> conc.log
    fi
  done
  wait $p1; r1=$?; wait $p2; r2=$?
  for k in 1 2; do
    r=$([ $k = 1 ] && echo $r1 || echo $r2)
    if [ "$r" != 0 ] && ! { [ "$r" = 3 ] && grep -q 'locked' l$k.err; }; then
      conc_ok=0; echo "round $round: label $k exit $r: $(cat l$k.err)" >> conc.log
    fi
  done
  echo "round $round: label exits $r1 $r2, $trains trainings meanwhile" >> conc.log
  # the next round relabels the same files: unlabel them first
  [ $round -lt 3 ] && "$bin" unlabel c.hippotag conc > /dev/null 2>&1
done
diag < conc.log
"$bin" class list c.hippotag > list
"$bin" train c.hippotag > train.out 2>&1; trc=$?
python3 - c.hippotag > integrity <<'EOF'
import sqlite3, sys
c = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
print(c.execute("PRAGMA integrity_check").fetchone()[0])
print(c.execute("SELECT count(*) FROM examples e LEFT JOIN features f ON f.content_hash ="
                " e.content_hash WHERE f.content_hash IS NULL").fetchone()[0])
EOF
check "two labelling processes and a training loop on one project: each succeeds or gets a clear 'locked' error; the project stays consistent (36 + 36 examples, integrity ok, every example has features, train works)" \
  bash -c "[ $conc_ok = 1 ] && grep -q '^animals	36$' list && grep -q '^food	36$' list &&
           [ \"\$(cat integrity)\" = \"\$(printf 'ok\n0')\" ] && [ $trc = 0 ]"

# ---------------------------------------------------------------------------
# 5. a full disk: the project and the images on a 1 MB tmpfs (in a private
# mount namespace: needs root), filled up to its last KEEP KiB, for KEEP
# from 0 to 160 KiB in steps of 16: label 8 new images, train, write sidecars, tag in
# place. Each run works or fails with a clear error; the project and the
# images stay intact (a label is all or nothing), and with room again the
# same label works.
cat > full.sh <<'EOF'
set -u
bin=$1
mkdir -p mnt
mount -t tmpfs -o size=1m tmpfs mnt || { echo "SKIP cannot mount a tmpfs"; exit 0; }
mkdir mnt/img
for i in 1 2 3 4 5 6; do cp bad/ok.jpg "mnt/img/$i.jpg"; done
cp -r fresh mnt/fresh
before=$("$bin" class list p.hippotag)
after=$(echo "$before" | sed 's/^food	6$/food	14/')
bad=0; n_label_ok=0; n_label_full=0; n_open_full=0; n_tag_full=0; n_tag_ok=0
note() { echo "DIAG keep $keep KiB: $*"; }
for keep in $(seq 0 16 160); do
  rm -f mnt/p.hippotag* mnt/img/*.xmp mnt/filler
  cp p.hippotag mnt/p.hippotag
  dd if=/dev/zero of=mnt/filler bs=4k 2>/dev/null   # until the disk is full
  truncate -s "-${keep}k" mnt/filler
  "$bin" label mnt/p.hippotag --class food --jobs 1 mnt/fresh > out 2> err; rc=$?
  if [ $rc = 0 ]; then
    n_label_ok=$((n_label_ok + 1))
  elif [ $rc = 3 ] && grep -q 'the disk is full.*nothing was changed' err; then
    n_label_full=$((n_label_full + 1))
    grep -q 'cannot open' err && n_open_full=$((n_open_full + 1))
  else
    bad=1; note "label exit $rc: $(cat err)"
  fi
  "$bin" train mnt/p.hippotag > out 2> err; trc=$?
  if [ $trc != 0 ] && ! { [ $trc = 3 ] && grep -q 'the disk is full' err; }; then
    bad=1; note "train exit $trc: $(cat err)"
  fi
  "$bin" tag mnt/p.hippotag --sidecar --min-confidence 0 mnt/img > out 2> err; tc=$?
  if [ $tc = 0 ]; then n_tag_ok=$((n_tag_ok + 1))
  elif { [ $tc = 1 ] || [ $tc = 3 ]; } && grep -q 'No space left on device\|the disk is full' err; then
    n_tag_full=$((n_tag_full + 1))
  else
    bad=1; note "tag --sidecar exit $tc: $(cat err)"
  fi
  "$bin" tag mnt/p.hippotag --in-place --min-confidence 0 mnt/img > out 2> err; tc=$?
  if [ $tc != 0 ] && ! { { [ $tc = 1 ] || [ $tc = 3 ]; } && grep -q 'No space left on device\|the disk is full' err; }; then
    bad=1; note "tag --in-place exit $tc: $(cat err)"
  fi
  rm mnt/filler
  now=$("$bin" class list mnt/p.hippotag)
  { [ "$now" = "$before" ] && [ $rc != 0 ]; } || { [ "$now" = "$after" ] && [ $rc = 0 ]; } \
    || { bad=1; note "after label exit $rc the classes are: $now"; }
  ok_db=$(python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("PRAGMA integrity_check").fetchone()[0])' mnt/p.hippotag)
  [ "$ok_db" = ok ] || { bad=1; note "integrity: $ok_db"; }
  # in place may have tagged some: the pixels are the same, the files
  # either the originals or complete rewrites that read back
  for f in mnt/img/*.jpg; do
    identify "$f" > /dev/null 2>&1 || { bad=1; note "$f does not decode"; }
  done
  [ -z "$(ls -A mnt/img | grep -v '\.jpg$' | grep -v '\.jpg\.xmp$')" ] \
    || { bad=1; note "left in mnt/img: $(ls -A mnt/img)"; }
  for i in 1 2 3 4 5 6; do cp bad/ok.jpg "mnt/img/$i.jpg"; done
done
echo "DIAG label: $n_label_ok worked, $n_label_full refused with 'the disk is full' ($n_open_full of them on opening the project)"
echo "DIAG tag --sidecar: $n_tag_ok worked, $n_tag_full stopped by the full disk"
[ $bad = 0 ] && [ $n_label_ok -gt 0 ] && [ $((n_label_full - n_open_full)) -gt 0 ] && [ $n_tag_full -gt 0 ] \
  && echo "PASS a full disk at 11 sizes (0-160 KiB free): label, train, tag --sidecar and --in-place each work or fail with 'the disk is full' / 'No space left on device'; a label is all or nothing (some refused on opening the project, some at the commit), the project passes integrity_check, the images decode, no temporary file is left" \
  || echo "FAIL a full disk at 11 sizes: see the notes above"
"$bin" label mnt/p.hippotag --class food --jobs 1 mnt/fresh > out 2> err; rc=$?
[ $rc = 0 ] && echo "PASS with room again the same label works" || echo "FAIL with room again: exit $rc $(cat err)"
umount mnt
EOF
mkdir fresh
for i in 1 2 3 4 5 6 7 8; do plasma "5$i" "fresh/f$i.png" 64x64; done
if [ "$(id -u)" = 0 ] && command -v unshare > /dev/null; then
  unshare --mount --propagation private bash full.sh "$bin" > full.out 2>&1
else
  echo "SKIP not root: no tmpfs" > full.out
fi
if grep -q '^SKIP' full.out; then
  why=$(sed -n 's/^SKIP //p' full.out)
  for _ in 1 2; do skip "a full disk: $why (THIS CASE DID NOT RUN)"; done
else
  while IFS= read -r line; do
    case $line in
      PASS\ *) ok "${line#PASS }" ;;
      FAIL\ *) fail "${line#FAIL }" ;;
      DIAG\ *) echo "# ${line#DIAG }" ;;
      *) echo "# $line" ;;
    esac
  done < full.out
fi

# ---------------------------------------------------------------------------
# 6. bad models of both formats through the CLI
if [ -z "$models" ]; then
  skip "bad models: mobilenet_v2 and mobilenet_v2_mid not in HIPPOTAG_MODEL_PATH (THIS CASE DID NOT RUN)"
  skip "bad models in a project: no models (THIS CASE DID NOT RUN)"
else
  python3 - "$models" <<'EOF'
import json, os, shutil, sys
M = sys.argv[1]
def mk(name, src, edit=None, shard_edit=None):
    d = os.path.join("bm", name)
    os.makedirs(d)
    m = json.load(open(os.path.join(M, src, "model.json")))
    for f in os.listdir(os.path.join(M, src)):
        if f.endswith(".bin"):
            shutil.copy(os.path.join(M, src, f), d)
    if edit:
        edit(m)
    if shard_edit:
        shard_edit(d)
    json.dump(m, open(os.path.join(d, "model.json"), "w"))
def ops(m):
    return [x for x in m["modelTopology"]["node"] if x["op"] not in ("Const", "Placeholder")]
def cycle(m):
    ops(m)[0]["input"][0] = ops(m)[5]["name"]
def missing(m):
    ops(m)[3]["input"][0] = "no/such/node"
def no_input(m):
    m["modelTopology"]["node"] = [x for x in m["modelTopology"]["node"] if x["op"] != "Placeholder"]
def l_cycle(m):
    layers = m["modelTopology"]["model_config"]["config"]["layers"]
    layers[1]["inbound_nodes"] = [[[layers[5]["name"], 0, 0, {}]]]
def l_missing(m):
    layers = m["modelTopology"]["model_config"]["config"]["layers"]
    layers[3]["inbound_nodes"] = [[["no_such_layer", 0, 0, {}]]]
def inf_scale(m):
    m["weightsManifest"][0]["weights"][0]["quantization"]["scale"] = 1e38
def size(m):
    m["weightsManifest"][0]["weights"][0]["shape"][2] *= 2
def shape(m):   # the same number of values, another layout
    s = m["weightsManifest"][0]["weights"][0]["shape"]
    s[2], s[3] = s[3], s[2]
def cut(d):
    p = sorted(f for f in os.listdir(d) if f.endswith(".bin"))[-1]
    data = open(os.path.join(d, p), "rb").read()
    open(os.path.join(d, p), "wb").write(data[:len(data) // 2])
for fmt, src in (("graph", "mobilenet_v2_mid"), ("layers", "mobilenet_v2")):
    mk(fmt + "-truncated-shard", src, shard_edit=cut)
    mk(fmt + "-inf-weights", src, inf_scale)
    mk(fmt + "-wrong-size", src, size)
    mk(fmt + "-wrong-shape", src, shape)
mk("graph-cycle", "mobilenet_v2_mid", cycle)
mk("graph-missing-input", "mobilenet_v2_mid", missing)
mk("graph-no-placeholder", "mobilenet_v2_mid", no_input)
mk("layers-cycle", "mobilenet_v2", l_cycle)
mk("layers-missing-input", "mobilenet_v2", l_missing)
EOF
  cat > bm/expect <<'EOF'
graph-truncated-shard	has [0-9]* bytes but its [0-9]* tensors need
graph-inf-weights	has a NaN or infinite value
graph-wrong-size	has [0-9]* bytes but its [0-9]* tensors need
graph-wrong-shape	input channels
graph-cycle	cycle
graph-missing-input	input 'no/such/node' does not exist
graph-no-placeholder	input 'input' does not exist
layers-truncated-shard	has [0-9]* bytes but its [0-9]* tensors need
layers-inf-weights	has a NaN or infinite value
layers-wrong-size	has [0-9]* bytes but its [0-9]* tensors need
layers-wrong-shape	has a shape that does not fit the layer
layers-cycle	cycle
layers-missing-input	no_such_layer
EOF
  bm_ok=1
  while IFS=$'\t' read -r name want; do
    run "$bin" features --model "bm/$name" bad/ok.png
    if [ $rc = 3 ] && grep -q "bm/$name/model.json: .*$want" err && not_crashed $rc err; then
      echo "$name: $(cut -c1-220 err)" | diag
    else
      bm_ok=0; echo "$name: exit $rc: $(cat err)" | diag
    fi
  done < bm/expect
  check "13 bad models (graph and layers: truncated shard, Inf weights, wrong size, wrong shape, cycle, missing input): exit 3 with a message naming the file and the fault" test $bm_ok = 1

  # a project whose model went bad after training
  mkdir -p pm && cp -r "$models/mobilenet_v2" pm/model
  "$bin" init pm.hippotag --model "$tmp/pm/model" > /dev/null && "$bin" label pm.hippotag --tree train > /dev/null 2>&1
  rm pm/model/group1-shard1of1.bin && cp bm/layers-truncated-shard/group1-shard1of1.bin pm/model/
  run "$bin" classify pm.hippotag bad/ok.png
  rc1=$rc; cp err e1
  run "$bin" label pm.hippotag --class food bad/ok.png
  check "a project whose model file was damaged: classify and label exit 3 naming the model and the fault" \
    bash -c "[ $rc1 = 3 ] && [ $rc = 3 ] && grep -q 'pm/model/model.json: .*tensors need' e1 && grep -q 'tensors need' err"
  diag < e1
fi

echo "1..$n"
[ $failed = 0 ]
