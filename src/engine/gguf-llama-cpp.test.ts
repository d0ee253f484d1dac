/**
 * The exported GGUF run by llama.cpp itself (node-llama-cpp, a dev dependency loaded only here and
 * by the benchmark scripts): its tokenizer gives our ids, its log-probabilities match the engine's.
 * Skips, printing why, where node-llama-cpp's prebuilt binary cannot load.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { engineLogprobs, llamaCppLogprobs, loadLlamaCpp, maxLogprobDifference } from '../../scripts/llama-cpp.js';
import { ggufModel } from './gguf-export.js';
import { writeGguf } from './gguf-writer.js';
import { referenceKernels } from './kernels/reference/index.js';
import { parseModelConfig } from './model-config.js';
import type { TensorData } from './safetensors.js';
import { trainBpe } from './tokenizer/bpe-trainer.js';
import { HfTokenizer } from './tokenizer/hf-tokenizer.js';
import { buildTokenizerConfig, buildTokenizerJson } from './tokenizer/tokenizer-files.js';
import { Transformer } from './transformer.js';

const loaded = await loadLlamaCpp(2);
if ('reason' in loaded) console.log(`skipping the llama.cpp checks: ${loaded.reason}`);
const dir = mkdtempSync(join(tmpdir(), 'turnwise-gguf-llama-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const corpus = readFileSync(new URL('../../ARCHITECTURE.md', import.meta.url), 'utf-8');
const trained = trainBpe([corpus], { vocabSize: 700, addedTokens: ['<tool>', '</tool>'] });
const tokenizerJson = buildTokenizerJson(trained);
const tokenizerConfig = buildTokenizerConfig(trained);
const tokenizer = new HfTokenizer(tokenizerJson, tokenizerConfig);
const TEXTS = [
  'The engine samples 64 sequences x 256 new tokens; isn\'t it "fast"?',
  '<|im_start|>user\nWho wrote Hamlet?<|im_end|>\n<|im_start|>assistant\n<tool>wiki_search</tool>',
  "  indented\n\n\ttabs  and   spaces, DON'T we'll 12345 3.14\r\n",
  'naïve café, Ünïcödé ß and 日本語 and emoji 🙂 too',
];

async function exported(modelType: 'llama' | 'qwen2', attentionBias?: boolean) {
  const config = parseModelConfig({
    model_type: modelType,
    hidden_size: 64,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    intermediate_size: 96,
    vocab_size: 704,
    max_position_embeddings: 256,
    tie_word_embeddings: modelType === 'qwen2',
    ...(attentionBias === undefined ? {} : { attention_bias: attentionBias }),
  });
  const model = new Transformer({ config, kernels: referenceKernels, seed: 7 });
  // Larger weights than the 0.02 initialisation, so the distributions are far from uniform.
  for (let i = 0; i < model.params.length; i++) model.params[i]! *= 5;
  for (const t of model.layout.tensors.filter((tensor) => tensor.name.endsWith('.bias')))
    for (let i = 0; i < t.size; i++) model.params[t.offset + i] = 0.5 * Math.sin(t.offset + i);
  const tensors = new Map<string, TensorData>(
    model.layout.tensors.map((t) => [
      t.name,
      { shape: t.shape, data: model.params.subarray(t.offset, t.offset + t.size) as Float32Array },
    ]),
  );
  const path = join(dir, `${modelType}-${attentionBias}.gguf`);
  await writeGguf(path, ggufModel({ config, tensors, tokenizer: tokenizerJson, tokenizerConfig }));
  return { model, path };
}

describe.runIf(!('reason' in loaded))('the exported GGUF in llama.cpp (node-llama-cpp 3.21.1)', () => {
  const llama = 'llama' in loaded ? loaded.llama : undefined;

  const variants = [
    ['llama', undefined, 'llama'],
    ['qwen2', undefined, 'qwen2'],
    ['llama', true, 'llama with q/k/v biases (permuted too)'],
    ['qwen2', false, 'qwen2 without biases (zeros written)'],
  ] as const;
  for (const [modelType, attentionBias, label] of variants) {
    it(`${label}: tokenizes as we do and gives the engine's log-probabilities`, async () => {
      const { model, path } = await exported(modelType, attentionBias);
      const gguf = await llama!.loadModel({ modelPath: path });
      try {
        for (const text of TEXTS) expect([...gguf.tokenize(text, true)], text).toEqual(tokenizer.encode(text));
        let worst = 0;
        for (const text of TEXTS) {
          const ids = tokenizer.encode(text).slice(0, 24);
          const difference = maxLogprobDifference(
            engineLogprobs(model, ids),
            await llamaCppLogprobs(gguf, ids, 704, 2),
          );
          worst = Math.max(worst, difference);
        }
        console.log(
          `${label}: max |logprob engine - llama.cpp| over ${TEXTS.length} prompts = ${worst.toExponential(2)}`,
        );
        expect(worst).toBeLessThan(1e-3);
      } finally {
        await gguf.dispose();
      }
    });
  }

  it('catches a wrong export: llama q/k left in the HF order give other log-probabilities', async () => {
    const { model } = await exported('llama');
    const tensors = new Map<string, TensorData>(
      model.layout.tensors.map((t) => [
        t.name,
        { shape: t.shape, data: model.params.subarray(t.offset, t.offset + t.size) as Float32Array },
      ]),
    );
    const contents = ggufModel({ config: model.config, tensors, tokenizer: tokenizerJson, tokenizerConfig });
    const unpermuted = contents.tensors.map((tensor) => {
      const layer = /^blk\.(\d+)\.attn_([qk])\.weight$/.exec(tensor.name);
      if (!layer) return tensor;
      return { ...tensor, data: tensors.get(`model.layers.${layer[1]}.self_attn.${layer[2]}_proj.weight`)!.data };
    });
    const path = join(dir, 'wrong.gguf');
    await writeGguf(path, { metadata: contents.metadata, tensors: unpermuted });
    const gguf = await llama!.loadModel({ modelPath: path });
    try {
      const ids = tokenizer.encode(TEXTS[0]!).slice(0, 16);
      const difference = maxLogprobDifference(engineLogprobs(model, ids), await llamaCppLogprobs(gguf, ids, 704, 2));
      expect(difference).toBeGreaterThan(1e-2);
    } finally {
      await gguf.dispose();
    }
  });
});
