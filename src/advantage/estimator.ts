/**
 * The AdvantageEstimator interface: turns the rewards of one group of G rollouts into per-token
 * advantages. Every estimator (GRPO-OR, GRPO-MR, MT-GRPO, K-turn MT-GRPO, RLOO, Dr. GRPO) lives in
 * its own file behind this interface; the training loop receives one as a value and never branches
 * on its name.
 */
import type { z } from 'zod';
import type { GroupAdvantages, TokenSpan, Trajectory, TrajectoryGroup } from '../types.js';

/** Computes per-token advantages for one group and says where they must be constant. */
export interface AdvantageEstimator {
  /** Short name for logs and configs, e.g. `mt-grpo`. */
  readonly name: string;
  /**
   * Per-token advantages `advantages_G_T[i][t]` for the G trajectories of the group, in group order;
   * row i has the length of trajectory i's tokens and is 0 on every non-trainable token.
   */
  estimate(group: TrajectoryGroup): GroupAdvantages;
  /**
   * Token spans of one trajectory inside which this estimator gives every trainable token the same
   * advantage (used by the credit invariant checks); together they cover the completion.
   */
  constantSpans(trajectory: Trajectory): TokenSpan[];
}

/**
 * An estimator as a config names it: its `kind`, the zod shape of its options (each with a
 * default and a `.describe()`), and how to create it from validated options. Each estimator file
 * exports one; `create-estimator.ts` lists them, and the training config embeds their union.
 */
export interface EstimatorDefinition<Shape extends z.ZodRawShape = z.ZodRawShape> {
  readonly kind: string;
  /** One line for `--help`. */
  readonly summary: string;
  /** The options besides `kind` (an empty shape when there are none). */
  readonly options: Shape;
  create(options: z.output<z.ZodObject<Shape>>): AdvantageEstimator;
}

/** Declares an estimator definition with its options' types inferred from the shape. */
export function defineEstimator<Shape extends z.ZodRawShape>(
  definition: EstimatorDefinition<Shape>,
): EstimatorDefinition<Shape> {
  return definition;
}
