/**
 * llama.cpp through node-llama-cpp (a dev dependency: only this file, bench-llama-cpp.ts and the
 * optional test src/engine/gguf-llama-cpp.test.ts load it, never src/): loading the prebuilt CPU
 * binary (or the reason it cannot be loaded), and the logit check of an exported GGUF against the
 * engine: the same token ids through both, each position's log-softmax over the whole vocabulary
 * compared. node-llama-cpp hands out next-token probabilities (softmax of the logits at temperature
 * 1, no top-k/top-p/min-p), not raw logits, so the check is on log-probabilities, i.e. the logits up
 * to each row's constant; the context keeps its KV cache in F32 so only the arithmetic differs.
 */
import type { Llama, LlamaModel, Token } from 'node-llama-cpp';
import type { Transformer } from '../src/engine/transformer.js';

/** node-llama-cpp's Llama on the CPU with `threads` threads, or why it cannot be loaded. */
export async function loadLlamaCpp(threads: number): Promise<{ llama: Llama } | { reason: string }> {
  try {
    const { getLlama, LlamaLogLevel } = await import('node-llama-cpp');
    const llama = await getLlama({ gpu: false, build: 'never', maxThreads: threads, logLevel: LlamaLogLevel.error });
    return { llama };
  } catch (error) {
    return { reason: `node-llama-cpp could not load llama.cpp: ${(error as Error).message.split('\n')[0]}` };
  }
}

/** Each position's next-token log-probabilities from llama.cpp (positions, then vocabulary). */
export async function llamaCppLogprobs(
  model: LlamaModel,
  ids: readonly number[],
  vocabSize: number,
  threads: number,
): Promise<Float64Array[]> {
  const context = await model.createContext({
    contextSize: Math.max(256, ids.length + 1),
    sequences: 1,
    threads,
    flashAttention: false,
    experimentalKvCacheKeyType: 'F32',
    experimentalKvCacheValueType: 'F32',
  });
  try {
    const options = { temperature: 1, topK: 0, topP: 1, minP: 0 };
    const input = ids.map((id) => [id as Token, { generateNext: { probabilities: true, options } }] as const);
    const output = await context.getSequence().controlledEvaluate(input as never);
    return ids.map((_, position) => {
      const probabilities = output[position]?.next.probabilities;
      if (probabilities === undefined) throw new Error(`llama.cpp returned no probabilities at position ${position}`);
      const row = new Float64Array(vocabSize).fill(Number.NEGATIVE_INFINITY);
      for (const [token, probability] of probabilities) row[token as number] = Math.log(probability);
      return row;
    });
  } finally {
    await context.dispose();
  }
}

/** The engine's log-softmax rows for the same ids, one sequence. */
export function engineLogprobs(model: Transformer, ids: readonly number[]): Float64Array[] {
  const V = model.config.vocab_size;
  const { logits } = model.forward({ B: 1, T: ids.length, inputIds: ids, targets: ids }, 1);
  return ids.map((_, position) => {
    const row = logits.subarray(position * V, (position + 1) * V);
    let max = -Infinity;
    for (const value of row) max = Math.max(max, value);
    let sum = 0;
    for (const value of row) sum += Math.exp(value - max);
    const lse = max + Math.log(sum);
    return Float64Array.from(row, (value) => value - lse);
  });
}

/** Max |a - b| over every position and token whose probability is at least `floor` on either side. */
export function maxLogprobDifference(a: Float64Array[], b: Float64Array[], floor = 1e-6): number {
  const minLog = Math.log(floor);
  let max = 0;
  for (let position = 0; position < a.length; position++) {
    const [x, y] = [a[position]!, b[position]!];
    if (x.length !== y.length) return Number.POSITIVE_INFINITY;
    for (let v = 0; v < x.length; v++)
      if (x[v]! >= minLog || y[v]! >= minLog) max = Math.max(max, Math.abs(x[v]! - y[v]!));
  }
  return max;
}
