/**
 * The RL training loop, top to bottom, through the Backend interface only (PAPER.md sections 3-5):
 *
 *   for each generation round:
 *     pick P questions (seeded shuffled epochs)          -> rows_P
 *     sample G rollouts each with the current policy     -> groups (tokens, sampling logprobs)
 *     score every trajectory with the task's rubric       -> turn rewards R^T_k, outcome R^O
 *     advantages per group from the configured estimator  -> advantages_G_T (0 on env tokens)
 *     build datums (inputs, targets, old logprobs, advantages, mask); reference logprobs if KL
 *     mu times: forwardBackward(clipped PG loss) then optimStep (lr warm-up, grad clipping)
 *     log metrics, trajectories; checkpoint every N steps and at the end
 *
 * Checkpoints fall on round boundaries (a batch is never split across a resume), and everything
 * random comes from one generator whose state is saved, so a resumed run matches an uninterrupted
 * one step for step. A stop request (Ctrl-C) ends the current round, saves, and returns.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { createEstimator } from '../advantage/create-estimator.js';
import { checkCreditInvariants } from '../advantage/credit-invariants.js';
import type { AdvantageEstimator } from '../advantage/estimator.js';
import type { Backend } from '../backends/backend.js';
import type { AdamParams, LossSpec } from '../training-types.js';
import { ConfigError } from '../errors.js';
import { Random } from '../random.js';
import type { GroupAdvantages } from '../types.js';
import { collectGroups } from './collect-groups.js';
import { configHash, writeResolvedConfig } from './config-load.js';
import { resolveRunDir, type TrainConfig } from './config.js';
import { buildGroupDatums } from '../loss/build-datum.js';
import { DataOrder } from './data-order.js';
import { RunLog, type StepMetrics } from './metrics-log.js';
import { ProgressReporter, type ProgressStream } from './progress.js';
import { rolloutMetrics } from './rollout-metrics.js';
import { restoreLatest, saveCheckpoint } from './run-state.js';
import type { TrainingTask } from './task.js';

/** Everything a training run needs besides its config. */
export interface RlRunOptions<Row> {
  config: TrainConfig;
  backend: Backend;
  task: TrainingTask<Row>;
  /** The frozen base policy, for the KL term (required when `loss.klBeta > 0`). */
  reference?: Backend;
  /** Continue from the run directory's latest checkpoint. */
  resume?: boolean;
  /** Config hashes a resumed checkpoint may carry (default: this config's own hash only). */
  acceptConfigHashes?: string[];
  /** Polled after each round; true ends the run early with a checkpoint (Ctrl-C). */
  shouldStop?: () => boolean;
  /** Progress output (default stderr); `null` silences it. */
  progress?: ProgressStream | null;
  /** Estimator override (default: from `config.advantage`). */
  estimator?: AdvantageEstimator;
}

/** What a finished (or stopped) run reports. */
export interface RlRunResult {
  runDir: string;
  steps: number;
  stopped: boolean;
  checkpoint: string;
  lastMetrics?: StepMetrics;
}

/** The learning rate of optimiser step `step` (0-based): linear warm-up, then constant. */
export function learningRateAt(config: TrainConfig, step: number): number {
  const { lr, warmupSteps } = config.optim;
  return warmupSteps > 0 ? lr * Math.min(1, (step + 1) / warmupSteps) : lr;
}

/** Trains a policy with RL; returns when `rl.steps` optimiser steps are done or a stop is requested. */
export async function runRl<Row>(options: RlRunOptions<Row>): Promise<RlRunResult> {
  const { config, backend, task } = options;
  const runDir = resolveRunDir(config);
  const hash = configHash(config);
  const estimator = options.estimator ?? createEstimator(config.advantage);
  if (config.loss.klBeta > 0 && options.reference === undefined)
    throw new ConfigError(
      `loss.klBeta is ${config.loss.klBeta} but no reference backend (the ` +
        `base policy) was given; pass options.reference or set loss.klBeta=0`,
    );
  writeResolvedConfig(runDir, config);
  const log = new RunLog(runDir);

  // Run state: fresh from the seed, or restored from the latest checkpoint.
  const rng = new Random(config.seed);
  const rows = task.rows(config.data.trainSplit);
  let step = 0;
  let round = 0;
  let elapsedBefore = 0;
  let dataOrder: DataOrder;
  const restored = options.resume
    ? await restoreLatest(runDir, backend, options.acceptConfigHashes ?? [hash])
    : undefined;
  if (restored) {
    rng.setState(restored.rng);
    dataOrder = new DataOrder(rows.length, rng, restored.data);
    ({ step, round } = restored);
    elapsedBefore = restored.elapsedSeconds;
    log.truncateAfter(step);
  } else {
    dataOrder = new DataOrder(rows.length, rng);
    // A fresh run in a used directory starts over: old logs and the old latest pointer go.
    log.truncateAfter(0);
    rmSync(join(runDir, 'latest.json'), { force: true });
  }

  const loss: LossSpec = {
    kind: 'ppo',
    clipLow: config.loss.clipEpsilon,
    clipHigh: config.loss.clipEpsilon,
    klBeta: config.loss.klBeta,
    normalization: config.loss.normalization,
  };
  const sampling = { temperature: config.rl.temperature, topK: config.rl.topK, topP: config.rl.topP };
  const sessionStart = performance.now();
  const stepsAtStart = step;
  const elapsed = () => elapsedBefore + (performance.now() - sessionStart) / 1000;
  const progressFields = [{ label: 'reward', key: 'reward/total_mean' }, ...(task.progressFields ?? [])];
  const progress =
    options.progress === null
      ? undefined
      : new ProgressReporter({
          totalSteps: config.rl.steps,
          fields: progressFields,
          printEvery: config.log.printEvery,
          stream: options.progress,
          label: config.name,
        });
  let lastMetrics: StepMetrics | undefined;
  let lastCheckpoint = '';
  let stopped = false;

  const checkpoint = async () => {
    lastCheckpoint = await saveCheckpoint(runDir, backend, {
      step,
      round,
      rng: rng.getState(),
      data: dataOrder.getState(),
      elapsedSeconds: elapsed(),
      configHash: hash,
    });
  };

  while (step < config.rl.steps) {
    if (options.shouldStop?.()) {
      stopped = true;
      break;
    }
    // 1. Questions and rollouts.
    const roundStart = performance.now();
    const rows_P = dataOrder.next(config.rl.questionsPerStep).map((index) => rows[index]!);
    const roundRandom = rng.fork();
    const groups = await collectGroups({
      policy: backend.policy(),
      task,
      renderer: backend.renderer,
      rows_P,
      groupSize: config.rl.groupSize,
      sampling,
      tokenBudget: config.rl.maxCompletionTokens,
      random: roundRandom,
      concurrency: config.rl.concurrency,
      sessionPrefix: `round${round}`,
    });
    const sampleSeconds = (performance.now() - roundStart) / 1000;

    // 2. Advantages per group, then training datums.
    const advantages_P: GroupAdvantages[] = groups.map((group) => estimator.estimate(group));
    const datums = groups.flatMap((group, p) => buildGroupDatums(group, advantages_P[p]!));
    const roundMetrics = rolloutMetrics(groups, advantages_P);
    // Credit invariants on the real batch (non-trainable credit, NaN, turns dropped from credit).
    const creditIssues = groups.flatMap((group, p) => checkCreditInvariants(group, advantages_P[p]!, { estimator }));
    roundMetrics['credit/errors'] = creditIssues.filter((issue) => issue.severity === 'error').length;
    roundMetrics['credit/warnings'] = creditIssues.length - roundMetrics['credit/errors'];
    for (const issue of creditIssues.filter((candidate) => candidate.severity === 'error').slice(0, 3))
      console.error(`[credit] round ${round}: ${issue.message}`);
    if (config.log.trajectoriesEvery > 0 && round % config.log.trajectoriesEvery === 0) {
      // From each of the first groups, the rollout whose tokens got the largest credit (either sign).
      const picked = groups.slice(0, config.log.trajectoriesCount).map((group, p) => {
        const strength = advantages_P[p]!.map((row) => row.reduce((sum, value) => sum + Math.abs(value), 0));
        const g = strength.indexOf(Math.max(...strength));
        return {
          trajectory: group.trajectories[g]!,
          advantages_T: advantages_P[p]![g]!,
          row: { question: (group.row as { question?: unknown }).question, answers: task.answers?.(group.row) },
        };
      });
      log.writeTrajectories(step + 1, picked);
    }
    if (options.reference && config.loss.klBeta > 0) {
      const reference_B_T = await options.reference.forward(datums, { temperature: config.rl.temperature });
      datums.forEach((datum, b) => {
        datum.refLogprobs = reference_B_T[b];
      });
    }

    // 3. mu optimiser steps on this batch; old logprobs stay those of sampling time.
    for (let m = 0; m < config.rl.mu && step < config.rl.steps; m++) {
      const trainStart = performance.now();
      const result =
        datums.length > 0
          ? await backend.forwardBackward(datums, loss, { temperature: config.rl.temperature })
          : { loss: 0, metrics: {}, logprobs: [] };
      const adam: AdamParams = {
        learningRate: learningRateAt(config, step),
        beta1: config.optim.beta1,
        beta2: config.optim.beta2,
        eps: config.optim.eps,
        weightDecay: config.optim.weightDecay,
        gradClipNorm: config.optim.gradClip,
      };
      const optimMetrics = await backend.optimStep(adam);
      step++;
      const trainSeconds = (performance.now() - trainStart) / 1000;
      const metrics: StepMetrics = {
        step,
        elapsed: elapsed(),
        round,
        reuse: m,
        ...roundMetrics,
        'loss/value': result.loss,
        ...result.metrics,
        ...optimMetrics,
        'optim/lr': adam.learningRate,
        'time/sample_seconds': m === 0 ? sampleSeconds : 0,
        'time/train_seconds': trainSeconds,
        'time/tokens_per_second': roundMetrics['rollout/sampled_tokens']! / Math.max(1e-9, sampleSeconds),
      };
      log.writeMetrics(metrics);
      lastMetrics = metrics;
      if (progress) {
        progress.update(step, metrics, {
          elapsedSeconds: (performance.now() - sessionStart) / 1000,
          stepsThisSession: step - stepsAtStart,
          tokensPerSecond: metrics['time/tokens_per_second']!,
        });
      }
    }
    round++;

    // 4. Checkpoint when a multiple of `checkpoint.every` was crossed in this round.
    const every = config.checkpoint.every;
    if (every > 0 && Math.floor(step / every) > Math.floor((step - config.rl.mu) / every) && step < config.rl.steps)
      await checkpoint();
  }
  await checkpoint();
  progress?.finish();
  if (stopped)
    progress?.log(`[${config.name}] stopped at step ${step}; checkpoint ${lastCheckpoint} (resume with --resume)`);
  return { runDir, steps: step, stopped, checkpoint: lastCheckpoint, lastMetrics };
}
