import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { availableSplits, evaluate, writeEvalResult } from './evaluate.js';
import { BigramTestBackend } from '../testing/bigram-test-backend.js';
import { createToyTask } from '../testing/toy-task.js';

const options = (mode: 'greedy' | 'sampled') => ({
  backend: new BigramTestBackend({ seed: 4, initScale: 1 }),
  task: createToyTask(6),
  split: 'dev',
  mode,
  questions: 4,
  samples: 3,
  sampling: { temperature: 0.9, topK: 0, topP: 1 },
  tokenBudget: 20,
  seed: 7,
  concurrency: 8,
  checkpoint: 'test',
});

describe('evaluate', () => {
  it('scores a prefix of the split with per-family means and stop reasons', async () => {
    const result = await evaluate(options('sampled'));
    expect(result.questions).toBe(4);
    expect(result.rollouts).toBe(12);
    expect(Object.keys(result.byFamily).sort()).toEqual(['even', 'odd']);
    expect(result.byFamily['even']!.count).toBe(6);
    const stops = Object.entries(result.metrics)
      .filter(([key]) => key.startsWith('stop/'))
      .reduce((sum, [, value]) => sum + value, 0);
    expect(stops).toBeCloseTo(1);
    expect(result.metrics).toHaveProperty('exact_match');
  });

  it('evaluates a fixed, representative subset of the split', async () => {
    const { evaluationRows } = await import('./evaluate.js');
    const rows = Array.from({ length: 100 }, (_, i) => i);
    const subset = evaluationRows(rows, 10);
    expect(subset).toEqual(evaluationRows(rows, 10));
    expect(subset).toEqual([...subset].sort((a, b) => a - b));
    expect(subset.some((i) => i >= 50)).toBe(true);
    expect(evaluationRows(rows, 500)).toBe(rows);
  });

  it('decodes greedily with one rollout per question, reproducibly', async () => {
    const first = await evaluate(options('greedy'));
    const second = await evaluate(options('greedy'));
    expect(first.rollouts).toBe(4);
    expect(first.metrics).toEqual(second.metrics);
  });

  it("counts how every rollout's first tool call went, and the rates sum to one", async () => {
    const result = await evaluate(options('sampled'));
    const rates = ['tool_call/none', 'tool_call/failed', 'tool_call/ok'].map((key) => result.metrics[key] ?? 0);
    expect(rates.reduce((a, b) => a + b, 0)).toBeCloseTo(1);
    for (const family of Object.values(result.byFamily)) {
      expect(
        ['none', 'failed', 'ok'].reduce((sum, key) => sum + (family.metrics[`tool_call/${key}`] ?? 0), 0),
      ).toBeCloseTo(1);
    }
  });

  it('writes every evaluated trajectory as a JSON line when asked, matching the reported means', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'turnwise-eval-'));
    const path = join(dir, 'eval', 'dev-sampled.trajectories.jsonl');
    const result = await evaluate({ ...options('sampled'), trajectoriesPath: path });
    const lines = readFileSync(path, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines).toHaveLength(result.rollouts);
    expect(lines[0]).toMatchObject({
      rowId: expect.any(String),
      family: expect.any(String),
      toolCall: expect.stringMatching(/^(none|failed|ok)$/),
    });
    const exactMatch = lines.reduce((sum, line) => sum + line.rewardComponents.exact_match, 0) / lines.length;
    expect(exactMatch).toBeCloseTo(result.metrics['exact_match']!);
    const ok = lines.filter((line) => line.toolCall === 'ok').length / lines.length;
    expect(ok).toBeCloseTo(result.metrics['tool_call/ok'] ?? 0);
  });

  it('writes the result under eval/<split>-<mode>.json', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'turnwise-eval-'));
    const path = writeEvalResult(dir, await evaluate(options('greedy')));
    expect(path).toBe(join(dir, 'eval', 'dev-greedy.json'));
    expect(JSON.parse(readFileSync(path, 'utf8')).mode).toBe('greedy');
  });
});

describe('availableSplits', () => {
  it('keeps the splits the task has rows for, in the order asked, and drops the ones it throws on', () => {
    const rows: Record<string, string[]> = { test: ['a'], 'heldout-kinds': ['b'], 'heldout-phrasings': [] };
    const task = {
      ...createToyTask(2),
      rows(split: string) {
        const found = rows[split];
        if (!found) throw new Error(`no split ${split}`);
        return found as never;
      },
    };
    expect(availableSplits(task, ['heldout-phrasings', 'heldout-kinds', 'dev', 'test'])).toEqual([
      'heldout-kinds',
      'test',
    ]);
  });
});
