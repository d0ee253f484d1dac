/**
 * Estimators by name, for configs: a zod schema of the estimator section of a config and
 * `createEstimator`, which validates it and returns the estimator value the training loop takes.
 */
import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { createDrGrpo } from './dr-grpo.js';
import type { AdvantageEstimator } from './estimator.js';
import { createGrpoMr } from './grpo-mr.js';
import { createGrpoOr } from './grpo-or.js';
import { createMtGrpo } from './mt-grpo.js';
import { createMtGrpoK } from './mt-grpo-k.js';
import { createRloo } from './rloo.js';

const scalarReward = z.enum(['outcome', 'merged']);

/** Schema of an estimator config, discriminated by `kind`. */
export const estimatorConfigSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('grpo-or') }),
  z.strictObject({ kind: z.literal('grpo-mr') }),
  z.strictObject({ kind: z.literal('mt-grpo'), lambda: z.number().default(1) }),
  z.strictObject({ kind: z.literal('mt-grpo-k'), alpha: z.number().min(0).max(1).default(1) }),
  z.strictObject({ kind: z.literal('rloo'), reward: scalarReward.default('merged') }),
  z.strictObject({ kind: z.literal('dr-grpo'), reward: scalarReward.default('merged') }),
]);

/** An estimator config as written by a user (optional fields may be left out). */
export type EstimatorConfig = z.input<typeof estimatorConfigSchema>;

/** The names `createEstimator` accepts. */
export const ESTIMATOR_KINDS = ['grpo-or', 'grpo-mr', 'mt-grpo', 'mt-grpo-k', 'rloo', 'dr-grpo'] as const;

/** Validates an estimator config and creates the estimator; throws ConfigError naming the bad key. */
export function createEstimator(config: unknown): AdvantageEstimator {
  const parsed = estimatorConfigSchema.safeParse(config);
  if (!parsed.success) {
    const details = parsed.error.issues
      .map((issue) => `${['estimator', ...issue.path.map(String)].join('.')}: ${issue.message}`)
      .join('; ');
    throw new ConfigError(`invalid estimator config ${JSON.stringify(config)}: ${details} (kinds: ${ESTIMATOR_KINDS.join(', ')})`);
  }
  const value = parsed.data;
  switch (value.kind) {
    case 'grpo-or':
      return createGrpoOr();
    case 'grpo-mr':
      return createGrpoMr();
    case 'mt-grpo':
      return createMtGrpo({ lambda: value.lambda });
    case 'mt-grpo-k':
      return createMtGrpoK({ alpha: value.alpha });
    case 'rloo':
      return createRloo({ reward: value.reward });
    case 'dr-grpo':
      return createDrGrpo({ reward: value.reward });
  }
}
