import { mkdtempSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Trajectory, TrajectoryGroup } from '../types.js';
import { rolloutMetrics, summarize, turnAdvantages } from './rollout-metrics.js';
import { RunLog, readJsonLines } from './metrics-log.js';
import { ProgressReporter, formatDuration } from './progress.js';

/** A two-turn trajectory: prompt (2 tokens), turn 0 (3), env (2), turn 1 (2). */
function trajectory(groupIndex: number, turnReward: number, outcome: number, withResult = true): Trajectory {
  return {
    rowId: 'q1',
    groupIndex,
    messages: [{ role: 'user', content: 'Question: x' }],
    tokens: [1, 2, 3, 4, 5, 6, 7, 8, 9],
    promptLength: 2,
    trainable: [0, 0, 1, 1, 1, 0, 0, 1, 1],
    logprobs: [0, 0, -1, -1, -1, 0, 0, -1, -1],
    turns: [
      {
        index: 0,
        assistant: { role: 'assistant', content: 'a' },
        sampled: { start: 2, end: 5 },
        toolCalls: [],
        env: { role: 'user', content: '<result>x</result>' },
        envSpan: { start: 5, end: 7 },
        isToolResult: withResult,
        toolFailed: false,
        truncated: false,
      },
      {
        index: 1,
        assistant: { role: 'assistant', content: 'b' },
        sampled: { start: 7, end: 9 },
        toolCalls: [],
        isToolResult: false,
        toolFailed: false,
        truncated: false,
      },
    ],
    turnRewards: [turnReward, 0],
    outcomeReward: outcome,
    rewardComponents: { exact_match: outcome > 1 ? 1 : 0, tool_execution: withResult ? 0.2 : 0 },
    stopReason: 'answered',
    errors: [],
  };
}

describe('rollout metrics', () => {
  it('summarizes mean, std, min and max', () => {
    expect(summarize([1, 2, 3])).toEqual({ mean: 2, std: Math.sqrt(2 / 3), min: 1, max: 3 });
    expect(summarize([])).toEqual({ mean: 0, std: 0, min: 0, max: 0 });
  });

  it('averages advantages over each turn’s sampled tokens only', () => {
    const t = trajectory(0, 0.7, 1.9);
    expect(turnAdvantages(t, [9, 9, 1, 2, 3, 9, 9, 4, 6])).toEqual([2, 5]);
  });

  it('counts the groups where only the turn rewards differ: the signal an outcome-only estimator lacks', () => {
    const group = (rowId: string, trajectories: Trajectory[]): TrajectoryGroup => ({ rowId, row: {}, trajectories });
    const metrics = rolloutMetrics([
      group('q1', [trajectory(0, 0.7, 1.9), trajectory(1, 0, 1.9)]),
      group('q2', [trajectory(0, 0.7, 1.9), trajectory(1, 0.7, 0.2)]),
      group('q3', [trajectory(0, 0.2, 0.4), trajectory(1, 0.2, 0.4)]),
      group('q4', [trajectory(0, 0, 0.2), trajectory(1, 0.5, 0.2)]),
    ]);
    expect(metrics['reward/groups_outcome_varies']).toBe(0.25);
    expect(metrics['reward/groups_turn_varies']).toBe(0.5);
    expect(metrics['reward/groups_turn_only']).toBe(0.5);
  });

  it('reports reward components, stop reasons, per-turn advantages and zero-signal groups', () => {
    const group: TrajectoryGroup = {
      rowId: 'q1',
      row: {},
      trajectories: [trajectory(0, 0.7, 1.9), trajectory(1, 0, 0.04, false)],
    };
    const flat: TrajectoryGroup = {
      rowId: 'q2',
      row: {},
      trajectories: [trajectory(0, 0.2, 0.4), trajectory(1, 0.2, 0.4)],
    };
    const advantages = [
      [
        [0, 0, 1, 1, 1, 0, 0, 0.5, 0.5],
        [0, 0, -1, -1, -1, 0, 0, -0.5, -0.5],
      ],
      [Array(9).fill(0), Array(9).fill(0)],
    ];
    const metrics = rolloutMetrics([group, flat], advantages);
    expect(metrics['rollout/count']).toBe(4);
    expect(metrics['reward/exact_match']).toBeCloseTo(0.25);
    expect(metrics['reward/tool_execution']).toBeCloseTo(0.15);
    expect(metrics['reward/turn0_max']).toBeCloseTo(0.7);
    expect(metrics['stop/answered']).toBe(1);
    expect(metrics['rollout/with_result_rate']).toBeCloseTo(0.75);
    expect(metrics['advantage/turn0_max']).toBe(1);
    expect(metrics['advantage/turn1_min']).toBe(-0.5);
    expect(metrics['advantage/zero_groups']).toBe(0.5);
    // The first group differs in both rewards, the second in neither.
    expect(metrics['reward/groups_outcome_varies']).toBe(0.5);
    expect(metrics['reward/groups_turn_varies']).toBe(0.5);
    expect(metrics['reward/groups_turn_only']).toBe(0);
    expect(metrics['rollout/sampled_tokens']).toBe(20);
  });
});

describe('run log', () => {
  it('appends metrics and trajectories and truncates past a resumed step', () => {
    const dir = mkdtempSync(join(tmpdir(), 'turnwise-log-'));
    const log = new RunLog(dir);
    for (let step = 1; step <= 4; step++) log.writeMetrics({ step, elapsed: step, 'reward/outcome_mean': step / 10 });
    log.writeTrajectories(2, [
      {
        trajectory: trajectory(0, 0.7, 1.9),
        advantages_T: [0, 0, 1, 1, 1, 0, 0, 2, 2],
        row: { question: 'Q?', answers: ['a'] },
      },
    ]);
    log.writeTrajectories(4, [{ trajectory: trajectory(1, 0, 0), advantages_T: Array(9).fill(0) }]);
    log.truncateAfter(2);
    expect(log.readMetrics().map((m) => m.step)).toEqual([1, 2]);
    const logged = readJsonLines<{ step: number; turnAdvantages: number[]; question: string }>(log.trajectoriesPath);
    expect(logged).toHaveLength(1);
    expect(logged[0]!.turnAdvantages).toEqual([1, 2]);
    expect(logged[0]!.question).toBe('Q?');
  });

  it('skips a torn last line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'turnwise-log-'));
    const log = new RunLog(dir);
    log.writeMetrics({ step: 1, elapsed: 0 });
    appendFileSync(log.metricsPath, '{"step": 2, "ela');
    expect(log.readMetrics()).toHaveLength(1);
  });
});

describe('progress reporter', () => {
  const timing = { elapsedSeconds: 10, stepsThisSession: 2, tokensPerSecond: 2500 };

  it('prints plain lines every N steps when not a TTY', () => {
    const out: string[] = [];
    const reporter = new ProgressReporter({
      totalSteps: 4,
      printEvery: 2,
      fields: [{ label: 'EM', key: 'em', digits: 2 }],
      stream: { write: (t: string) => out.push(t) },
      tty: false,
    });
    for (let step = 1; step <= 4; step++) reporter.update(step, { em: 0.5 }, timing);
    expect(out).toEqual(['step 2/4  EM 0.50  tok/s 2.5k  ETA 10s\n', 'step 4/4  EM 0.50  tok/s 2.5k  ETA 0s\n']);
  });

  it('redraws one bar line on a TTY', () => {
    const out: string[] = [];
    const reporter = new ProgressReporter({
      totalSteps: 4,
      fields: [],
      stream: { write: (t: string) => out.push(t), columns: 200 },
      tty: true,
    });
    reporter.update(1, {}, timing);
    reporter.finish();
    expect(out[0]).toMatch(/^\r\[######\.{18}\] step 1\/4/);
    expect(out[1]).toBe('\n');
  });

  it('formats durations', () => {
    expect(formatDuration(42)).toBe('42s');
    expect(formatDuration(185)).toBe('3m05s');
    expect(formatDuration(3720)).toBe('1h02m');
  });
});
