import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from './config-load.js';
import { evaluateInto, stopOnSigint } from './pipeline.js';
import { BigramTestBackend } from '../testing/bigram-test-backend.js';
import { createToyTask } from '../testing/toy-task.js';

describe('Ctrl-C handling', () => {
  it('turns the first SIGINT into a stop request instead of killing the process', () => {
    const messages: string[] = [];
    const stop = stopOnSigint((message) => messages.push(message));
    try {
      expect(stop.shouldStop()).toBe(false);
      process.emit('SIGINT', 'SIGINT');
      expect(stop.shouldStop()).toBe(true);
      expect(messages[0]).toMatch(/saving a checkpoint/);
    } finally {
      stop.dispose();
    }
    expect(process.listenerCount('SIGINT')).toBe(0);
  });
});

describe('evaluateInto', () => {
  it('says what share of a split ended in an error, since those score as wrong answers', async () => {
    const runDir = mkdtempSync(join(tmpdir(), 'turnwise-eval-'));
    const config = resolveConfig({ name: 'toy', runDir, seed: 3, eval: { questions: 4, samples: 1 } });
    const backend = new BigramTestBackend({
      seed: 1,
      checkpointDirectory: join(runDir, 'checkpoints'),
      failSample: (call) => (call === 1 ? 'sampler down' : undefined),
    });
    const lines: string[] = [];
    const log = (line: string) => lines.push(line);
    const options = { runDir, backend, task: createToyTask(), config, splits: ['dev'], checkpoint: 'base', log };
    await evaluateInto({ ...options, modes: ['greedy'] });
    await evaluateInto({ ...options, modes: ['sampled'] });
    expect(lines[0]).toMatch(/dev\/greedy 4 rollouts in \d+s; 25.0% ended in an error/);
    expect(lines[1]).toMatch(/dev\/sampled 4 rollouts in \d+s$/);
  });
});
