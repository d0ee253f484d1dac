import { afterEach, describe, expect, it } from 'vitest';
import type { RequestRecord } from '../server/tinker-server.js';
import { connectTestClient, startTestServer } from '../../testing/serve-for-test.js';
import { ByteTokenizer } from '../../testing/byte-tokenizer.js';
import { wireStop } from './sampling-client.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

const tokenizer = new ByteTokenizer();
const gt = tokenizer.encode('>')[0]!;
const imEnd = tokenizer.tokenId('<|im_end|>')!;

describe('wireStop', () => {
  it('sends the end-of-turn ids with the strings where the server takes a mixed list, else token ids only', () => {
    const params = { stop: ['</search>', '>'], stopTokenIds: [imEnd] };
    expect(wireStop(params, tokenizer, true)).toEqual(['</search>', '>', imEnd]);
    expect(wireStop(params, tokenizer, false)).toEqual([imEnd, gt]);
  });

  it('turns a stop string that is one token into its id, and sends strings alone only when there are no ids', () => {
    expect(wireStop({ stop: ['<|im_end|>', '>'] }, tokenizer, false)).toEqual([imEnd, gt]);
    expect(wireStop({ stop: ['</answer>'], stopTokenIds: [] }, tokenizer, false)).toEqual(['</answer>']);
    expect(wireStop({ stop: [] }, tokenizer, false)).toBeUndefined();
    expect(wireStop({ stop: [''], stopTokenIds: [imEnd, imEnd] }, tokenizer, true)).toEqual([imEnd]);
  });
});

async function setup(clientOptions: Parameters<typeof connectTestClient>[1] = {}) {
  const log: RequestRecord[] = [];
  const test = await startTestServer({ onRequest: (record) => log.push(record) });
  closers.push(() => test.close());
  const client = await connectTestClient(test.url, clientOptions);
  closers.push(() => client.close());
  const samples = () =>
    log.filter((record) => record.path === '/api/v1/asample').map((record) => record.body as Record<string, any>);
  return { test, client, samples };
}

const params = { temperature: 1, topK: 0, topP: 1, maxTokens: 10, stop: ['.'], stopTokenIds: [imEnd] };

describe('TinkerSamplingPolicy coalescing', () => {
  it(
    'sends a group that shares its prompt and has consecutive ' +
      'seeds as one request, with the samples of separate requests',
    async () => {
      const { test, client, samples } = await setup();
      const prompt = client.renderer.renderPrompt([{ role: 'user', content: 'hello' }]);
      const seeds = [503, 501, 500, 502];
      const results = await Promise.all(
        seeds.map((seed) => client.policy().sample({ tokens: prompt, params, seed, sessionId: `row/${seed}` })),
      );
      expect(samples().map((body) => [body.num_samples, body.sampling_params.seed])).toEqual([[4, 500]]);
      for (const [index, seed] of seeds.entries())
        expect(results[index]).toEqual(await test.backend.sample({ tokens: prompt, params, seed }));
      expect(client.stats.sampleRequests).toBe(1);
      expect(client.stats.samples).toBe(4);
    },
  );

  it('splits requests into runs of consecutive seeds and never merges different prompts or parameters', async () => {
    const { test, client, samples } = await setup();
    const prompt = client.renderer.renderPrompt([{ role: 'user', content: 'hi' }]);
    const requests = [
      { tokens: prompt, params, seed: 10 },
      { tokens: prompt, params, seed: 12 },
      { tokens: prompt, params, seed: 13 },
      { tokens: prompt, params: { ...params, maxTokens: 9 }, seed: 11 },
      { tokens: [...prompt, 5], params, seed: 11 },
    ];
    const results = await Promise.all(requests.map((request) => client.policy().sample(request)));
    const sent = samples().map((body) => [
      body.prompt.chunks[0].tokens.length,
      body.sampling_params.max_tokens,
      body.sampling_params.seed,
      body.num_samples,
    ]);
    expect(sent.sort()).toEqual(
      [
        [prompt.length, 10, 10, 1],
        [prompt.length, 10, 12, 2],
        [prompt.length, 9, 11, 1],
        [prompt.length + 1, 10, 11, 1],
      ].sort(),
    );
    for (const [index, request] of requests.entries())
      expect(results[index]).toEqual(await test.backend.sample(request));
  });

  it('sends one request per sample when coalescing is off', async () => {
    const { client, samples } = await setup({ coalesceSamples: false });
    const prompt = client.renderer.renderPrompt([{ role: 'user', content: 'hey' }]);
    await Promise.all([0, 1, 2].map((g) => client.policy().sample({ tokens: prompt, params, seed: 70 + g })));
    expect(samples().map((body) => body.num_samples)).toEqual([1, 1, 1]);
  });
});
