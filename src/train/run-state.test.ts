import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CheckpointError } from '../errors.js';
import { latestCheckpoint, readTrainerState, restoreLatest, saveCheckpoint } from './run-state.js';
import { BigramTestBackend } from '../testing/bigram-test-backend.js';

const state = (step: number) => ({
  step,
  round: step / 2,
  rng: [1, 2, 3, step] as [number, number, number, number],
  data: { epoch: 0, position: step, order: [2, 0, 1] },
  elapsedSeconds: step,
  configHash: 'abc',
});

describe('run state checkpoints', () => {
  it('moves latest.json only after a complete checkpoint and keeps the last ones', async () => {
    const runDir = mkdtempSync(join(tmpdir(), 'turnwise-run-'));
    const backend = new BigramTestBackend({ checkpointDirectory: join(runDir, 'checkpoints') });
    expect(latestCheckpoint(runDir)).toBeUndefined();
    for (const step of [2, 4, 6]) await saveCheckpoint(runDir, backend, state(step), { keep: 2 });
    expect(readdirSync(join(runDir, 'checkpoints')).sort()).toEqual([
      'step-000004.json',
      'step-000004.trainer.json',
      'step-000006.json',
      'step-000006.trainer.json',
    ]);
    const latest = latestCheckpoint(runDir)!;
    expect(latest).toMatch(/step-000006\.trainer\.json$/);
    expect(readTrainerState(latest).rng).toEqual([1, 2, 3, 6]);
  });

  it('leaves the previous checkpoint as latest when a write dies midway', async () => {
    const runDir = mkdtempSync(join(tmpdir(), 'turnwise-run-'));
    const checkpointDirectory = join(runDir, 'checkpoints');
    await saveCheckpoint(runDir, new BigramTestBackend({ checkpointDirectory }), state(2));
    // A crash after part of the weights but before the trainer state and the pointer:
    writeFileSync(join(checkpointDirectory, 'step-000004.json'), '{"weights": [1, 2');
    const restored = await restoreLatest(runDir, new BigramTestBackend({ seed: 5, checkpointDirectory }), 'abc');
    expect(restored?.step).toBe(2);
  });

  it('refuses to resume with a different config and names both hashes', async () => {
    const runDir = mkdtempSync(join(tmpdir(), 'turnwise-run-'));
    await saveCheckpoint(runDir, new BigramTestBackend({ checkpointDirectory: runDir }), state(2));
    await expect(restoreLatest(runDir, new BigramTestBackend(), 'xyz')).rejects.toThrow(/config hash abc.*xyz/);
  });

  it('rejects a missing or invalid trainer state', () => {
    const dir = mkdtempSync(join(tmpdir(), 'turnwise-run-'));
    expect(() => readTrainerState(join(dir, 'nope.json'))).toThrow(CheckpointError);
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ step: -1 }));
    expect(() => readTrainerState(join(dir, 'bad.json'))).toThrow(/not a valid trainer state.*step/);
    expect(existsSync(dir)).toBe(true);
  });
});
