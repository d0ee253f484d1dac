import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../testing/serve-for-test.js';
import { trainBpe } from '../engine/tokenizer/bpe-trainer.js';
import { writeTokenizerFiles } from '../engine/tokenizer/tokenizer-files.js';
import { resolveConfig } from '../train/config-load.js';
import { createLocalBackend } from '../backends/create-local-backend.js';
import type { LocalBackend } from '../backends/local.js';
import { searchQaTaskDefinition } from '../tasks/search-qa/definition.js';
import { readJsonLines, type StepMetrics } from '../train/metrics-log.js';
import { SHORT_SYSTEM_PROMPT } from '../tasks/search-qa/search-qa-task.js';
import { FORMAT_TOKENS, modelConfigOf } from '../tasks/search-qa/warm-start.js';
import { runCaptured } from './run-captured.js';

// `turnwise train --backend.kind=tinker` end to end on loopback: a tiny engine model (its own BPE
// tokenizer, whose directory plays the base model's tokenizer files) behind the Tinker protocol,
// trained by the CLI through TinkerBackend with the `turnwise` capability preset, on tier-S data.
const KEY = 'tw-test-key-7f3a';
const root = mkdtempSync(join(tmpdir(), 'turnwise-train-tinker-'));
const tokenizerDir = join(root, 'tokenizer');
const dataDir = join(root, 'data');
let served: LocalBackend;
let server: TestServer;

beforeAll(async () => {
  const texts = [
    SHORT_SYSTEM_PROMPT,
    'What is the capital of France? Paris is the capital of France.',
    'wiki_search query answer result reasoning',
  ];
  await writeTokenizerFiles(tokenizerDir, trainBpe(texts, { vocabSize: 300, addedTokens: FORMAT_TOKENS }));
  const probe = await createLocalBackend({
    tokenizerDir,
    checkpointDirectory: join(root, 'unused'),
    modelConfig: modelConfigOf(
      resolveConfig({ task: { model: { size: 'tiny', contextLength: 1024 } } }, { tasks: [searchQaTaskDefinition] }),
      300,
    ),
    seed: 1,
  });
  const vocabSize = probe.tokenizer.vocabSize;
  await probe.close();
  served = await createLocalBackend({
    tokenizerDir,
    checkpointDirectory: join(root, 'served-checkpoints'),
    modelConfig: modelConfigOf(
      resolveConfig({ task: { model: { size: 'tiny', contextLength: 1024 } } }, { tasks: [searchQaTaskDefinition] }),
      vocabSize,
    ),
    seed: 1,
    samplerSlots: 16,
  });
  server = await startTestServer({ backend: served, apiKey: KEY, modelName: 'turnwise/tiny' });
});

afterAll(async () => {
  await server?.close();
  await served?.close();
});

const trainArgs = (runDir: string, keyEnv: string, data = dataDir) => [
  'train',
  '--backend.kind=tinker',
  `--backend.baseUrl=${server.url}`,
  '--backend.baseModel=turnwise/tiny',
  `--backend.tokenizerDir=${tokenizerDir}`,
  '--backend.capabilities=turnwise',
  `--backend.apiKeyEnv=${keyEnv}`,
  '--backend.retryAttempts=3',
  '--task.tier=S',
  `--task.dir=${data}`,
  `--runDir=${runDir}`,
  '--rl.steps=2',
  '--rl.groupSize=2',
  '--rl.questionsPerStep=2',
  '--rl.mu=1',
  '--rl.maxCompletionTokens=24',
  '--rl.concurrency=4',
  '--optim.lr=0.01',
  '--optim.warmupSteps=0',
  '--checkpoint.every=0',
  '--log.trajectoriesEvery=1',
  '--eval.questions=2',
];

describe('turnwise train --backend.kind=tinker', () => {
  it('fails before building any data when the API key variable is unset, naming it', async () => {
    const data = join(root, 'never-built');
    const run = await runCaptured(trainArgs(join(root, 'no-key'), 'TURNWISE_TEST_KEY_NOT_SET', data));
    expect(run.code).toBe(2);
    expect(run.errors.join('\n')).toMatch(/environment variable TURNWISE_TEST_KEY_NOT_SET, which is not set/);
    expect(existsSync(data)).toBe(false);
  });

  it(
    'trains a few steps on the served model (metrics written, ' + 'served weights changed), then evaluates the run',
    async () => {
      process.env.TURNWISE_TEST_TINKER_KEY = KEY;
      const before = Float32Array.from(served.model.params);
      const runDir = join(root, 'run');
      const run = await runCaptured([...trainArgs(runDir, 'TURNWISE_TEST_TINKER_KEY'), '--eval']);
      expect(run.errors.join('\n')).toMatch(
        /tinker: starting from turnwise\/tiny \(LoRA rank 32\).*warm start .* is skipped/,
      );
      expect(run.code).toBe(0);

      const metrics = readJsonLines<StepMetrics>(join(runDir, 'metrics.jsonl'));
      expect(metrics.map((row) => row.step)).toEqual([1, 2]);
      for (const row of metrics) expect(Number.isFinite(row['loss/value'])).toBe(true);
      const after = Float32Array.from(served.model.params);
      let changed = 0;
      for (let i = 0; i < after.length; i++) if (after[i] !== before[i]) changed++;
      expect(changed).toBeGreaterThan(after.length / 10);

      const config = readFileSync(join(runDir, 'config.json'), 'utf8');
      expect(JSON.parse(config).backend).toMatchObject({
        kind: 'tinker',
        baseModel: 'turnwise/tiny',
        apiKeyEnv: 'TURNWISE_TEST_TINKER_KEY',
      });
      expect(config).not.toContain(KEY);
      const latest = JSON.parse(readFileSync(join(runDir, 'latest.json'), 'utf8')) as {
        step: number;
        backendPath: string;
      };
      expect(latest.step).toBe(2);
      expect(existsSync(latest.backendPath)).toBe(false); // a path of the service, not a local directory
      expect(existsSync(join(runDir, 'eval', 'dev-sampled.json'))).toBe(true);

      // `--resume RUN` reconnects with the run's own config.json and restores its checkpoint from the service.
      // Only how the service is reached may change on resume (here: the key's variable).
      process.env.TURNWISE_TEST_TINKER_KEY_2 = KEY;
      const refused = await runCaptured(['train', '--resume', runDir, '--rl.steps=3']);
      expect(refused.code).toBe(2);
      expect(refused.errors.join('\n')).toMatch(
        /only --backend\.baseUrl, --backend\.apiKeyEnv, .* may be given with it, got --rl\.steps=3/,
      );
      const resumed = await runCaptured([
        'train',
        '--resume',
        runDir,
        '--backend.apiKeyEnv=TURNWISE_TEST_TINKER_KEY_2',
      ]);
      expect(resumed.code).toBe(0);
      expect(resumed.errors.join('\n')).toMatch(/finished at step 2/);
      expect(JSON.parse(readFileSync(join(runDir, 'config.json'), 'utf8')).backend.apiKeyEnv).toBe(
        'TURNWISE_TEST_TINKER_KEY_2',
      );

      // `turnwise eval RUN` reconnects with the run's config
      // (overrides applied) and loads its checkpoint on the service.
      served.model.params.fill(0);
      const evaluated = await runCaptured([
        'eval',
        runDir,
        '--split=dev',
        '--mode=greedy',
        '--questions=2',
        '--backend.apiKeyEnv=TURNWISE_TEST_TINKER_KEY_2',
      ]);
      expect(evaluated.code).toBe(0);
      expect(evaluated.out.join('\n')).toMatch(/dev\/greedy/);
      // The service holds the trained weights again, loaded from the run's checkpoint.
      expect(Buffer.from(served.model.params.buffer).equals(Buffer.from(after.buffer))).toBe(true);
    },
  );

  it('runs the paper experiment on the service: the remote base evaluated, a method trained from it', async () => {
    process.env.TURNWISE_TEST_TINKER_KEY = KEY;
    const out = join(root, 'paper');
    const backendArgs = trainArgs('', 'TURNWISE_TEST_TINKER_KEY').filter(
      (arg) => arg.startsWith('--backend.') || arg.startsWith('--task.'),
    );
    // The settings of the backend section in a YAML file, the rest as overrides.
    const yaml = join(root, 'tinker.yaml');
    writeFileSync(
      yaml,
      `backend:\n${backendArgs
        .filter((arg) => arg.startsWith('--backend.'))
        .map((arg) => `  ${arg.slice('--backend.'.length).replace('=', ': ')}`)
        .join('\n')}\n`,
    );
    const dataArgs = backendArgs.filter((arg) => arg.startsWith('--task.'));
    const rlArgs = [
      '--rl.steps=1',
      '--rl.groupSize=2',
      '--rl.questionsPerStep=2',
      '--rl.mu=1',
      '--rl.maxCompletionTokens=24',
      '--rl.concurrency=4',
      '--eval.questions=2',
    ];
    const run = await runCaptured([
      'experiment',
      'paper',
      '--seeds=0',
      '--methods=mt-grpo',
      `--out=${out}`,
      '--split=dev',
      `--config=${yaml}`,
      ...dataArgs,
      ...rlArgs,
    ]);
    expect(run.errors.join('\n')).toMatch(/warm start .* is skipped/);
    expect(run.code).toBe(0);
    const base = JSON.parse(readFileSync(join(out, 'base', 'eval', 'dev-sampled.json'), 'utf8')) as {
      checkpoint: string;
      rollouts: number;
    };
    expect(base).toMatchObject({ checkpoint: 'turnwise/tiny (base)', rollouts: 2 });
    expect(readJsonLines<StepMetrics>(join(out, 'mt-grpo-seed0', 'metrics.jsonl'))).toHaveLength(1);
    expect(readFileSync(join(out, 'results.md'), 'utf8')).toMatch(/base \+ MT-GRPO/);
    // The dev split holds no template-held-out family, so there is no second table.
    expect(readFileSync(join(out, 'results.md'), 'utf8')).not.toMatch(/template-held-out/);
  });

  it('reports a key the service refuses, naming the service URL', async () => {
    process.env.TURNWISE_TEST_WRONG_KEY = 'not-the-key';
    const run = await runCaptured(trainArgs(join(root, 'wrong-key'), 'TURNWISE_TEST_WRONG_KEY'));
    expect(run.code).toBe(2);
    expect(run.errors.join('\n')).toMatch(
      new RegExp(
        /could not open a training client of turnwise\/tiny at backend\.baseUrl /.source +
          /http:\/\/127\.0\.0\.1:\d+: .*refused the API key \(HTTP 401\)/.source,
      ),
    );
  });
});
