import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalBackend, loadCheckpointChat } from '../backends/create-local-backend.js';
import type { LocalBackend } from '../backends/local.js';
import { referenceKernels } from '../engine/kernels/reference/index.js';
import { trainBpe } from '../engine/tokenizer/bpe-trainer.js';
import type { HfTokenizer } from '../engine/tokenizer/hf-tokenizer.js';
import { writeTokenizerFiles } from '../engine/tokenizer/tokenizer-files.js';
import { startServe, type StartedServe } from './serve.js';

// `turnwise serve --checkpoint` on a tiny CPU-engine model (its backend in a worker thread), probed
// through the OpenAI routes and checked against the same weights in process.
const directory = await mkdtemp(join(tmpdir(), 'turnwise-serve-openai-'));
let served: StartedServe;
let inProcess: LocalBackend;
let tokenizer: HfTokenizer;
let openai: OpenAI;

beforeAll(async () => {
  const source = join(directory, 'source');
  await mkdir(source, { recursive: true });
  await writeTokenizerFiles(source, trainBpe(['hello world, the tiny model says hello. café'], { vocabSize: 300 }));
  const chat = await loadCheckpointChat(source);
  tokenizer = chat.tokenizer as HfTokenizer;
  const files = {
    'tokenizer.json': await readFile(join(source, 'tokenizer.json'), 'utf-8'),
    'tokenizer_config.json': await readFile(join(source, 'tokenizer_config.json'), 'utf-8'),
  };
  const modelConfig = {
    hidden_size: 32,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    intermediate_size: 48,
    vocab_size: tokenizer.vocabSize,
    max_position_embeddings: 256,
  };
  inProcess = await createLocalBackend({
    modelConfig,
    seed: 1,
    kernels: referenceKernels,
    ...chat,
    checkpointDirectory: directory,
    checkpointFiles: files,
  });
  // Sharper than the 0.02 init, so the most likely tokens stand apart.
  const params = inProcess.model.params;
  for (let i = 0; i < params.length; i++) params[i] *= 6;
  const checkpoint = await inProcess.save('sharp');
  served = await startServe([
    '--checkpoint',
    checkpoint,
    '--save-dir',
    join(directory, 'saved'),
    '--kernels',
    'reference',
    '--port',
    '0',
    '--model-name',
    'tiny',
  ]);
  openai = new OpenAI({ baseURL: `${served.url}/v1`, apiKey: 'unused', maxRetries: 0 });
}, 60_000);
afterAll(async () => {
  await served?.close();
  await rm(directory, { recursive: true, force: true });
});

/** Log-softmax of the next-token logits after `tokens`, from the in-process model. */
function nextLogprobs(tokens: number[]): number[] {
  const { logits } = inProcess.model.forward({
    B: 1,
    T: tokens.length,
    inputIds: tokens,
    targets: tokens.map(() => 0),
  });
  const V = tokenizer.vocabSize;
  const row = Array.from(logits.subarray((tokens.length - 1) * V, tokens.length * V));
  const max = Math.max(...row);
  const lse = max + Math.log(row.reduce((sum, value) => sum + Math.exp(value - max), 0));
  return row.map((value) => value - lse);
}

type Extra = { token_ids: number[] };
const messages = [{ role: 'user' as const, content: 'hello' }];

describe('turnwise serve on the CPU engine, through the OpenAI routes', () => {
  it('decodes greedily at temperature 0 and reports the real top alternatives of every position', async () => {
    const ask = (seed: number) =>
      openai.chat.completions.create({
        model: 'tiny',
        messages,
        max_completion_tokens: 10,
        temperature: 0,
        seed,
        logprobs: true,
        top_logprobs: 3,
      });
    const answers = [await ask(1), await ask(2)];
    const [first, second] = answers.map((answer) => answer.choices[0]! as (typeof answer)['choices'][0] & Extra);
    expect(second!.token_ids).toEqual(first!.token_ids);
    const prompt = (answers[0] as unknown as { prompt_token_ids: number[] }).prompt_token_ids;
    const sequence = [...prompt];
    first!.token_ids.forEach((token, t) => {
      const row = nextLogprobs(sequence);
      const order = row.map((logprob, id) => ({ id, logprob })).sort((a, b) => b.logprob - a.logprob || a.id - b.id);
      expect(token).toBe(order[0]!.id);
      const entry = first!.logprobs!.content![t]!;
      expect(entry.logprob).toBeCloseTo(order[0]!.logprob, 4);
      expect(entry.top_logprobs.map((alternative) => alternative.bytes)).toEqual(
        order.slice(0, 3).map((alternative) => [...tokenizer.tokenBytes(alternative.id)]),
      );
      entry.top_logprobs.forEach((alternative, k) => expect(alternative.logprob).toBeCloseTo(order[k]!.logprob, 4));
      sequence.push(token);
    });
  });

  it(
    "reports each token's raw bytes (parts of UTF-8 characters " +
      'included) and keeps special tokens out of the content',
    async () => {
      const answer = await openai.chat.completions.create({
        model: 'tiny',
        messages,
        max_completion_tokens: 60,
        temperature: 1.5,
        seed: 3,
        logprobs: true,
      });
      const choice = answer.choices[0]! as (typeof answer)['choices'][0] & Extra;
      const entries = choice.logprobs!.content!;
      expect(entries).toHaveLength(choice.token_ids.length);
      entries.forEach((entry, t) => expect(entry.bytes).toEqual([...tokenizer.tokenBytes(choice.token_ids[t]!)]));
      const partial = entries.filter((entry) => entry.token.includes('\uFFFD'));
      expect(partial.length).toBeGreaterThan(0);
      for (const entry of partial) expect(entry.bytes).not.toEqual([0xef, 0xbf, 0xbd]);
      const visible = choice.token_ids.filter((token) => !tokenizer.isSpecialToken(token));
      expect(choice.message.content).toBe(
        Buffer.from(visible.flatMap((token) => [...tokenizer.tokenBytes(token)])).toString('utf8'),
      );
      expect(choice.message.content).not.toMatch(/<\|(im_start|im_end|endoftext)\|>/);
    },
  );

  it('streams tokens from the engine worker as they are sampled, adding up to the whole answer', async () => {
    const request = { model: 'tiny', messages, max_completion_tokens: 30, temperature: 1, seed: 5, logprobs: true };
    const whole = await openai.chat.completions.create(request);
    let content = '';
    let chunks = 0;
    const logprobs: number[] = [];
    for await (const chunk of await openai.chat.completions.create({ ...request, stream: true })) {
      chunks++;
      content += chunk.choices[0]?.delta.content ?? '';
      logprobs.push(...(chunk.choices[0]?.logprobs?.content ?? []).map((entry) => entry.logprob));
    }
    expect(content).toBe(whole.choices[0]!.message.content);
    expect(logprobs).toEqual(whole.choices[0]!.logprobs!.content!.map((entry) => entry.logprob));
    expect(chunks).toBeGreaterThan(logprobs.length);
  });
});
