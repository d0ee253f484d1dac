import { describe, expect, it } from 'vitest';
import type { StepMetrics } from '../train/metrics-log.js';
import { firstAndLast, formatTrendTable } from './training-trend.js';

/** A run of `steps` steps whose tool-call rate falls linearly from `from` to `to`. */
function run(steps: number, from: number, to: number): StepMetrics[] {
  return Array.from({ length: steps }, (_, step) => ({
    step,
    elapsed: step,
    'rollout/tool_calls_mean': from + ((to - from) * step) / (steps - 1),
  }));
}

describe('firstAndLast', () => {
  it('averages the first and last tenth of each run, then over runs', () => {
    // 20 steps: tenth = 2 steps. Run A 1 -> 0: first (1 + 0.947)/2, last (0.053 + 0)/2.
    const trend = firstAndLast([run(20, 1, 0), run(20, 1, 0)], 'rollout/tool_calls_mean')!;
    expect(trend.first).toBeCloseTo((1 + 1 - 1 / 19) / 2);
    expect(trend.last).toBeCloseTo(1 / 19 / 2);
    const mixed = firstAndLast([run(20, 1, 0), run(20, 3, 3)], 'rollout/tool_calls_mean')!;
    expect(mixed.last).toBeCloseTo((1 / 19 / 2 + 3) / 2);
  });

  it('uses at least one step and skips runs or steps without the metric', () => {
    expect(firstAndLast([run(3, 2, 4)], 'rollout/tool_calls_mean')).toEqual({ first: 2, last: 4 });
    expect(firstAndLast([[{ step: 0, elapsed: 0 }]], 'rollout/tool_calls_mean')).toBeUndefined();
  });
});

describe('formatTrendTable', () => {
  it('prints first -> last per metric and a dash where a method has no data', () => {
    const table = formatTrendTable([
      { model: 'GRPO-OR', runs: [run(10, 1, 0)] },
      { model: 'MT-GRPO', runs: [] },
    ]);
    const lines = table.split('\n');
    expect(lines[0]).toMatch(/^\| model +\| seeds \| tool calls \/ rollout \(first -> last tenth\) \|/);
    expect(lines[2]).toMatch(/^\| GRPO-OR +\| +1 \| +1\.000 -> 0\.000 \|/);
    expect(lines[3]).toMatch(/^\| MT-GRPO +\| +0 \| +- \|/);
  });
});
