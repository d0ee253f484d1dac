import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveConfig, writeResolvedConfig } from '../train/config-load.js';
import { runCaptured } from './run-captured.js';

const root = mkdtempSync(join(tmpdir(), 'credit-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('turnwise credit', () => {
  it('needs exactly one run directory', async () => {
    const { code, errors } = await runCaptured(['credit']);
    expect(code).toBe(2);
    expect(errors[0]).toMatch(/credit needs one run directory/);
  });

  it('names a run without a checkpoint', async () => {
    const runDir = join(root, 'fresh');
    writeResolvedConfig(runDir, resolveConfig({}));
    const { code, errors } = await runCaptured(['credit', runDir]);
    expect(code).toBe(2);
    expect(errors[0]).toMatch(/has no checkpoint yet \(latest\.json missing\)/);
  });

  it('rejects bad numbers before loading anything', async () => {
    const runDir = join(root, 'fresh');
    const { errors } = await runCaptured(['credit', runDir, '--group-size', 'x']);
    expect(errors[0]).toMatch(/--group-size must be a non-negative integer, got "x"/);
    expect((await runCaptured(['credit', runDir, '--question=-1'])).errors[0]).toMatch(
      /--question must be a non-negative integer, got "-1"/,
    );
    expect((await runCaptured(['credit', runDir, '--estimator', 'ppo'])).errors[0]).toMatch(/estimator/);
  });

  it('prints its help', async () => {
    const { code, out } = await runCaptured(['credit', '--help']);
    expect(code).toBe(0);
    expect(out.join('\n')).toMatch(/usage: turnwise credit RUN_DIR/);
  });
});
