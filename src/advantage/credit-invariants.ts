/**
 * Invariant checks on the per-token advantages of a real batch, to catch the silent bugs of credit
 * assignment: credit on tool-output tokens, NaN/Infinity, a trainable span that gets zero credit in
 * a group whose rewards vary (earlier turns dropped), advantages that change inside a span where
 * the estimator promises one value, rows that do not fit their trajectories.
 */
import type { GroupAdvantages, TokenSpan, Trajectory, TrajectoryGroup } from '../types.js';
import type { AdvantageEstimator } from './estimator.js';
import { rewardsVary } from './group-stats.js';

/** What an issue is about. */
export type CreditIssueKind =
  | 'shape'
  | 'non-finite'
  | 'non-trainable-credit'
  | 'untracked-trainable'
  | 'non-constant-span'
  | 'zero-credit'
  | 'all-zero-group';

/** One violated invariant; `error` means a bug, `warning` something that can happen legitimately. */
export interface CreditIssue {
  kind: CreditIssueKind;
  severity: 'error' | 'warning';
  /** The rollout concerned, when the issue is about one. */
  groupIndex?: number;
  /** The assistant turn concerned, when the issue is about one. */
  turnIndex?: number;
  /** The first offending token. */
  tokenIndex?: number;
  message: string;
}

/** Options of the credit checks. */
export interface CreditCheckOptions {
  /**
   * The estimator that produced the advantages; its `constantSpans` are checked (default: each turn's sampled span).
   */
  estimator?: Pick<AdvantageEstimator, 'name' | 'constantSpans'>;
  /** Allowed spread inside a constant span, relative to max(1, |value|) (default 1e-9). */
  tolerance?: number;
}

const format = (value: number) => (Number.isFinite(value) ? value.toFixed(4) : String(value));

/** Checks the advantages of one group against the credit invariants; returns every issue found. */
export function checkCreditInvariants(
  group: TrajectoryGroup,
  advantages_G_T: GroupAdvantages,
  options: CreditCheckOptions = {},
): CreditIssue[] {
  const issues: CreditIssue[] = [];
  const tolerance = options.tolerance ?? 1e-9;
  const G = group.trajectories.length;
  if (advantages_G_T.length !== G) {
    issues.push({
      kind: 'shape',
      severity: 'error',
      message: `advantages have ${advantages_G_T.length} rows for ${G} rollouts`,
    });
  }
  const { outcome: outcomeVaries, turn: turnVaries } = rewardsVary(group);
  const outcomeMean = G > 0 ? group.trajectories.reduce((sum, trajectory) => sum + trajectory.outcomeReward, 0) / G : 0;
  const allZeroRollouts: number[] = [];
  let rolloutsWithTokens = 0;

  group.trajectories.forEach((trajectory, i) => {
    const row_T = advantages_G_T[i];
    const T = trajectory.tokens.length;
    if (!row_T || row_T.length !== T) {
      issues.push({
        kind: 'shape',
        severity: 'error',
        groupIndex: i,
        message: `rollout ${i}: advantage row has ${row_T?.length ?? 'no'} entries for ${T} tokens`,
      });
      return;
    }
    const inTurn = new Uint8Array(T);
    for (const turn of trajectory.turns) for (let t = turn.sampled.start; t < turn.sampled.end; t++) inTurn[t] = 1;
    const firsts = { nonFinite: -1, nonTrainable: -1, untracked: -1 };
    const counts = { nonFinite: 0, nonTrainable: 0, untracked: 0, trainable: 0, nonzero: 0 };
    for (let t = 0; t < T; t++) {
      const value = row_T[t]!;
      const isTrainable = trajectory.trainable[t] !== 0;
      if (!Number.isFinite(value)) {
        counts.nonFinite++;
        if (firsts.nonFinite < 0) firsts.nonFinite = t;
      }
      if (!isTrainable && value !== 0) {
        counts.nonTrainable++;
        if (firsts.nonTrainable < 0) firsts.nonTrainable = t;
      }
      if (isTrainable && !inTurn[t]) {
        counts.untracked++;
        if (firsts.untracked < 0) firsts.untracked = t;
      }
      if (isTrainable) counts.trainable++;
      if (isTrainable && value !== 0) counts.nonzero++;
    }
    if (counts.nonFinite > 0) {
      issues.push({
        kind: 'non-finite',
        severity: 'error',
        groupIndex: i,
        tokenIndex: firsts.nonFinite,
        message:
          `rollout ${i}: ${counts.nonFinite} non-finite advantages, ` +
          `first at token ${firsts.nonFinite} (${row_T[firsts.nonFinite]})`,
      });
    }
    if (counts.nonTrainable > 0) {
      const t = firsts.nonTrainable;
      issues.push({
        kind: 'non-trainable-credit',
        severity: 'error',
        groupIndex: i,
        tokenIndex: t,
        message:
          `rollout ${i}: ${counts.nonTrainable} non-trainable tokens (prompt or environment) ` +
          `have nonzero advantage, first at token ${t} (${format(row_T[t]!)})`,
      });
    }
    if (counts.untracked > 0) {
      issues.push({
        kind: 'untracked-trainable',
        severity: 'error',
        groupIndex: i,
        tokenIndex: firsts.untracked,
        message:
          `rollout ${i}: ${counts.untracked} trainable tokens lie outside ` +
          `every turn's sampled span, first at token ${firsts.untracked}`,
      });
    }
    const spans = options.estimator
      ? options.estimator.constantSpans(trajectory)
      : trajectory.turns.map((turn) => turn.sampled);
    for (const span of spans) {
      const spread = spanStats(trajectory, row_T, span);
      if (spread && spread.max - spread.min > tolerance * Math.max(1, Math.abs(spread.max), Math.abs(spread.min))) {
        const promise = options.estimator
          ? `estimator ${options.estimator.name} gives one value per span`
          : 'one value per turn';
        issues.push({
          kind: 'non-constant-span',
          severity: 'error',
          groupIndex: i,
          tokenIndex: span.start,
          message:
            `rollout ${i}: advantages in tokens [${span.start}, ${span.end}) ` +
            `range from ${format(spread.min)} to ${format(spread.max)}; expected ${promise}`,
        });
      }
    }
    if (counts.trainable > 0) rolloutsWithTokens++;
    if (counts.trainable > 0 && counts.nonzero === 0) allZeroRollouts.push(i);
    if ((outcomeVaries || turnVaries) && counts.nonzero > 0) {
      // Every estimator gives a turn at least the credit of the turns after it (reward-to-go), so a
      // zero turn BEFORE a credited one is the dropped-earlier-turn bug. A zero turn after the
      // credited ones is legitimate when its credit is the outcome's and the outcome is at the
      // group baseline (MT-GRPO's later turns in a group whose outcome rewards are all equal).
      const turnStats = trajectory.turns.map((turn) => spanStats(trajectory, row_T, turn.sampled));
      const lastCredited = turnStats.findLastIndex(
        (stats) => stats !== undefined && (stats.min !== 0 || stats.max !== 0),
      );
      const outcomeAtBaseline =
        Math.abs(trajectory.outcomeReward - outcomeMean) <= tolerance * Math.max(1, Math.abs(outcomeMean));
      trajectory.turns.forEach((turn, k) => {
        const stats = turnStats[k];
        if (stats?.min !== 0 || stats.max !== 0) return;
        if (k > lastCredited && (!outcomeVaries || outcomeAtBaseline)) return;
        const where =
          k < lastCredited
            ? 'while a later turn of the rollout gets credit'
            : "while its outcome reward differs from the group's";
        issues.push({
          kind: 'zero-credit',
          severity: 'error',
          groupIndex: i,
          turnIndex: turn.index,
          tokenIndex: turn.sampled.start,
          message:
            `rollout ${i}: turn ${turn.index} gets zero advantage on all ${stats.count} trainable ` +
            `tokens ${where} and the group's rewards vary (a turn dropped from credit assignment?)`,
        });
      });
    }
  });

  if ((outcomeVaries || turnVaries) && rolloutsWithTokens > 0 && allZeroRollouts.length === rolloutsWithTokens) {
    issues.push({
      kind: 'all-zero-group',
      // every estimator credits the outcome reward; only turn rewards varying can legitimately give zeros (GRPO-OR)
      severity: outcomeVaries ? 'error' : 'warning',
      message:
        `every trainable token of group ${group.rowId} gets zero advantage ` +
        `although its ${outcomeVaries ? 'outcome' : 'turn'} rewards vary`,
    });
  } else if (outcomeVaries || turnVaries) {
    for (const i of allZeroRollouts) {
      issues.push({
        kind: 'zero-credit',
        severity: 'warning',
        groupIndex: i,
        message:
          `rollout ${i}: zero advantage on every trainable token although the group's ` +
          `rewards vary (legitimate only if its reward equals the group baseline)`,
      });
    }
  }
  return issues;
}

/** True when any issue is an `error` (a bug rather than something that can happen legitimately). */
export function hasCreditErrors(issues: readonly CreditIssue[]): boolean {
  return issues.some((issue) => issue.severity === 'error');
}

/** Min, max and count of the advantages of the trainable tokens in a span (undefined if none). */
export function spanStats(
  trajectory: Trajectory,
  row_T: readonly number[],
  span: TokenSpan,
): { min: number; max: number; mean: number; count: number } | undefined {
  let min = Infinity;
  let max = -Infinity;
  let total = 0;
  let count = 0;
  for (let t = span.start; t < span.end; t++) {
    if (trajectory.trainable[t] === 0) continue;
    const value = row_T[t]!;
    if (value < min) min = value;
    if (value > max) max = value;
    total += value;
    count++;
  }
  return count === 0 ? undefined : { min, max, mean: total / count, count };
}
