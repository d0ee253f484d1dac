import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { referenceKernels } from '../../engine/kernels/reference/index.js';
import type { ChatRenderer } from '../../rollout/chat-renderer.js';
import type { Tokenizer } from '../../rollout/tokenizer.js';
import { createLocalBackend } from '../create-local-backend.js';
import type { LocalBackend } from '../local.js';
import { runMtGrpoScenario } from '../../testing/mt-grpo-scenario.js';
import { connectTestClient, startTestServer } from '../../testing/serve-for-test.js';

// A tiny transformer of the CPU engine (reference kernels) with a letter tokenizer.
const V = 24;
const MODEL_CONFIG = {
  hidden_size: 16,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  intermediate_size: 24,
  vocab_size: V,
  max_position_embeddings: 128,
};
const tokenizer: Tokenizer = {
  vocabSize: V,
  eosTokenId: 0,
  encode: (text) => Array.from(text, (char) => Math.min(V - 1, Math.max(0, char.charCodeAt(0) - 97))),
  decode: (ids) => ids.map((id) => String.fromCharCode(97 + id)).join(''),
  tokenId: () => undefined,
};
const renderer: ChatRenderer = {
  renderPrompt: (messages) => [
    1,
    2,
    ...tokenizer.encode(
      messages
        .map((m) => m.content)
        .join(' ')
        .slice(0, 8),
    ),
  ],
  renderReply: () => [3, 4],
  stopTokenIds: [0],
};

const directory = await mkdtemp(join(tmpdir(), 'turnwise-local-equivalence-'));
afterAll(() => rm(directory, { recursive: true, force: true }));

function localBackend(name: string): Promise<LocalBackend> {
  return createLocalBackend({
    modelConfig: MODEL_CONFIG,
    seed: 3,
    kernels: referenceKernels,
    tokenizer,
    renderer,
    checkpointDirectory: join(directory, name),
  });
}

describe('LocalBackend in process vs behind turnwise serve', () => {
  it('gives bit-identical samples, losses, logprobs and final weights', async () => {
    const scenario = { steps: 2, groupSize: 3, temperature: 0.9 };
    const inProcess = await localBackend('a');
    const localTrace = await runMtGrpoScenario(inProcess, scenario);
    const served = await localBackend('b');
    const test = await startTestServer({ backend: served });
    try {
      const client = await connectTestClient(test.url, { tokenizer, renderer });
      const remoteTrace = await runMtGrpoScenario(client, scenario);
      await client.close();
      expect(localTrace.losses.every(Number.isFinite) && localTrace.losses.some((loss) => loss !== 0)).toBe(true);
      expect(localTrace.sampledTokens.flat().length).toBeGreaterThan(0);
      expect(remoteTrace).toEqual(localTrace);
      expect(Buffer.from(served.model.params.buffer).equals(Buffer.from(inProcess.model.params.buffer))).toBe(true);
    } finally {
      await test.close();
    }
  });
});
