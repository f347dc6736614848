// Regenerates tests/test-image-vectors.inc: tfjs-backend-cpu reference outputs of the nsfwjs
// preprocessing, tf.image.resizeBilinear (cast (img) / 255, [oh, ow], alignCorners = true).
//   npm install @tensorflow/tfjs-core@4.22.0 @tensorflow/tfjs-backend-cpu@4.22.0
//   node test-image-vectors.js > test-image-vectors.inc
// Pixels: xorshift32 (x ^= x << 13; x ^= x >>> 17; x ^= x << 5) from the seed, samples x & 255,
// as in test-image.c. Small cases list every float32 bit pattern; all give the FNV-1a 64 hash of
// the output bytes (little-endian float32).
'use strict';
const tf = require('@tensorflow/tfjs-core');
require('@tensorflow/tfjs-backend-cpu');

// [iw, ih, ow, oh, seed, list values]
const CASES = [
  [2, 2, 3, 3, 1, 1], [7, 5, 4, 3, 2, 1], [5, 7, 11, 13, 3, 1], [9, 1, 4, 1, 4, 1],
  [1, 9, 1, 4, 5, 1], [6, 4, 1, 1, 6, 1], [3, 3, 3, 3, 7, 1], [1, 1, 3, 2, 8, 1],
  [640, 480, 224, 224, 9, 0], [448, 448, 224, 224, 10, 0], [100, 37, 224, 224, 11, 0],
  [224, 224, 224, 224, 12, 0], [1000, 750, 224, 224, 13, 0], [1, 300, 224, 224, 14, 0],
  [225, 223, 224, 224, 15, 0],
];

function pixels(w, h, seed) {
  let x = seed >>> 0;
  const a = new Int32Array(w * h * 3);
  for (let i = 0; i < a.length; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    a[i] = x & 255;
  }
  return a;
}

function fnv(f32) {
  const u = new Uint32Array(f32.buffer, f32.byteOffset, f32.length);
  let h = 0xcbf29ce484222325n;
  for (const v of u) {
    for (let k = 0; k < 4; k++) {
      h ^= BigInt((v >>> (8 * k)) & 255);
      h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
    }
  }
  return '0x' + h.toString(16).padStart(16, '0');
}

(async () => {
  await tf.setBackend('cpu');
  const out = ['/* Generated with tfjs-backend-cpu 4.22.0 by test-image-vectors.js; see',
               ' * test_resize_tfjs in test-image.c.',
               ' * { iw, ih, ow, oh, seed, fnv1a64, n, float32 bits } */'];
  for (const [iw, ih, ow, oh, seed, full] of CASES) {
    const img = tf.tensor3d(pixels(iw, ih, seed), [ih, iw, 3], 'int32');
    const x = tf.div(tf.cast(img, 'float32'), tf.scalar(255));
    const d = tf.image.resizeBilinear(x, [oh, ow], true).dataSync();
    const head = `{ ${iw}, ${ih}, ${ow}, ${oh}, ${seed}u, G_GUINT64_CONSTANT (${fnv(d)}),`;
    if (!full) { out.push(`${head} 0, NULL },`); continue; }
    out.push(`${head} ${d.length},`, '  (const guint32[]) {');
    const hex = Array.from(new Uint32Array(d.buffer, d.byteOffset, d.length),
                           v => '0x' + v.toString(16).padStart(8, '0'));
    for (let i = 0; i < hex.length; i += 6) out.push('    ' + hex.slice(i, i + 6).join(', ') + ',');
    out.push('  } },');
  }
  console.log(out.join('\n'));
})();
