/**
 * Credit inspection: for one group and its advantages, each rollout's turns with their rewards and
 * the advantage every token span received, plus the invariant issues, as plain data
 * (`inspectCredit`) and as a text table for the CLI (`renderCreditTable`).
 */
import type { GroupAdvantages, StopReason, TokenSpan, TrajectoryGroup } from '../types.js';
import { checkCreditInvariants, spanStats, type CreditCheckOptions, type CreditIssue } from './credit-invariants.js';

/** The advantages one token span received (over its trainable tokens). */
export interface SpanCredit {
  span: TokenSpan;
  /** Number of trainable tokens in the span. */
  trainableTokens: number;
  /** Min, max and mean advantage over those tokens (0 when there are none). */
  min: number;
  max: number;
  mean: number;
}

/** One assistant turn: what it did, its reward and its credit. */
export interface TurnCredit {
  turnIndex: number;
  /** Names of the tools it called, one entry per call (a turn may make several). */
  toolCalls: string[];
  /** The environment's reply: a tool result, a failed tool result (any, with several), another message, or none. */
  reply: 'result' | 'error-result' | 'message' | 'none';
  /** Messages in the reply: one per tool call when the turn made several, else 1 (0 without a reply). */
  replyMessages: number;
  /** Its turn-level reward R^T_k. */
  turnReward: number;
  /** Credit of its sampled tokens. */
  credit: SpanCredit;
}

/** One rollout of the group. */
export interface RolloutCredit {
  groupIndex: number;
  stopReason: StopReason;
  outcomeReward: number;
  /** Sum of its turn rewards (R^T). */
  turnRewardTotal: number;
  turns: TurnCredit[];
  errors: string[];
}

/** The credit of a whole group and the invariant issues found in it. */
export interface GroupCredit {
  rowId: string;
  estimator?: string;
  rollouts: RolloutCredit[];
  issues: CreditIssue[];
}

/** Lists each rollout's turns with their rewards and credit, and checks the credit invariants. */
export function inspectCredit(
  group: TrajectoryGroup,
  advantages_G_T: GroupAdvantages,
  options: CreditCheckOptions = {},
): GroupCredit {
  const rollouts = group.trajectories.map((trajectory, i): RolloutCredit => {
    const row_T = advantages_G_T[i] ?? [];
    return {
      groupIndex: i,
      stopReason: trajectory.stopReason,
      outcomeReward: trajectory.outcomeReward,
      turnRewardTotal: trajectory.turnRewards.reduce((a, b) => a + b, 0),
      errors: trajectory.errors,
      turns: trajectory.turns.map((turn, k): TurnCredit => {
        const stats = spanStats(trajectory, row_T, turn.sampled);
        return {
          turnIndex: turn.index,
          toolCalls: turn.toolCalls.map((call) => call.name),
          reply: turn.isToolResult ? (turn.toolFailed ? 'error-result' : 'result') : turn.env ? 'message' : 'none',
          replyMessages: turn.envMessages?.length ?? (turn.env ? 1 : 0),
          turnReward: trajectory.turnRewards[k] ?? 0,
          credit: {
            span: turn.sampled,
            trainableTokens: stats?.count ?? 0,
            min: stats?.min ?? 0,
            max: stats?.max ?? 0,
            mean: stats?.mean ?? 0,
          },
        };
      }),
    };
  });
  const credit: GroupCredit = {
    rowId: group.rowId,
    rollouts,
    issues: checkCreditInvariants(group, advantages_G_T, options),
  };
  if (options.estimator) credit.estimator = options.estimator.name;
  return credit;
}

/** Renders a group's credit as a fixed-width text table, one line per turn, then its issues. */
export function renderCreditTable(credit: GroupCredit, options: { digits?: number } = {}): string {
  const digits = options.digits ?? 4;
  const number = (value: number) => (Number.isFinite(value) ? value.toFixed(digits) : String(value));
  const header = ['rollout', 'turn', 'tokens', 'tool', 'reply', 'R^T_k', 'R^O', 'advantage', 'stop'];
  const rows: string[][] = [];
  for (const rollout of credit.rollouts) {
    rollout.turns.forEach((turn, k) => {
      const last = k === rollout.turns.length - 1;
      const { min, max, mean, trainableTokens } = turn.credit;
      const advantage =
        trainableTokens === 0
          ? '-'
          : min === max
            ? number(min)
            : `${number(min)}..${number(max)} (mean ${number(mean)})`;
      rows.push([
        k === 0 ? String(rollout.groupIndex) : '',
        String(turn.turnIndex),
        String(trainableTokens),
        turn.toolCalls.join(',') || '-',
        turn.reply === 'none'
          ? '-'
          : turn.replyMessages > 1
            ? `${turn.replyMessages} ` +
              `${turn.reply === 'error-result' ? 'results (error)' : turn.reply === 'result' ? 'results' : 'messages'}`
            : turn.reply,
        number(turn.turnReward),
        last ? number(rollout.outcomeReward) : '',
        advantage,
        last ? rollout.stopReason + (rollout.errors.length > 0 ? ` (${rollout.errors.length} errors)` : '') : '',
      ]);
    });
    if (rollout.turns.length === 0)
      rows.push([
        String(rollout.groupIndex),
        '-',
        '0',
        '-',
        '-',
        '',
        number(rollout.outcomeReward),
        '-',
        rollout.stopReason,
      ]);
  }
  const widths = header.map((title, c) => Math.max(title.length, ...rows.map((row) => row[c]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, c) => (c <= 2 || c === 5 || c === 6 ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!)))
      .join('  ')
      .trimEnd();
  const title =
    `credit of group ${credit.rowId}${credit.estimator ? ` (estimator ${credit.estimator}` : ' ('}` +
    `${credit.estimator ? ', ' : ''}G = ${credit.rollouts.length})`;
  const issues =
    credit.issues.length === 0
      ? ['invariants: ok']
      : credit.issues.map((issue) => `${issue.severity}: [${issue.kind}] ${issue.message}`);
  return `${[title, line(header), ...rows.map(line), ...issues].join('\n')}\n`;
}
