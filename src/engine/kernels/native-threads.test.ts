// The native addon under concurrency: several JavaScript threads (worker_threads) calling kernels
// on the one shared thread pool at once get the same results as a lone caller, and exiting workers
// leave the pool working for the others (no deadlock, no crash).
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { NATIVE_ADDON_PATH } from './native.js';
import { nativeAddonForTests } from './test-helpers.js';

const { addon, unavailable } = nativeAddonForTests();

// Each worker runs the same deterministic matmuls and posts back a checksum of the outputs.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const addon = require(workerData.path);
const N = 300, C = 200, OC = 150;
const inp = new Float32Array(N * C).map((_, i) => Math.sin(i));
const weight = new Float32Array(OC * C).map((_, i) => Math.cos(i));
const out = new Float32Array(N * OC);
let checksum = 0;
for (let r = 0; r < workerData.repeats; r++) {
  addon.matmulForward(out, inp, weight, null, N, C, OC);
  for (let i = 0; i < out.length; i += 97) checksum += out[i];
}
parentPort.postMessage(checksum);
`;

function runWorker(repeats: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { path: NATIVE_ADDON_PATH, repeats } });
    worker.once('message', resolve);
    worker.once('error', reject);
  });
}

describe.skipIf(addon === undefined)(
  addon ? 'native addon with several JavaScript threads' : `native addon threads (skipped: ${unavailable})`,
  () => {
    it('gives every concurrent caller the lone-caller result, and keeps working after workers exit', async () => {
      addon!.configure(2);
      const alone = await runWorker(5);
      const together = await Promise.all([runWorker(5), runWorker(5), runWorker(5)]);
      expect(together).toEqual([alone, alone, alone]);
      // The pool still serves the main thread after the workers' environments were torn down.
      const x = new Float32Array(64 * 64).fill(1);
      const out = new Float32Array(64 * 64);
      addon!.matmulForward(out, x, x, null, 64, 64, 64);
      expect(out[0]).toBe(64);
      expect(addon!.info().threads).toBe(2);
    }, 60_000);
  },
);
