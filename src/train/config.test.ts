import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.js';
import { resolveRunDir } from './config.js';
import {
  applyOverrides,
  configHash,
  describeConfig,
  loadConfig,
  readRunConfig,
  runConfigHashes,
  resolveConfig,
  writeResolvedConfig,
} from './config-load.js';

const temporaryDir = () => mkdtempSync(join(tmpdir(), 'turnwise-config-'));

describe('training config', () => {
  it('fills every default from an empty object', () => {
    const config = resolveConfig({});
    expect(config.rl.groupSize).toBe(8);
    expect(config.rl.temperature).toBe(0.9);
    expect(config.advantage.kind).toBe('mt-grpo');
    expect(config.loss.clipEpsilon).toBe(0.2);
    expect(config.task.name).toBe('search-qa');
    expect(resolveRunDir(config)).toBe('runs/run-seed0');
  });

  it('applies dotted overrides with the type each field expects', async () => {
    const config = await loadConfig({
      overrides: ['--rl.groupSize=4', '--advantage.kind=grpo-or', '--name=123', '--optim.lr=1e-3'],
    });
    expect(config.rl.groupSize).toBe(4);
    expect(config.advantage.kind).toBe('grpo-or');
    expect(config.name).toBe('123');
    expect(config.optim.lr).toBe(0.001);
  });

  it('rejects an unknown override key naming the allowed keys', () => {
    expect(() => applyOverrides({}, ['--rl.groupSise=4'])).toThrow(
      /unknown config key "rl.groupSise".*allowed keys under rl: steps, groupSize/,
    );
    expect(() => applyOverrides({}, ['--nope.x=1'])).toThrow(/unknown config key "nope".*allowed keys: name, runDir/);
  });

  it('rejects a bad value naming key, value and what is allowed', () => {
    expect(() => resolveConfig({ advantage: { kind: 'ppo' } })).toThrow(ConfigError);
    expect(() => resolveConfig({ advantage: { kind: 'ppo' } })).toThrow(
      /advantage.kind.*got "ppo".*"grpo-or"\|"grpo-mr"\|"mt-grpo"/,
    );
    expect(() => resolveConfig({ rl: { groupSize: 1 } })).toThrow(/rl.groupSize.*got 1.*>=2/);
    expect(() => resolveConfig({ rl: { temperature: 'hot' } })).toThrow(/rl.temperature.*got "hot".*expected number/);
  });

  it('rejects unknown keys in a config file', () => {
    expect(() => resolveConfig({ rl: { groupSize: 4, epochs: 3 } })).toThrow(/unknown config key "rl.epochs"/);
  });

  it('loads JSON, YAML and TypeScript files, overrides winning', async () => {
    const dir = temporaryDir();
    writeFileSync(join(dir, 'a.json'), JSON.stringify({ rl: { steps: 7 }, seed: 3 }));
    writeFileSync(join(dir, 'b.yaml'), 'rl:\n  steps: 9\nadvantage:\n  kind: grpo-mr\n');
    writeFileSync(join(dir, 'c.mjs'), 'export default { rl: { steps: 11 } };\n');
    expect((await loadConfig({ file: join(dir, 'a.json') })).rl.steps).toBe(7);
    expect((await loadConfig({ file: join(dir, 'b.yaml') })).advantage.kind).toBe('grpo-mr');
    expect((await loadConfig({ file: join(dir, 'c.mjs') })).rl.steps).toBe(11);
    expect((await loadConfig({ file: join(dir, 'a.json'), overrides: ['--rl.steps=2'] })).rl.steps).toBe(2);
    await expect(loadConfig({ file: join(dir, 'missing.json') })).rejects.toThrow(/does not exist/);
    writeFileSync(join(dir, 'bad.json'), '{ not json');
    await expect(loadConfig({ file: join(dir, 'bad.json') })).rejects.toThrow(/could not be parsed/);
  });

  it('writes the resolved config next to the run and reads it back', () => {
    const dir = temporaryDir();
    const config = resolveConfig({ seed: 5 });
    writeResolvedConfig(dir, config);
    expect(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).seed).toBe(5);
    // The file records the run as "." (itself); read back, the run is the directory it was read from.
    expect(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).runDir).toBe('.');
    expect(readRunConfig(dir)).toEqual({ ...config, runDir: dir });
  });

  it('leaves runDir out of the hash, and still accepts the hash an older turnwise gave a run', () => {
    const config = resolveConfig({ seed: 5 });
    expect(configHash({ ...config, runDir: '/moved/here' })).toBe(configHash(config));
    // Golden values: configHash of this config before runDir left the hash, with the runDir recorded.
    for (const [recorded, oldHash] of [
      ['', '74b96913c1b53080'],
      ['runs/old', '8ab7564538b77eba'],
    ] as const) {
      const dir = temporaryDir();
      writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, runDir: recorded }));
      expect(runConfigHashes(dir, { ...config, runDir: dir })).toContain(oldHash);
    }
  });

  it('hashes configs independently of key order', () => {
    expect(configHash({ a: 1, b: { c: 2, d: 3 } })).toBe(configHash({ b: { d: 3, c: 2 }, a: 1 }));
    expect(configHash({ a: 1 })).not.toBe(configHash({ a: 2 }));
  });

  it('hashes rl.maxStaleness 0 as a config written before the field existed, so those runs resume', () => {
    const config = resolveConfig({});
    const { maxStaleness: _default, ...before } = config.rl;
    expect(configHash(config)).toBe(configHash({ ...config, rl: before }));
    expect(configHash(resolveConfig({ rl: { maxStaleness: 1 } }))).not.toBe(configHash(config));
  });

  it('documents every leaf field with a default', () => {
    const lines = describeConfig();
    expect(lines.length).toBeGreaterThan(30);
    for (const line of lines) expect(line).toMatch(/default/);
  });
});
