import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deepMerge, resolveConfig } from '../../train/config-load.js';
import type { TrainConfig } from '../../train/config.js';
import { createLocalBackend } from '../../backends/create-local-backend.js';
import { searchQaTaskDefinition } from './definition.js';
import { openSearchQaTask, type SearchQaTask } from './search-qa-task.js';
import { cachedBase, dataFingerprint, warmStart, warmStartKey } from './warm-start.js';

// The warm start on tier-S data with a tiny model and a few steps per stage (about a second per build).
const root = mkdtempSync(join(tmpdir(), 'turnwise-warm-start-'));
let task: SearchQaTask;

beforeAll(async () => {
  task = await openSearchQaTask({
    tier: 'S',
    dir: join(root, 'data'),
    tool: { maxCharacters: 200, k: 1 },
    maxToolCalls: 2,
    systemPrompt: 'short',
  });
});
afterAll(() => task?.close?.());

const configOf = (cacheDir: string, overrides: Record<string, unknown> = {}): TrainConfig =>
  resolveConfig(
    deepMerge(
      {
        task: {
          tier: 'S',
          dir: join(root, 'data'),
          model: { size: 'tiny', vocabSize: 320, contextLength: 768 },
          warmStart: {
            corpusCharacters: 20_000,
            demonstrations: 48,
            pretrainSteps: 10,
            pretrainBatch: 4,
            pretrainSeqLength: 32,
            pretrainLr: 1e-2,
            sftSteps: 10,
            sftBatch: 6,
            sftLr: 1e-2,
            demoMix: { good: 0.25, poorQuery: 0.25, noSearch: 0.25, brokenFormat: 0.25 },
            cacheDir,
          },
        },
        rl: { maxCompletionTokens: 400 },
      },
      overrides,
    ),
    { tasks: [searchQaTaskDefinition] },
  );

/** Runs a warm start, returning its result and the lines it logged. */
async function run(config: TrainConfig) {
  const lines: string[] = [];
  const result = await warmStart({ config, task, log: (line) => lines.push(line) });
  return { ...result, lines };
}

/** The loss of every logged step of a stage. */
const losses = (lines: string[], stage: string) =>
  lines.flatMap((line) => (line.includes(`] ${stage} step`) ? [Number(/loss (\S+)/.exec(line)![1])] : []));
const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;

describe('warm start (tier S, tiny model)', () => {
  it('plays the configured mix of imperfect demonstrations, ' +
    'lowers both losses, and caches the base by recipe hash', async () => {
    const cacheDir = join(root, 'cache-a');
    const config = configOf(cacheDir);
    const first = await run(config);
    expect(first.reused).toBe(false);
    expect(first.baseDir).toBe(join(cacheDir, warmStartKey(config), 'base'));

    // Every kind of the mix is present, in about its share, and each kind behaves as scripted.
    const kinds = first.summary.sft.demonstrations;
    expect(Object.keys(kinds).sort()).toEqual(['brokenFormat', 'good', 'noSearch', 'poorQuery']);
    expect(Object.values(kinds).reduce((a, b) => a + b, 0)).toBe(48);
    for (const count of Object.values(kinds)) expect(count).toBeGreaterThanOrEqual(5);
    const rewards = first.summary.sft.demonstrationMetrics!;
    expect(rewards['noSearch']!['tool_execution']).toBe(0);
    expect(rewards['good']!['tool_execution']).toBeGreaterThan(0.15);
    expect(rewards['good']!['exact_match']).toBeGreaterThan(rewards['noSearch']!['exact_match']! + 0.3);
    expect(rewards['good']!['exact_match']).toBeGreaterThan(rewards['poorQuery']!['exact_match']!);
    expect(rewards['good']!['xml_format']).toBeGreaterThan(rewards['brokenFormat']!['xml_format']! + 0.05);
    expect(rewards['good']!['stop/answered']).toBeGreaterThan(0.8);

    // Both stages learn: the last steps' loss is below the first steps'.
    const pretrain = losses(first.lines, 'pretrain');
    const sft = losses(first.lines, 'sft');
    expect(pretrain).toHaveLength(10);
    expect(sft).toHaveLength(10);
    expect(mean(pretrain.slice(-3))).toBeLessThan(mean(pretrain.slice(0, 3)) - 0.3);
    expect(mean(sft.slice(-3))).toBeLessThan(mean(sft.slice(0, 3)) - 0.3);

    // The base is a loadable checkpoint with its tokenizer, and nothing of the build is left behind.
    const backend = await createLocalBackend({
      tokenizerDir: first.baseDir,
      checkpoint: first.baseDir,
      optimizer: false,
      checkpointDirectory: join(root, 'scratch'),
    });
    expect(backend.tokenizer.vocabSize).toBe(first.summary.vocabSize);
    await backend.close();
    expect(Object.keys(first.summary.files!).sort()).toEqual(
      expect.arrayContaining(['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']),
    );
    expect(readdirSync(cacheDir)).toEqual([warmStartKey(config)]);

    // Same recipe: reused. Another recipe (cache location aside): rebuilt under its own key.
    const again = await run(config);
    expect(again.reused).toBe(true);
    expect(again.baseDir).toBe(first.baseDir);
    expect(again.summary).toEqual(first.summary);
    expect(again.lines).toEqual([`[warm start] reusing cached base ${first.baseDir}`]);
    expect(warmStartKey(configOf(join(root, 'elsewhere')))).toBe(warmStartKey(config));
    const goodOnly = configOf(cacheDir, {
      task: { warmStart: { demoMix: { good: 1, poorQuery: 0, noSearch: 0, brokenFormat: 0 } } },
    });
    expect(warmStartKey(goodOnly)).not.toBe(warmStartKey(config));
    const other = await run(goodOnly);
    expect(other.reused).toBe(false);
    expect(other.baseDir).not.toBe(first.baseDir);
    expect(other.summary.sft.demonstrations).toEqual({ good: 48 });
    expect(cachedBase(config)).toBe(first.baseDir);
    expect(cachedBase(goodOnly)).toBe(other.baseDir);
  }, 60_000);

  it('detects a damaged cache entry, says what is wrong, ' +
    'and rebuilds it (the same base: the build is deterministic)', async () => {
    const config = configOf(join(root, 'cache-b'));
    const original = await run(config);
    const weights = join(original.baseDir, 'model.safetensors');
    const intact = readFileSync(weights);

    // One flipped byte of the weights.
    const flipped = Buffer.from(intact);
    flipped[flipped.length - 3] ^= 0x40;
    writeFileSync(weights, flipped);
    expect(cachedBase(config)).toBeUndefined();
    const repaired = await run(config);
    expect(repaired.reused).toBe(false);
    expect(repaired.lines[0]).toMatch(
      new RegExp(
        /cached base .* is unusable: base\/model\.safetensors does not match /.source +
          /the SHA-256 recorded when it was built; rebuilding it/.source,
      ),
    );
    expect(readFileSync(weights).equals(intact)).toBe(true);
    expect(repaired.summary.files).toEqual(original.summary.files);

    // A summary cut short by a crash of an older version, or a truncated weights file.
    const summaryPath = join(original.baseDir, '..', 'warm-start.json');
    writeFileSync(summaryPath, readFileSync(summaryPath, 'utf8').slice(0, 40));
    expect((await run(config)).lines[0]).toMatch(/unusable: warm-start\.json is not valid JSON/);
    writeFileSync(weights, intact.subarray(0, 100));
    expect((await run(config)).lines[0]).toMatch(
      new RegExp(`unusable: base/model\\.safetensors has 100 bytes, the build wrote ${intact.length}`),
    );
    expect((await run(config)).reused).toBe(true);

    // An entry of an older version has no fingerprint: reused while its files are there.
    const summary = JSON.parse(readFileSync(summaryPath, 'utf8'));
    delete summary.files;
    writeFileSync(summaryPath, JSON.stringify(summary));
    expect((await run(config)).reused).toBe(true);
  }, 60_000);

  it('leaves no cache entry when a build fails part-way, so the next call builds it whole', async () => {
    const cacheDir = join(root, 'cache-c');
    const config = configOf(cacheDir);
    const crash = (line: string) => {
      if (line.includes('] sft step')) throw new Error('simulated crash during SFT');
    };
    await expect(warmStart({ config, task, log: crash })).rejects.toThrow(/simulated crash/);
    expect(readdirSync(cacheDir)).toEqual([]);
    expect(cachedBase(config)).toBeUndefined();
    // A process killed mid-build leaves its directory; the next build removes it once that process is gone.
    const key = warmStartKey(config);
    const deadPid = 2 ** 22 + 17; // above Linux's largest pid, so no process has it
    mkdirSync(join(cacheDir, `${key}.building-${deadPid}-0a1b2c3d`, 'base'), { recursive: true });
    mkdirSync(join(cacheDir, `${key}.building-${process.pid}-0a1b2c3d`));
    const built = await run(config);
    expect(built.reused).toBe(false);
    expect(built.lines.some((line) => line.includes('unusable'))).toBe(false);
    expect(cachedBase(config)).toBe(built.baseDir);
    expect(readdirSync(cacheDir).sort()).toEqual([key, `${key}.building-${process.pid}-0a1b2c3d`]);
  }, 60_000);

  it('keys a base by the data it learns from: another build or other imported questions is another base', () => {
    const config = configOf(join(root, 'cache-d'));
    const manifest = JSON.parse(readFileSync(join(root, 'data', 'manifest.json'), 'utf8'));
    expect(dataFingerprint(config)).toBe(
      `${manifest.corpusSha256.slice(0, 16)}:${manifest.questionsSha256.slice(0, 16)}`,
    );
    // The same build copied elsewhere: the same base.
    const copy = join(root, 'data-copy');
    cpSync(join(root, 'data'), copy, { recursive: true });
    expect(warmStartKey(configOf(join(root, 'cache-d'), { task: { dir: copy } }))).toBe(warmStartKey(config));
    // A build whose questions differ: another base.
    writeFileSync(join(copy, 'manifest.json'), JSON.stringify({ ...manifest, questionsSha256: '0'.repeat(64) }));
    expect(warmStartKey(configOf(join(root, 'cache-d'), { task: { dir: copy } }))).not.toBe(warmStartKey(config));
    // Imported data (no manifest): its questions file decides.
    rmSync(join(copy, 'manifest.json'));
    const imported = configOf(join(root, 'cache-d'), { task: { dir: copy } });
    const before = warmStartKey(imported);
    writeFileSync(join(copy, 'questions.jsonl'), `${readFileSync(join(copy, 'questions.jsonl'), 'utf8')}\n`);
    expect(warmStartKey(imported)).not.toBe(before);
    // No data yet: no fingerprint (the task builds the data before the base is looked up).
    expect(dataFingerprint(configOf(join(root, 'cache-d'), { task: { dir: join(root, 'nothing') } }))).toBeUndefined();
  });
});
