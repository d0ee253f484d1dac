/**
 * Bounded loopback load test of `turnwise serve`: many concurrent sampling requests through the
 * Tinker protocol (asample + retrieve_future, via the client's sampling policy) and through the
 * OpenAI-compatible /v1/completions route. The server runs as its own process (`turnwise serve
 * --test-backend bigram`, as deployed), or in this process with --in-process. Every answer is
 * checked against the same seeded sample computed here, so the table counts errors, lost requests
 * (no answer within the timeout) and wrong answers, and prints throughput and latency after a
 * warm-up that is not counted.
 *
 *   npx tsx scripts/load-test-server.ts [--requests 2000] [--concurrency 64] [--max-tokens 16]
 *        [--protocol tinker|openai|both] [--warmup 256] [--timeout-ms 30000] [--in-process]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createTinkerServer } from '../src/backends/server/tinker-server.js';
import { BigramTestBackend } from '../src/testing/bigram-test-backend.js';
import { TinkerSamplingPolicy } from '../src/backends/tinker/sampling-client.js';
import type { SampleRequest, SampleResult } from '../src/rollout/policy.js';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '64' },
    'max-tokens': { type: 'string', default: '16' },
    protocol: { type: 'string', default: 'both' },
    warmup: { type: 'string', default: '256' },
    'timeout-ms': { type: 'string', default: '30000' },
    'in-process': { type: 'boolean', default: false },
  },
});
const REQUESTS = Number(values.requests);
const CONCURRENCY = Number(values.concurrency);
const MAX_TOKENS = Number(values['max-tokens']);
const WARMUP = Number(values.warmup);
const TIMEOUT_MS = Number(values['timeout-ms']);
const MODEL = 'load/bigram';
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

/** The bigram test backend `turnwise serve --test-backend bigram` serves (seed 0). */
const reference = new BigramTestBackend({ seed: 0 });
const closers: (() => Promise<void> | void)[] = [];

async function startServer(): Promise<string> {
  if (values['in-process']) {
    const server = createTinkerServer({
      backend: new BigramTestBackend({ seed: 0 }),
      modelName: MODEL,
      longPollMs: 10_000,
    });
    closers.push(() => server.close());
    return server.listen(0);
  }
  const main = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', main, 'serve', '--test-backend', 'bigram', '--port', '0', '--model-name', MODEL],
    {
      env: { ...process.env, TURNWISE_CLI: '1' },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  closers.push(() => void child.kill('SIGTERM'));
  return new Promise((resolve, reject) => {
    let output = '';
    child.stdout!.on('data', (part: Buffer) => {
      output += part.toString();
      const match = / on (http:\/\/[^ ]+) /.exec(output);
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) =>
      reject(new Error(`turnwise serve exited with code ${code} before listening: ${output}`)),
    );
  });
}

const url = await startServer();

function request(index: number): SampleRequest {
  const prompt = reference.tokenizer.encode(`request ${index % 97}: `);
  return { tokens: prompt, seed: index, params: { temperature: 1, topK: 0, topP: 1, maxTokens: MAX_TOKENS, stop: [] } };
}

async function tinkerSampler(): Promise<(request: SampleRequest) => Promise<SampleResult>> {
  const policy = await TinkerSamplingPolicy.connect({
    baseUrl: url,
    baseModel: MODEL,
    tokenizer: reference.tokenizer,
    retry: { initialDelayMs: 20 },
  });
  closers.push(() => {
    policy.close();
    const retried = Object.entries(policy.transport.retries).map(([cause, count]) => `${cause} x${count}`);
    console.log(`tinker client retries: ${retried.join(', ') || 'none'}`);
  });
  return (sample) => policy.sample(sample);
}

function openAiSampler(): (request: SampleRequest) => Promise<SampleResult> {
  return async (sample) => {
    const response = await fetch(`${url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: MODEL,
        prompt: sample.tokens,
        max_tokens: sample.params.maxTokens,
        seed: sample.seed,
        logprobs: 0,
      }),
    });
    if (response.status !== 200) throw new Error(`HTTP ${response.status}: ${await response.text()}`);
    const body = (await response.json()) as {
      choices: { token_ids: number[]; finish_reason: 'stop' | 'length'; logprobs: { token_logprobs: number[] } }[];
    };
    const choice = body.choices[0]!;
    return { tokens: choice.token_ids, logprobs: choice.logprobs.token_logprobs, finishReason: choice.finish_reason };
  };
}

async function run(
  sample: (request: SampleRequest) => Promise<SampleResult>,
  count: number,
  offset: number,
): Promise<Outcome & { seconds: number }> {
  const outcome: Outcome = { ok: 0, errors: 0, lost: 0, wrong: 0, tokens: 0, latencies: [] };
  let next = 0;
  const started = performance.now();
  async function worker(): Promise<void> {
    while (next < count) {
      const sent = request(offset + next++);
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
for (const [index, protocol] of protocols.entries()) {
  const sampler = protocol === 'tinker' ? await tinkerSampler() : openAiSampler();
  const warm = await run(sampler, WARMUP, 1_000_000 * (index + 1));
  const result = await run(sampler, REQUESTS, 0);
  rows.push([
    protocol,
    String(REQUESTS),
    String(CONCURRENCY),
    String(result.ok),
    String(result.errors + warm.errors),
    String(result.lost + warm.lost),
    String(result.wrong + warm.wrong),
    result.seconds.toFixed(2),
    (result.ok / result.seconds).toFixed(1),
    (result.tokens / result.seconds).toFixed(0),
    percentile(result.latencies, 50).toFixed(1),
    percentile(result.latencies, 99).toFixed(1),
    percentile(result.latencies, 100).toFixed(1),
  ]);
  if (result.firstError ?? warm.firstError)
    console.error(`${protocol}: first error: ${result.firstError ?? warm.firstError}`);
}
const header = [
  'protocol',
  'requests',
  'concurrency',
  'ok',
  'errors',
  'lost',
  'wrong',
  'seconds',
  'req/s',
  'tokens/s',
  'p50 ms',
  'p99 ms',
  'max ms',
];
const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
const line = (cells: string[]): string => cells.map((cell, column) => cell.padStart(widths[column]!)).join('  ');
console.log(
  `load test of turnwise serve on ${url} (${values['in-process'] ? 'in this process' : 'own process'}; ` +
    `bigram test backend; ${MAX_TOKENS} tokens per sample; ` +
    `${WARMUP} warm-up requests per protocol not counted, but their errors are)`,
);
console.log(line(header));
for (const row of rows) console.log(line(row));
const stats = (await (await fetch(`${url}/api/v1/turnwise_stats`)).json()) as Record<string, number>;
console.log(
  `server: futures still pending ${stats.pending_futures}, ` +
    `jobs queued ${stats.queued_jobs}, running ${stats.running_jobs}`,
);
for (const close of closers) await close();
const failed = rows.some((row) => row[4] !== '0' || row[5] !== '0' || row[6] !== '0') || stats.pending_futures !== 0;
process.exit(failed ? 1 : 0);
