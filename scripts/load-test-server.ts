/**
 * Bounded loopback load test of `turnwise serve`: many concurrent sampling requests through the
 * Tinker protocol (asample + retrieve_future, via the client's sampling policy) and through the
 * OpenAI-compatible /v1/completions route. Every answer is checked against the same seeded sample
 * computed in process, so the table counts errors, lost requests (no answer within the timeout)
 * and wrong answers, and prints throughput and latency.
 *
 *   npx tsx scripts/load-test-server.ts [--requests 2000] [--concurrency 64] [--max-tokens 16]
 *                                       [--protocol tinker|openai|both] [--timeout-ms 30000]
 */
import { parseArgs } from 'node:util';
import { createTinkerServer } from '../src/backends/server/tinker-server.js';
import { BigramTestBackend } from '../src/backends/test-support/bigram-test-backend.js';
import { TinkerSamplingPolicy } from '../src/backends/tinker/sampling-client.js';
import type { SampleRequest, SampleResult } from '../src/rollout/policy.js';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '64' },
    'max-tokens': { type: 'string', default: '16' },
    protocol: { type: 'string', default: 'both' },
    'timeout-ms': { type: 'string', default: '30000' },
  },
});
const REQUESTS = Number(values.requests);
const CONCURRENCY = Number(values.concurrency);
const MAX_TOKENS = Number(values['max-tokens']);
const TIMEOUT_MS = Number(values['timeout-ms']);
const protocols = values.protocol === 'both' ? ['tinker', 'openai'] : [values.protocol!];

interface Outcome {
  ok: number;
  errors: number;
  lost: number;
  wrong: number;
  tokens: number;
  latencies: number[];
  firstError?: string;
}

const backend = new BigramTestBackend({ seed: 0 });
const reference = new BigramTestBackend({ seed: 0 });
const server = createTinkerServer({ backend, modelName: 'load/bigram', longPollMs: 10_000 });
const url = await server.listen(0);
const closers: (() => void)[] = [];

function request(index: number): SampleRequest {
  const prompt = reference.tokenizer.encode(`request ${index % 97}: `);
  return { tokens: prompt, seed: index, params: { temperature: 1, topK: 0, topP: 1, maxTokens: MAX_TOKENS, stop: [] } };
}

async function tinkerSampler(): Promise<(request: SampleRequest) => Promise<SampleResult>> {
  const policy = await TinkerSamplingPolicy.connect({ baseUrl: url, baseModel: 'load/bigram', tokenizer: reference.tokenizer, retry: { initialDelayMs: 20 } });
  closers.push(() => policy.close());
  return (sample) => policy.sample(sample);
}

function openAiSampler(): (request: SampleRequest) => Promise<SampleResult> {
  return async (sample) => {
    const response = await fetch(`${url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'load/bigram', prompt: sample.tokens, max_tokens: sample.params.maxTokens, seed: sample.seed, logprobs: 0 }),
    });
    if (response.status !== 200) throw new Error(`HTTP ${response.status}: ${await response.text()}`);
    const body = (await response.json()) as { choices: { token_ids: number[]; finish_reason: 'stop' | 'length'; logprobs: { token_logprobs: number[] } }[] };
    const choice = body.choices[0]!;
    return { tokens: choice.token_ids, logprobs: choice.logprobs.token_logprobs, finishReason: choice.finish_reason };
  };
}

async function run(sample: (request: SampleRequest) => Promise<SampleResult>): Promise<Outcome & { seconds: number }> {
  const outcome: Outcome = { ok: 0, errors: 0, lost: 0, wrong: 0, tokens: 0, latencies: [] };
  let next = 0;
  const started = performance.now();
  async function worker(): Promise<void> {
    while (next < REQUESTS) {
      const index = next++;
      const sent = request(index);
      const begin = performance.now();
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'lost'>((resolve) => (timer = setTimeout(() => resolve('lost'), TIMEOUT_MS)));
      try {
        const answer = await Promise.race([sample(sent), timeout]);
        if (answer === 'lost') {
          outcome.lost++;
          continue;
        }
        outcome.latencies.push(performance.now() - begin);
        const expected = await reference.sample(sent);
        if (JSON.stringify(answer) !== JSON.stringify(expected)) outcome.wrong++;
        else outcome.ok++;
        outcome.tokens += answer.tokens.length;
      } catch (error) {
        outcome.errors++;
        outcome.firstError ??= (error as Error).message;
      } finally {
        clearTimeout(timer);
      }
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return { ...outcome, seconds: (performance.now() - started) / 1000 };
}

function percentile(values_N: number[], p: number): number {
  const sorted = [...values_N].sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const rows: string[][] = [];
for (const protocol of protocols) {
  const sampler = protocol === 'tinker' ? await tinkerSampler() : openAiSampler();
  const result = await run(sampler);
  rows.push([
    protocol,
    String(REQUESTS),
    String(CONCURRENCY),
    String(result.ok),
    String(result.errors),
    String(result.lost),
    String(result.wrong),
    result.seconds.toFixed(2),
    (result.ok / result.seconds).toFixed(1),
    (result.tokens / result.seconds).toFixed(0),
    percentile(result.latencies, 50).toFixed(1),
    percentile(result.latencies, 99).toFixed(1),
  ]);
  if (result.firstError) console.error(`${protocol}: first error: ${result.firstError}`);
}
const header = ['protocol', 'requests', 'concurrency', 'ok', 'errors', 'lost', 'wrong', 'seconds', 'req/s', 'tokens/s', 'p50 ms', 'p99 ms'];
const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
const line = (cells: string[]): string => cells.map((cell, column) => cell.padStart(widths[column]!)).join('  ');
console.log(`load test of turnwise serve on ${url} (bigram test backend, ${MAX_TOKENS} tokens per sample, loopback)`);
console.log(line(header));
for (const row of rows) console.log(line(row));
console.log(`server: futures still pending ${server.host.futures.pendingCount}, jobs queued ${server.host.scheduler.queued}, running ${server.host.scheduler.running}`);
for (const close of closers) close();
await server.close();
const failed = rows.some((row) => row[4] !== '0' || row[5] !== '0' || row[6] !== '0');
process.exit(failed ? 1 : 0);
