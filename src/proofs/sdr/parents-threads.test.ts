// The native parent kernel shares its BLAKE2b backend choice across threads: every thread that loads the addon
// selects it again. A thread computing parents meanwhile must keep one backend for a whole batch (a mix wrote
// wrong parents, found as a parent cache that missed its published digest under load).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { DEGREE } from './constants.js';
import { SdrGraph } from './graph.js';
import { sdrNative } from './native.js';

const ADDON = fileURLToPath(new URL('../../../native/build/Release/venus_native.node', import.meta.url));

describe('native parents under concurrent addon loads', () => {
  it('stay exact while another thread selects the BLAKE2b backend again and again', {
    skip: !sdrNative(),
  }, async () => {
    const n = sdrNative()!;
    assert.notEqual(n.sdrBlake2bBackend(), 'scalar', 'a vector backend is in use (else there is nothing to race)');
    const g = SdrGraph.forProof(6); // 8MiB V1_1: 262144 nodes
    const count = 32768;
    const want = new Uint32Array(count * DEGREE);
    g.fillParents(0, count, want, 'native');
    // the worker re-selects in a tight loop, as each new thread's addon load does
    const w = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads');
       const a = require(workerData);
       let stop = false;
       parentPort.on('message', () => { stop = true; });
       (function spin() { for (let i = 0; i < 20000; i++) a.sdrBlake2bBackend('auto');
         if (!stop) setImmediate(spin); else parentPort.postMessage('done'); })();`,
      { eval: true, workerData: ADDON },
    );
    try {
      await new Promise((r) => setTimeout(r, 50));
      for (let round = 0; round < 20; round++) {
        const got = new Uint32Array(count * DEGREE);
        g.fillParents(0, count, got, 'native');
        assert.ok(Buffer.from(got.buffer).equals(Buffer.from(want.buffer)), `round ${round}: parents differ`);
      }
    } finally {
      w.postMessage('stop');
      await w.terminate();
    }
  });
});
