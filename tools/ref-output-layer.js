// Preloaded into the peers' ref.js by tools/make-references:
//   node -r tools/ref-output-layer.js PEERS/ref.js --layer dense_3 ...
// ref.js builds tf.model({outputs: [layer, model output]}); when the layer IS
// the model output (the probabilities), tfjs-layers fails on the duplicate
// output. This makes such a model predict the single output and return it
// twice; every other model is left alone.
'use strict';
const path = require('path');

const script = process.argv[1];
if (!script) throw new Error('ref-output-layer.js: preload it with node -r before ref.js');
const tf = require(require.resolve('@tensorflow/tfjs', { paths: [path.dirname(path.resolve(script))] }));
const proto = tf.LayersModel.prototype;
const predict = proto.predict;

proto.predict = function (x, args) {
  const outs = this.outputs;
  if (outs.length === 2 && outs[0] === outs[1]) {
    if (!this._singleOutput) this._singleOutput = tf.model({ inputs: this.inputs, outputs: outs[0] });
    const y = this._singleOutput.predict(x, args);
    return [y, y.clone()];
  }
  return predict.call(this, x, args);
};
