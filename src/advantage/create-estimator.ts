/**
 * Estimators by name, for configs: the list of built-in estimator definitions, the zod schema of
 * an estimator config (their union, discriminated by `kind`; the training config embeds it as its
 * `advantage` section) and `createEstimator`, which validates a config and returns the estimator
 * value the training loop takes. A new built-in estimator is one file exporting a definition, its
 * test, and one entry in `ESTIMATORS`; a user's own estimator is passed to the loop as a value.
 */
import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { drGrpoEstimator } from './dr-grpo.js';
import type { AdvantageEstimator, EstimatorDefinition } from './estimator.js';
import { grpoMrEstimator } from './grpo-mr.js';
import { grpoOrEstimator } from './grpo-or.js';
import { mtGrpoEstimator } from './mt-grpo.js';
import { mtGrpoKEstimator } from './mt-grpo-k.js';
import { rlooEstimator } from './rloo.js';

/** The built-in estimators, in the order `--help` lists them. */
export const ESTIMATORS = [
  grpoOrEstimator,
  grpoMrEstimator,
  mtGrpoEstimator,
  mtGrpoKEstimator,
  rlooEstimator,
  drGrpoEstimator,
] as const;

/** The names `createEstimator` accepts. */
export const ESTIMATOR_KINDS = ESTIMATORS.map((definition) => definition.kind);

function variant<Shape extends z.ZodRawShape>(definition: EstimatorDefinition<Shape>) {
  return z.strictObject({ kind: z.literal(definition.kind).describe(definition.summary), ...definition.options });
}

/** An estimator config: its `kind` and that estimator's options (optional ones may be left out when written). */
export type EstimatorConfig = { kind: string } & Record<string, unknown>;

/** Schema of an estimator config, discriminated by `kind`. */
export const estimatorConfigSchema = z.discriminatedUnion(
  'kind',
  ESTIMATORS.map((definition) => variant(definition as EstimatorDefinition)) as unknown as [
    ReturnType<typeof variant>,
    ...ReturnType<typeof variant>[],
  ],
) as unknown as z.ZodType<EstimatorConfig, EstimatorConfig>;

/** Validates an estimator config and creates the estimator; throws ConfigError naming the bad key. */
export function createEstimator(config: unknown): AdvantageEstimator {
  const parsed = estimatorConfigSchema.safeParse(config);
  if (!parsed.success) {
    const details = parsed.error.issues
      .map((issue) => `${['estimator', ...issue.path.map(String)].join('.')}: ${issue.message}`)
      .join('; ');
    throw new ConfigError(
      `invalid estimator config ${JSON.stringify(config)}: ${details} (kinds: ${ESTIMATOR_KINDS.join(', ')})`,
    );
  }
  const { kind, ...options } = parsed.data as EstimatorConfig;
  const definition = ESTIMATORS.find((candidate) => candidate.kind === kind) as EstimatorDefinition;
  return definition.create(options);
}
