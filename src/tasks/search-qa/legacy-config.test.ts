import { copyFileSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configHash, loadConfig, readRunConfig, runConfigHashes } from '../../train/config-load.js';
import { searchQaTaskDefinition } from './definition.js';
import { isLegacyConfig, upgradeLegacyConfig } from './legacy-config.js';
import { DEMO_PRESET } from './presets.js';

const FIXTURE = join(import.meta.dirname, '__fixtures__', 'v1-run-config.json');
const tasks = [searchQaTaskDefinition];
/** The hash the demo run's checkpoints recorded under turnwise 0.1. */
const V1_CHECKPOINT_HASH = 'dd8e36291c1f4a0e';

describe('run configs written by turnwise 0.1', () => {
  it("are recognised, and today's configs are not", async () => {
    const raw = JSON.parse(readFileSync(FIXTURE, 'utf8'));
    expect(isLegacyConfig(raw)).toBe(true);
    const today = await loadConfig({ base: DEMO_PRESET as Record<string, unknown>, tasks });
    expect(isLegacyConfig(JSON.parse(JSON.stringify(today)))).toBe(false);
    expect(upgradeLegacyConfig(JSON.parse(JSON.stringify(today)))).toBeUndefined();
  });

  it("upgrade to exactly the config the same command resolved then, in today's layout", async () => {
    const raw = JSON.parse(readFileSync(FIXTURE, 'utf8'));
    const dir = mkdtempSync(join(tmpdir(), 'turnwise-legacy-'));
    copyFileSync(FIXTURE, join(dir, 'config.json'));
    const upgraded = readRunConfig(dir, { tasks });
    // The demo preset as it was when the run was made: today's, with the recipe the run recorded
    // (the demo's recipe has changed since: issue 14's levers, none of them known to turnwise 0.1).
    const {
      resultWindow: _w,
      trainingPhrasings: _p,
      trainRowsPerFamily: _c,
      ...v1Task
    } = DEMO_PRESET.task as Record<string, unknown>;
    const v1Demo = {
      ...DEMO_PRESET,
      task: { ...v1Task, warmStart: raw.warmStart },
      rl: { ...DEMO_PRESET.rl, steps: raw.rl.steps },
      checkpoint: raw.checkpoint,
      log: raw.log,
    };
    const today = await loadConfig({
      base: { ...v1Demo, runDir: 'runs/demo/mt-grpo-seed0' } as Record<string, unknown>,
      tasks,
    });
    // The run is the directory it was read from, whatever runDir it recorded.
    expect(upgraded).toEqual({ ...today, runDir: dir });
    expect(upgraded.advantage).toEqual({ kind: 'mt-grpo', lambda: 1 });
    expect(upgraded.task).toMatchObject({
      name: 'search-qa',
      tier: 'M',
      systemPrompt: 'short',
      model: raw.model,
      warmStart: raw.warmStart,
    });
    expect(upgraded.data).toEqual({ trainSplit: 'train', evalSplit: 'dev' });
  });

  it('keep the original beside the run, and their checkpoints still resume', () => {
    const dir = mkdtempSync(join(tmpdir(), 'turnwise-legacy-'));
    copyFileSync(FIXTURE, join(dir, 'config.json'));
    // V1_CHECKPOINT_HASH is the hash 0.1 gave this config (runDir included; today's hash leaves it out).
    expect(configHash(JSON.parse(readFileSync(FIXTURE, 'utf8')))).not.toBe(V1_CHECKPOINT_HASH);
    const upgraded = readRunConfig(dir, { tasks });
    expect(readFileSync(join(dir, 'config.v1.json'), 'utf8')).toBe(readFileSync(FIXTURE, 'utf8'));
    const hashes = runConfigHashes(dir, upgraded);
    expect(hashes[0]).toBe(configHash(upgraded));
    expect(hashes).toContain(V1_CHECKPOINT_HASH);
    // Reading again (config.json now in today's layout, as the resumed run rewrites it) keeps accepting it.
    expect(runConfigHashes(dir, readRunConfig(dir, { tasks }))).toContain(V1_CHECKPOINT_HASH);
  });

  it('keep only the options of the estimator they name', () => {
    const raw = JSON.parse(readFileSync(FIXTURE, 'utf8'));
    const upgraded = upgradeLegacyConfig({
      ...raw,
      advantage: { kind: 'rloo', lambda: 1, alpha: 1, reward: 'outcome' },
    });
    expect(upgraded?.advantage).toEqual({ kind: 'rloo', reward: 'outcome' });
  });

  it('are not touched when they are no turnwise run at all', () => {
    const dir = mkdtempSync(join(tmpdir(), 'turnwise-legacy-'));
    expect(() => readRunConfig(dir, { tasks })).toThrow(/has no config\.json/);
    expect(existsSync(join(dir, 'config.v1.json'))).toBe(false);
  });
});
