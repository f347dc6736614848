#!/usr/bin/env node
// Unwrap one model of the npm package nsfwjs (UMD modules) into the standard
// TensorFlow.js format: model.json + group1-shardXofY.bin.  Node.js does this
// step only; everything after it (parsing, weights, inference) is C.
//
//   node unwrap-nsfwjs.js PACKAGE_DIR MODEL_NAME OUT_DIR
'use strict';
const fs = require('fs');
const path = require('path');

const [pkg, name, out] = process.argv.slice(2);
if (!pkg || !name || !out) {
  console.error('usage: unwrap-nsfwjs.js PACKAGE_DIR MODEL_NAME OUT_DIR');
  process.exit(2);
}
const dir = path.join(pkg, 'dist', 'models', name);
const model = require(path.resolve(dir, 'model.min.js'));
if (!model || !model.modelTopology || !Array.isArray(model.weightsManifest))
  throw new Error(`${dir}/model.min.js: no {modelTopology, weightsManifest}`);
fs.mkdirSync(out, { recursive: true });
for (const group of model.weightsManifest) {
  group.paths = group.paths.map((p) => {
    const base = path.basename(p).replace(/\.min\.js$/, '').replace(/\.bin$/, '');
    const b64 = require(path.resolve(dir, base + '.min.js'));
    if (typeof b64 !== 'string') throw new Error(`${base}.min.js: not a base64 string`);
    fs.writeFileSync(path.join(out, base + '.bin'), Buffer.from(b64, 'base64'));
    return base + '.bin';
  });
}
fs.writeFileSync(path.join(out, 'model.json'), JSON.stringify(model));
console.log(`${name}: ${path.join(out, 'model.json')}`);
