import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.js';
import { claimRunDir, loadedPath, runEntries, storedPath } from './run-dir.js';

const temporary = () => mkdtempSync(join(tmpdir(), 'turnwise-run-dir-'));

describe('run directories', () => {
  it('store paths inside the run relative to the storing file, and others as given', () => {
    const run = '/runs/a';
    expect(storedPath('/runs/a/checkpoints/step-000002', '/runs/a/checkpoints', run)).toBe('step-000002');
    expect(storedPath('/runs/a/checkpoints/step-000002', run, run)).toBe('checkpoints/step-000002');
    expect(storedPath('/runs/a/step-000002.json', '/runs/a/checkpoints', run)).toBe('../step-000002.json');
    expect(storedPath('/bases/warm', run, run)).toBe('/bases/warm');
    expect(storedPath('tinker://run-1/weights/step-2', run, run)).toBe('tinker://run-1/weights/step-2');
  });

  it("load relative paths against the file's folder; an old absolute path yields to the run's own copy", () => {
    const run = temporary();
    expect(loadedPath('checkpoints/x.trainer.json', run)).toBe(join(run, 'checkpoints/x.trainer.json'));
    expect(loadedPath('/elsewhere/step-000002', join(run, 'checkpoints'))).toBe('/elsewhere/step-000002');
    mkdirSync(join(run, 'checkpoints', 'step-000002'), { recursive: true });
    expect(loadedPath('/elsewhere/step-000002', join(run, 'checkpoints'))).toBe(
      join(run, 'checkpoints', 'step-000002'),
    );
    expect(loadedPath('tinker://a/b', run)).toBe('tinker://a/b');
  });

  it('refuse a directory holding a run unless overwrite, then remove only the run entries', () => {
    const dir = temporary();
    expect(() => claimRunDir(dir, { what: 'run directory', instead: 'x' })).not.toThrow();
    writeFileSync(join(dir, 'config.json'), '{}');
    mkdirSync(join(dir, 'checkpoints'));
    writeFileSync(join(dir, 'notes.txt'), 'mine');
    expect(runEntries(dir)).toEqual(['config.json', 'checkpoints']);
    expect(() => claimRunDir(dir, { what: 'run directory', instead: 'resume it' })).toThrow(ConfigError);
    expect(() => claimRunDir(dir, { what: 'run directory', instead: 'resume it' })).toThrow(
      /already holds a run \(config\.json, checkpoints\); resume it, or give --overwrite/,
    );
    claimRunDir(dir, { what: 'run directory', instead: 'resume it', overwrite: true });
    expect(readdirSync(dir)).toEqual(['notes.txt']);
    expect(existsSync(join(dir, 'notes.txt'))).toBe(true);
  });
});
