#!/bin/bash
# The engine commands of the hippotag CLI: output formats and exit codes.
# TAP output. Needs the default model (HIPPOTAG_MODEL_PATH) and the darknet
# photos; says so loudly and skips when they are missing.
set -u
bin=${HIPPOTAG_BIN:?}
photos=/usr/share/darknet/data
n=0; failed=0
ok()   { n=$((n + 1)); echo "ok $n - $1"; }
fail() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else fail "$what"; fi; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

if ! "$bin" model info >/dev/null 2>&1 || [ ! -f $photos/dog.jpg ]; then
  echo "1..0 # SKIP no default model or no darknet photos: run ./setup (THIS TEST DID NOT RUN)"
  exit 0
fi

"$bin" --version > "$tmp/v"; rc=$?
check "--version exits 0 and names the version" \
  bash -c "[ $rc = 0 ] && grep -q '^hippotag [0-9]' '$tmp/v'"

"$bin" model info --model mobilenet_v2 --format json > "$tmp/info.json"; rc=$?
check "model info --format json is JSON with layers" \
  bash -c "[ $rc = 0 ] && python3 -c 'import json,sys; d=json.load(open(\"$tmp/info.json\")); assert d[\"input\"]==[224,224,3]; assert len(d[\"layers\"])==162; assert d[\"params\"]==2619461' "
"$bin" model info > "$tmp/info.txt"
check "model info text names the default model and layer" \
  bash -c "grep -q '^name: *mobilenet_v2_mid' '$tmp/info.txt' && grep -q '^default layer: .*expanded_conv_13/expand/Relu6' '$tmp/info.txt'"

"$bin" model info --model /nonexistent/model.json 2> "$tmp/err"; rc=$?
check "a missing model exits 3 with a message" bash -c "[ $rc = 3 ] && grep -q 'no model' '$tmp/err'"
"$bin" model info --format xml 2>/dev/null; rc=$?
check "a bad --format exits 2" test $rc = 2
"$bin" frobnicate 2>/dev/null; rc=$?
check "an unknown command exits 2" test $rc = 2
"$bin" features 2>/dev/null; rc=$?
check "features without paths exits 2" test $rc = 2
"$bin" features --layer no_such_layer $photos/dog.jpg 2> "$tmp/err" >/dev/null; rc=$?
check "an unknown layer exits 2 and names it" bash -c "[ $rc = 2 ] && grep -q no_such_layer '$tmp/err'"

: > "$tmp/empty.jpg"
echo "not an image" > "$tmp/text.png"
"$bin" features $photos/dog.jpg "$tmp/empty.jpg" $photos/eagle.jpg "$tmp/text.png" /nonexistent.jpg > "$tmp/f.jsonl"; rc=$?
check "features with bad inputs exits 1" test $rc = 1
check "one jsonl line per input, in order" \
  python3 - "$tmp/f.jsonl" <<'EOF'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert [l["file"].rsplit("/", 1)[-1] for l in lines] == ["dog.jpg", "empty.jpg", "eagle.jpg", "text.png", "nonexistent.jpg"], lines
assert "features" in lines[0] and lines[0]["dim"] == len(lines[0]["features"]) and lines[0]["layer"]
for i in (1, 3, 4):
    assert "error" in lines[i] and lines[i]["error"], lines[i]
assert "features" in lines[2]
EOF

"$bin" features --format f32 -o "$tmp/f.f32" $photos/*.jpg; rc=$?
dim=$("$bin" features $photos/dog.jpg | python3 -c 'import json,sys; print(json.load(sys.stdin)["dim"])')
nimg=$(ls $photos/*.jpg | wc -l)
check "f32 output is N x dim floats" \
  bash -c "[ $rc = 0 ] && [ \$(stat -c %s '$tmp/f.f32') = $(( nimg * dim * 4 )) ]"

"$bin" features --model mobilenet_v2 --layer block_10_project_BN+block_10_expand_relu $photos/dog.jpg > "$tmp/cat.jsonl"
check "concatenated layers: 96 + 384 dims" \
  python3 -c "import json; d=json.load(open('$tmp/cat.jsonl')); assert d['dim']==480 and len(d['features'])==480, d['dim']"

mkdir -p "$tmp/tree/a/b"; cp $photos/dog.jpg "$tmp/tree/a/"; cp $photos/kite.jpg "$tmp/tree/a/b/"
ln -s .. "$tmp/tree/a/b/loop"
"$bin" features "$tmp/tree" > "$tmp/tree.jsonl"; rc=$?
check "folders are read recursively; a symlink loop ends" \
  bash -c "[ $rc = 0 ] && [ \$(wc -l < '$tmp/tree.jsonl') = 2 ]"

"$bin" bench --seconds 0.5 > "$tmp/bench"; rc=$?
check "bench prints 'N img/s' last" bash -c "[ $rc = 0 ] && tail -n1 '$tmp/bench' | grep -Eq '^[0-9.]+ img/s$'"

echo "1..$n"
[ $failed = 0 ]
