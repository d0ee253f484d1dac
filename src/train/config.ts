/**
 * The training config: one zod schema that is the single source of the type, the defaults and the
 * documentation of every field (unit and default in each `.describe()`). Defaults follow the
 * paper's run (PAPER.md section 5) where that makes sense on a CPU, and say so where they differ.
 * Sections belong to their concepts: `backend` is the backends' schema, `advantage` the
 * estimators' (a union discriminated by `kind`), and `task` is the named task's own section,
 * validated by that task's schema when the config is loaded with the task's definition (see
 * `config-load.ts`, which also holds loading, overrides and error messages).
 */
import { z } from 'zod';
import { estimatorConfigSchema } from '../advantage/create-estimator.js';
import { backendConfigSchema } from '../backends/backend-config.js';

const positiveInt = () => z.number().int().min(1);
/** Most rollouts in flight: each holds a KV-cache slot of the local engine, or a request to a service. */
export const MAX_CONCURRENCY = 4096;
const nonNegative = () => z.number().min(0);

/** The `task` section as the generic config sees it: a task name plus that task's own fields. */
export const taskSectionSchema = z
  .looseObject({
    name: z
      .string()
      .min(1)
      .default('search-qa')
      .describe('the task to train on (its own fields follow under task.*); default search-qa'),
  })
  .describe('the task');

const dataSchema = z
  .strictObject({
    trainSplit: z.string().default('train').describe('split of the task the RL loop samples from; default train'),
    evalSplit: z.string().default('dev').describe('split evaluated during and after training; default dev'),
  })
  .describe('the splits of the task');

const rlSchema = z
  .strictObject({
    steps: positiveInt().default(40).describe('optimiser steps of the RL run (paper: 300); default 40'),
    groupSize: z.number().int().min(2).default(8).describe('rollouts per question G (paper: 21); default 8'),
    questionsPerStep: positiveInt()
      .default(8)
      .describe('questions sampled per generation round (paper: 16); default 8'),
    mu: positiveInt().default(2).describe('optimiser steps taken on each generated batch (paper: 2); default 2'),
    temperature: z
      .number()
      .positive()
      .default(0.9)
      .describe('sampling temperature; logprobs use it too (paper: 0.9); default 0.9'),
    topK: z.number().int().min(0).default(50).describe('top-k sampling, 0 = off (paper: 50); default 50'),
    topP: z.number().gt(0).max(1).default(1).describe('nucleus sampling mass, 1 = off (paper: 1); default 1'),
    maxCompletionTokens: positiveInt()
      .default(160)
      .describe('token budget over all completion turns, tool output included (paper: 1024); default 160'),
    concurrency: positiveInt()
      .max(MAX_CONCURRENCY)
      .default(64)
      .describe(`rollouts in flight at once (the sampler batches them; at most ${MAX_CONCURRENCY}); default 64`),
    maxStaleness: z
      .number()
      .int()
      .min(0)
      .max(1)
      .default(0)
      .describe(
        'rounds the policy that samples a batch may lag the one that trains on it: 1 samples the next round ' +
          'while this one trains (off-policy corrected by the sampled logprobs), 0 = on-policy; default 0',
      ),
  })
  .describe('reinforcement learning');

const lossSchema = z
  .strictObject({
    clipEpsilon: z
      .number()
      .gt(0)
      .lt(1)
      .default(0.2)
      .describe('PPO ratio clip epsilon, symmetric (paper: 0.2); default 0.2'),
    klBeta: nonNegative()
      .default(0)
      .describe('coefficient of the k3 KL to the base policy, 0 = off (paper: 0); default 0'),
    normalization: z
      .enum(['token-mean', 'sequence-mean'])
      .default('token-mean')
      .describe('loss reduction (token-mean | sequence-mean; paper: token-mean); default token-mean'),
  })
  .describe('the policy-gradient loss');

const optimSchema = z
  .strictObject({
    lr: z
      .number()
      .positive()
      .default(2e-4)
      .describe('peak AdamW learning rate (paper: 1e-6 for a 7B model); default 2e-4'),
    warmupSteps: z
      .number()
      .int()
      .min(0)
      .default(5)
      .describe('optimiser steps of linear learning-rate warm-up, then constant (paper: 20); default 5'),
    beta1: z.number().min(0).lt(1).default(0.9).describe('AdamW beta1 (paper: 0.9); default 0.9'),
    beta2: z.number().min(0).lt(1).default(0.99).describe('AdamW beta2 (paper: 0.99); default 0.99'),
    eps: z.number().positive().default(1e-8).describe('AdamW epsilon; default 1e-8'),
    weightDecay: nonNegative().default(0).describe('decoupled weight decay (paper: 0); default 0'),
    gradClip: nonNegative().default(1).describe('global gradient-norm clip, 0 = off (paper: 0.1); default 1'),
  })
  .describe('the optimiser');

const checkpointSchema = z
  .strictObject({
    every: z
      .number()
      .int()
      .min(0)
      .default(10)
      .describe('optimiser steps between checkpoints, 0 = only at the end; default 10'),
  })
  .describe('checkpoints');

const logSchema = z
  .strictObject({
    trajectoriesEvery: z
      .number()
      .int()
      .min(0)
      .default(5)
      .describe('generation rounds between sampled-trajectory logs, 0 = never; default 5'),
    trajectoriesCount: positiveInt().default(4).describe('trajectories written per log; default 4'),
    printEvery: positiveInt().default(1).describe('optimiser steps between plain progress lines (non-TTY); default 1'),
  })
  .describe('logging');

const evalSchema = z
  .strictObject({
    questions: positiveInt()
      .default(200)
      .describe('questions per evaluated split (a fixed random subset, the same for every model); default 200'),
    samples: positiveInt()
      .default(1)
      .describe('sampled completions per question in sampled mode (paper: 1); default 1'),
  })
  .describe('evaluation');

/** The fields of the training config; `task` is replaced by a task's own schema when one is known. */
export const trainConfigShape = {
  name: z
    .string()
    .min(1)
    // The name is a path segment (runs/<name>-seed<seed>): no separator may lead out of runs/.
    .regex(/^[^/\\\p{Cc}]+$/u, { message: 'expected a name without /, \\ or control characters (newline, tab)' })
    .default('run')
    .describe('run name, used in logs and reports; default run'),
  runDir: z
    .string()
    .default('')
    .describe('directory of this run (config, metrics, checkpoints); default runs/<name>-seed<seed>'),
  seed: z.number().int().min(0).max(0xffffffff).default(0).describe('seed of every random draw of the run; default 0'),
  backend: backendConfigSchema.prefault({}),
  taskModule: z
    .string()
    .default('')
    .describe(
      'module exporting the TaskDefinition of a task of your own ' +
        '(turnwise train --task FILE); "" = a bundled task; default ""',
    ),
  task: taskSectionSchema.prefault({}),
  data: dataSchema.prefault({}),
  rl: rlSchema.prefault({}),
  advantage: estimatorConfigSchema
    .prefault({ kind: 'mt-grpo' })
    .describe('advantage estimator; its options follow under advantage.*; default mt-grpo'),
  loss: lossSchema.prefault({}),
  optim: optimSchema.prefault({}),
  checkpoint: checkpointSchema.prefault({}),
  log: logSchema.prefault({}),
  eval: evalSchema.prefault({}),
};

/** What a remote base model cannot do, named by the field that asks for it. */
function checkBackendLimits(
  config: {
    backend?: { kind?: string; capabilities?: string };
    loss?: { klBeta?: unknown };
    rl?: { temperature?: unknown };
  },
  context: z.RefinementCtx,
): void {
  if (config.backend?.kind !== 'tinker') return;
  if (typeof config.loss?.klBeta === 'number' && config.loss.klBeta > 0 && config.rl?.temperature !== 1) {
    context.addIssue({
      code: 'custom',
      path: ['rl', 'temperature'],
      message:
        `rl.temperature is ${String(config.rl?.temperature)}, but with loss.klBeta > 0 on backend.kind=tinker the ` +
        `reference logprobs come from the base model's sampler at temperature 1; set --rl.temperature=1`,
    });
  }
  const capabilities = config.backend.capabilities;
  if (
    (capabilities === 'hosted' || capabilities === 'skyrl') &&
    typeof config.rl?.temperature === 'number' &&
    config.rl.temperature !== 1
  ) {
    context.addIssue({
      code: 'custom',
      path: ['rl', 'temperature'],
      message:
        `rl.temperature is ${config.rl.temperature}, but a ${capabilities} Tinker server computes ` +
        `training logprobs at temperature 1, so sampling must use it too; set --rl.temperature=1`,
    });
  }
}

/** The training config schema with `task` validated by `taskSchema` (default: any named task section). */
export function trainConfigSchemaWith(taskSchema: z.ZodType = taskSectionSchema) {
  return z
    .strictObject({ ...trainConfigShape, task: taskSchema.prefault({}) as unknown as typeof trainConfigShape.task })
    .superRefine(checkBackendLimits)
    .describe('turnwise training config');
}

/** The training config schema of any task (its `task` section passes through unvalidated). */
export const trainConfigSchema = trainConfigSchemaWith();

/** A fully resolved training config (every default filled in). */
export type TrainConfig = z.output<typeof trainConfigSchema>;
/** A partial config as written in a file (every field optional). */
export type TrainConfigInput = z.input<typeof trainConfigSchema>;

/** The run directory of a config: `runDir` when set, else `runs/<name>-seed<seed>`. */
export function resolveRunDir(config: TrainConfig): string {
  return config.runDir !== '' ? config.runDir : `runs/${config.name}-seed${config.seed}`;
}
