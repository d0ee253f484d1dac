/**
 * Metrics of one generation round, computed from its trajectory groups and their advantages:
 * every reward component's mean, turn and outcome rewards, per-turn reward and advantage
 * statistics, the share of groups whose outcome or turn rewards differ, stop reasons, tool use,
 * token counts and the share of groups with zero signal.
 * Names follow `namespace/metric` (cleanrl style).
 */
import { rewardsVary } from '../advantage/group-stats.js';
import type { GroupAdvantages, Trajectory, TrajectoryGroup } from '../types.js';

/** Mean, standard deviation (population), min and max of a list; zeros for an empty list. */
export function summarize(values: number[]): { mean: number; std: number; min: number; max: number } {
  if (values.length === 0) return { mean: 0, std: 0, min: 0, max: 0 };
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const value of values) {
    sum += value;
    if (value < min) min = value;
    if (value > max) max = value;
  }
  const mean = sum / values.length;
  let squares = 0;
  for (const value of values) squares += (value - mean) ** 2;
  return { mean, std: Math.sqrt(squares / values.length), min, max };
}

function addSummary(metrics: Record<string, number>, name: string, values: number[]): void {
  const stats = summarize(values);
  metrics[`${name}_mean`] = stats.mean;
  metrics[`${name}_std`] = stats.std;
  metrics[`${name}_min`] = stats.min;
  metrics[`${name}_max`] = stats.max;
}

/** Mean advantage over each turn's sampled tokens of one trajectory (K entries). */
export function turnAdvantages(trajectory: Trajectory, advantages_T: number[]): number[] {
  return trajectory.turns.map((turn) => {
    let sum = 0;
    let count = 0;
    for (let t = turn.sampled.start; t < turn.sampled.end; t++) {
      if (trajectory.trainable[t] === 1) {
        sum += advantages_T[t] ?? 0;
        count++;
      }
    }
    return count === 0 ? 0 : sum / count;
  });
}

/** How a rollout's first tool call went: no call answered by a result, an `Error:` result, or a result. */
export type ToolCallOutcome = 'none' | 'failed' | 'ok';

/** The outcome of the first tool call of a trajectory (the turn the paper's tool rewards score). */
export function firstToolCallOutcome(trajectory: Trajectory): ToolCallOutcome {
  const turn = trajectory.turns.find((candidate) => candidate.isToolResult);
  if (turn === undefined) return 'none';
  return turn.toolFailed ? 'failed' : 'ok';
}

/** Metrics of a round of rollouts; `advantages_P` (one per group) adds the advantage statistics. */
export function rolloutMetrics(groups: TrajectoryGroup[], advantages_P?: GroupAdvantages[]): Record<string, number> {
  const trajectories = groups.flatMap((group) => group.trajectories);
  const metrics: Record<string, number> = {};
  const count = Math.max(1, trajectories.length);
  metrics['rollout/count'] = trajectories.length;

  const componentNames = new Set(trajectories.flatMap((trajectory) => Object.keys(trajectory.rewardComponents)));
  for (const name of [...componentNames].sort()) {
    let sum = 0;
    for (const trajectory of trajectories) sum += trajectory.rewardComponents[name] ?? 0;
    metrics[`reward/${name}`] = sum / count;
  }
  addSummary(
    metrics,
    'reward/outcome',
    trajectories.map((trajectory) => trajectory.outcomeReward),
  );
  const turnTotals = trajectories.map((trajectory) => trajectory.turnRewards.reduce((a, b) => a + b, 0));
  addSummary(metrics, 'reward/turn', turnTotals);
  metrics['reward/total_mean'] = summarize(
    trajectories.map((trajectory, i) => trajectory.outcomeReward + turnTotals[i]!),
  ).mean;
  const maxTurns = Math.max(0, ...trajectories.map((trajectory) => trajectory.turnRewards.length));
  for (let k = 0; k < maxTurns; k++) {
    addSummary(
      metrics,
      `reward/turn${k}`,
      trajectories
        .filter((trajectory) => k < trajectory.turnRewards.length)
        .map((trajectory) => trajectory.turnRewards[k]!),
    );
  }

  // Where each kind of reward gives a group signal: groups whose outcome rewards differ, whose turn
  // reward totals differ, and whose turn rewards differ while the outcome is the same for every
  // rollout (signal that turn-level credit has and an outcome-only estimator such as GRPO-OR has not).
  let outcomeVaries = 0;
  let turnVaries = 0;
  let turnOnly = 0;
  for (const group of groups) {
    const { outcome, turn } = rewardsVary(group);
    if (outcome) outcomeVaries++;
    if (turn) turnVaries++;
    if (turn && !outcome) turnOnly++;
  }
  const groupCount = Math.max(1, groups.length);
  metrics['reward/groups_outcome_varies'] = outcomeVaries / groupCount;
  metrics['reward/groups_turn_varies'] = turnVaries / groupCount;
  metrics['reward/groups_turn_only'] = turnOnly / groupCount;

  for (const reason of ['answered', 'max_tool_calls', 'token_budget', 'max_turns', 'error'] as const) {
    metrics[`stop/${reason}`] = trajectories.filter((trajectory) => trajectory.stopReason === reason).length / count;
  }
  let toolCalls = 0;
  let toolFailures = 0;
  let turns = 0;
  let truncated = 0;
  let sampledTokens = 0;
  let totalTokens = 0;
  let withResult = 0;
  for (const trajectory of trajectories) {
    turns += trajectory.turns.length;
    if (trajectory.turns.some((turn) => turn.isToolResult)) withResult++;
    for (const turn of trajectory.turns) {
      if (turn.isToolResult) {
        toolCalls++;
        if (turn.toolFailed) toolFailures++;
      }
      if (turn.truncated) truncated++;
    }
    for (const mask of trajectory.trainable) sampledTokens += mask;
    totalTokens += trajectory.tokens.length;
  }
  metrics['rollout/turns_mean'] = turns / count;
  metrics['rollout/tool_calls_mean'] = toolCalls / count;
  metrics['rollout/tool_failure_rate'] = toolCalls === 0 ? 0 : toolFailures / toolCalls;
  metrics['rollout/with_result_rate'] = withResult / count;
  for (const outcome of ['none', 'failed', 'ok'] as const) {
    metrics[`tool_call/${outcome}`] =
      trajectories.filter((trajectory) => firstToolCallOutcome(trajectory) === outcome).length / count;
  }
  metrics['rollout/truncated_turn_rate'] = turns === 0 ? 0 : truncated / turns;
  metrics['rollout/sampled_tokens'] = sampledTokens;
  metrics['rollout/total_tokens'] = totalTokens;
  metrics['rollout/errors'] = trajectories.reduce((sum, trajectory) => sum + trajectory.errors.length, 0);
  // Agents behind the gateway that rewrote their history: their later calls train as sequences of their own.
  metrics['rollout/rewritten_history_rate'] =
    trajectories.filter((trajectory) => (trajectory.sequenceStarts?.length ?? 0) > 0).length / count;

  if (advantages_P !== undefined) {
    const perTurn_K: number[][] = [];
    const allTokens: number[] = [];
    let zeroGroups = 0;
    groups.forEach((group, p) => {
      const advantages_G_T = advantages_P[p]!;
      if (advantages_G_T.every((row) => row.every((value) => value === 0))) zeroGroups++;
      group.trajectories.forEach((trajectory, g) => {
        const advantages_T = advantages_G_T[g]!;
        turnAdvantages(trajectory, advantages_T).forEach((value, k) => {
          perTurn_K[k] ??= [];
          perTurn_K[k].push(value);
        });
        advantages_T.forEach((value, t) => {
          if (trajectory.trainable[t] === 1) allTokens.push(value);
        });
      });
    });
    addSummary(metrics, 'advantage/token', allTokens);
    perTurn_K.forEach((values, k) => {
      addSummary(metrics, `advantage/turn${k}`, values);
    });
    metrics['advantage/zero_groups'] = groups.length === 0 ? 0 : zeroGroups / groups.length;
  }
  return metrics;
}
