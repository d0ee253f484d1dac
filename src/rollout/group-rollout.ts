/**
 * Group rollouts: G rollouts per dataset row, run with bounded concurrency across rows (all G of a
 * group and several groups in flight at once, so a batching policy sees many pending requests),
 * then scored by a rubric into TrajectoryGroups. Seeds are drawn from the generator in a fixed
 * order (row by row, rollout by rollout) before anything runs, so results do not depend on
 * scheduling: the same seed gives the same groups. For a policy that coalesces consecutive seeds
 * (`Policy.coalescesConsecutiveSeeds`, a remote sampler), the first turn of a group's rollouts (one
 * shared prompt) gets consecutive seeds s, s+1, ..., s+G-1, s being the first draw of rollout 0's
 * own generator, so the sampler serves the whole turn as one request with `num_samples = G` (the
 * i-th sample seeded s + i) and gives exactly what G separate requests would. A rollout is the
 * multi-turn loop over a fresh env, or one the caller runs itself (`runRollout`, e.g. an agent
 * behind the gateway), planned and scored the same way.
 */
import type { EnvFactory } from '../env/env.js';
import { DataError } from '../errors.js';
import { Random } from '../random.js';
import type { Rubric } from '../rewards/rubric.js';
import type { Trajectory, TrajectoryGroup } from '../types.js';
import type { ChatRenderer } from './chat-renderer.js';
import { ConcurrencyLimit } from '../concurrency-limit.js';
import type { Policy } from './policy.js';
import { DEFAULT_TOKEN_BUDGET, PAPER_SAMPLING, runRollout, type RolloutSampling } from './rollout.js';

/** What a rollout run by the caller itself (`runRollout`) gets. */
export interface RolloutContext<Row> {
  policy: Policy;
  renderer: ChatRenderer;
  row: Row;
  rowId: string;
  groupIndex: number;
  /** Unique per rollout (the policy's cache key). */
  sessionId: string;
  /** This rollout's own generator (seeds of its calls). */
  random: Random;
  sampling: RolloutSampling;
  /** Completion tokens the rollout may sample over all its turns. */
  tokenBudget: number;
}

/** Options of a batch of group rollouts: one of `env` and `runRollout`. */
export interface GroupRolloutOptions<Row> {
  policy: Policy;
  /** Makes a fresh env per rollout, run by the multi-turn loop. */
  env?: EnvFactory<Row>;
  /** Runs one rollout itself instead (returns the unscored trajectory; a throw fails the round). */
  runRollout?: (context: RolloutContext<Row>) => Promise<Trajectory>;
  /** The renderer; each rollout forks it (`fork()`), so one instance serves every rollout. */
  renderer: ChatRenderer;
  /** Scores every trajectory; without one, rewards stay empty. */
  rubric?: Rubric<Row>;
  rows: Row[];
  /** Id of a row (default: `row.id` when it is a string or number, else its index). */
  rowId?: (row: Row, index: number) => string;
  /** Rollouts per row, G (paper: 21). */
  groupSize: number;
  /** Most rollouts in flight at once (default 4 x G). */
  concurrency?: number;
  sampling?: RolloutSampling;
  /** Completion tokens over all turns, env tokens included (paper: 1024). */
  tokenBudget?: number;
  /** Hard cap on turns per rollout (default 64). */
  maxTurns?: number;
  /** The run's seeded generator; one independent stream is forked per rollout. */
  random: Random;
  /** Prefix of session ids, to keep them unique across steps (default ''). */
  sessionPrefix?: string;
}

function defaultRowId(row: unknown, index: number): string {
  const id = typeof row === 'object' && row !== null ? (row as Record<string, unknown>)['id'] : undefined;
  return typeof id === 'string' || typeof id === 'number' ? String(id) : String(index);
}

/** Rolls out G episodes per row and scores them; groups come back in row order. */
export async function rolloutGroups<Row>(options: GroupRolloutOptions<Row>): Promise<TrajectoryGroup<Row>[]> {
  const { groupSize, rows } = options;
  if (!Number.isInteger(groupSize) || groupSize < 1)
    throw new DataError(`rolloutGroups: groupSize must be a positive integer, got ${groupSize}`);
  if ((options.env === undefined) === (options.runRollout === undefined))
    throw new DataError('rolloutGroups: give exactly one of env (the multi-turn loop) and runRollout');
  const limit = new ConcurrencyLimit(options.concurrency ?? 4 * groupSize);
  const rowIdOf = options.rowId ?? defaultRowId;
  const prefix = options.sessionPrefix ?? '';

  const consecutive = options.policy.coalescesConsecutiveSeeds === true;
  // Fork the per-rollout generators up front, in a fixed order, so scheduling cannot change seeds.
  const plans = rows.map((row, rowIndex) => {
    const rowId = rowIdOf(row, rowIndex);
    const randoms = Array.from({ length: groupSize }, () => options.random.fork());
    // Rollout 0's own first draw, read from a copy so that no generator moves.
    const firstTurnSeed = new Random(randoms[0]!.getState()).nextUint32();
    return { row, rowId, randoms, firstTurnSeed };
  });
  const ids = new Set(plans.map((plan) => plan.rowId));
  if (ids.size !== plans.length)
    throw new DataError('rolloutGroups: row ids must be unique within one call (session ids are built from them)');

  return Promise.all(
    plans.map(async ({ row, rowId, randoms, firstTurnSeed }) => {
      const trajectories: Trajectory[] = await Promise.all(
        randoms.map((random, groupIndex) =>
          limit.run(() => {
            const sessionId = `${prefix}${rowId}/${groupIndex}`;
            if (options.runRollout) {
              const { policy, renderer } = options;
              const sampling = options.sampling ?? PAPER_SAMPLING;
              const tokenBudget = options.tokenBudget ?? DEFAULT_TOKEN_BUDGET;
              return options.runRollout({
                policy,
                renderer,
                row,
                rowId,
                groupIndex,
                sessionId,
                random,
                sampling,
                tokenBudget,
              });
            }
            return runRollout({
              policy: options.policy,
              env: options.env!(),
              renderer: options.renderer,
              row,
              rowId,
              groupIndex,
              random,
              ...(consecutive && { firstTurnSeed: (firstTurnSeed + groupIndex) >>> 0 }),
              sessionId,
              ...(options.sampling && { sampling: options.sampling }),
              ...(options.tokenBudget !== undefined && { tokenBudget: options.tokenBudget }),
              ...(options.maxTurns !== undefined && { maxTurns: options.maxTurns }),
            });
          }),
        ),
      );
      const group: TrajectoryGroup<Row> = { rowId, row, trajectories };
      if (options.rubric) await options.rubric.scoreGroup(group);
      return group;
    }),
  );
}
