// The engine against PyTorch on the committed fixtures of scripts/make-torch-fixture.py: the same
// weights and tokens give the same logits and gradients (max relative error 1e-4). No PyTorch needed.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { referenceKernels } from './kernels/reference/index.js';
import { loadKernels } from './kernels/index.js';
import { torchParity } from './torch-parity.js';

const FIXTURES = fileURLToPath(new URL('./__fixtures__/', import.meta.url));

describe.each(['tiny-qwen2', 'tiny-llama'])('parity with PyTorch on %s', (name) => {
  it.each([
    ['reference', referenceKernels],
    ['loaded (native when built)', loadKernels()],
  ])('gives the same logits and gradients with the %s kernels', async (_, kernels) => {
    const result = await torchParity(`${FIXTURES}${name}`, kernels);
    expect(result.logits).toBeLessThan(1e-4);
    expect(result.gradients, result.worstTensor).toBeLessThan(1e-4);
  });
});
