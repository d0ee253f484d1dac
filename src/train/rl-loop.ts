/**
 * The RL training loop, top to bottom, through the Backend interface only (PAPER.md sections 3-5):
 *
 *   for each generation round:
 *     pick P questions (seeded shuffled epochs)          -> rows_P
 *     sample G rollouts each with the current policy     -> groups (tokens, sampling logprobs)
 *     score every trajectory with the task's rubric       -> turn rewards R^T_k, outcome R^O
 *     advantages per group from the configured estimator  -> advantages_G_T (0 on env tokens)
 *     build datums (inputs, targets, old logprobs, advantages, mask); reference logprobs if KL
 *       (into the loss, or folded into the advantages for a service's base-model sampler)
 *     with rl.maxStaleness 1: start sampling the next round now, with the weights of this one
 *     mu times: forwardBackward(clipped PG loss) then optimStep (lr warm-up, grad clipping),
 *       submitted back to back where the backend keeps their order; the first optimStep waits
 *       until the next round has sampled, so that round is exactly one round stale
 *     log metrics, trajectories; checkpoint every N steps and at the end
 *
 * Checkpoints fall on round boundaries (a batch is never split across a resume), and everything
 * random comes from one generator whose state is saved, so a resumed run matches an uninterrupted
 * one step for step. A round followed by a checkpoint samples no next round early (that round is
 * sampled on-policy, as a resumed run samples it), so this holds with rl.maxStaleness 1 too. A stop
 * request (Ctrl-C) ends the current round, drops a round sampled early (saving the data order and
 * generator from before it was drawn: a resumed run draws the same questions and seeds, sampled
 * with the saved weights), saves, and returns.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { createEstimator } from '../advantage/create-estimator.js';
import { checkCreditInvariants } from '../advantage/credit-invariants.js';
import type { AdvantageEstimator } from '../advantage/estimator.js';
import type { Backend, ReferencePolicy } from '../backends/backend.js';
import type { AdamParams, Datum, ForwardBackwardResult, LossSpec } from '../training-types.js';
import { ConfigError } from '../errors.js';
import { Random } from '../random.js';
import { activeProfile, COUNTER, PHASE } from '../step-profile.js';
import type { GroupAdvantages, TrajectoryGroup } from '../types.js';
import { collectGroups } from './collect-groups.js';
import { configHash, writeResolvedConfig } from './config-load.js';
import { resolveRunDir, type TrainConfig } from './config.js';
import { buildGroupDatums } from '../loss/build-datum.js';
import { foldKlPenalty } from '../loss/kl-penalty.js';
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
  reference?: ReferencePolicy;
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
    // A reference whose KL is folded into the advantages leaves none in the loss.
    klBeta: options.reference?.klPenalty === 'advantages' ? 0 : config.loss.klBeta,
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
  // Whether a rollout that ended in an error has been named on the terminal (once a run).
  let errorNamed = false;

  const checkpoint = async (state: DrawState = { rng: rng.getState(), data: dataOrder.getState() }) => {
    lastCheckpoint = await saveCheckpoint(runDir, backend, {
      step,
      round,
      ...state,
      elapsedSeconds: elapsed(),
      configHash: hash,
    });
  };
  // Whether the round ending at optimiser step `after` (exclusive of the run's end) is checkpointed.
  const checkpointAfter = (after: number) => {
    const every = config.checkpoint.every;
    return (
      every > 0 && Math.floor(after / every) > Math.floor((after - config.rl.mu) / every) && after < config.rl.steps
    );
  };

  // Draws round `index`'s questions and seeds and starts sampling it with the current weights.
  const startRound = (index: number, keepState: boolean): Round<Row> => {
    const before = keepState ? { rng: rng.getState(), data: dataOrder.getState() } : undefined;
    const started = performance.now();
    const rows_P = dataOrder.next(config.rl.questionsPerStep).map((rowIndex) => rows[rowIndex]!);
    const roundRandom = rng.fork();
    const groups = collectGroups({
      policy: backend.policy(),
      task,
      renderer: backend.renderer,
      rows_P,
      groupSize: config.rl.groupSize,
      sampling,
      tokenBudget: config.rl.maxCompletionTokens,
      random: roundRandom,
      concurrency: config.rl.concurrency,
      sessionPrefix: `round${index}`,
    }).then((groups) => {
      activeProfile()?.endSampling();
      return { groups, sampleSeconds: (performance.now() - started) / 1000 };
    });
    groups.catch(() => undefined); // awaited when the round is trained; a stop may drop it first
    return { sampledAtRound: round, before, groups };
  };
  let next: Round<Row> | undefined;

  while (step < config.rl.steps) {
    if (options.shouldStop?.()) {
      stopped = true;
      break;
    }
    // 1. Questions and rollouts (already under way when sampled early).
    activeProfile()?.beginRound();
    const current = next ?? startRound(round, false);
    next = undefined;
    const { groups, sampleSeconds } = await current.groups;

    // 2. Advantages per group, then training datums.
    const profile = activeProfile();
    let phaseStart = profile ? performance.now() : 0;
    const advantages_P: GroupAdvantages[] = groups.map((group) => estimator.estimate(group));
    profile?.add(PHASE.advantage, phaseStart);
    phaseStart = profile ? performance.now() : 0;
    const datums = groups.flatMap((group, p) => buildGroupDatums(group, advantages_P[p]!));
    profile?.add(PHASE.datum, phaseStart);
    phaseStart = profile ? performance.now() : 0;
    const roundMetrics = rolloutMetrics(groups, advantages_P);
    // Credit invariants on the real batch (non-trainable credit, NaN, turns dropped from credit).
    const creditIssues = groups.flatMap((group, p) => checkCreditInvariants(group, advantages_P[p]!, { estimator }));
    roundMetrics['credit/errors'] = creditIssues.filter((issue) => issue.severity === 'error').length;
    roundMetrics['credit/warnings'] = creditIssues.length - roundMetrics['credit/errors'];
    for (const issue of creditIssues.filter((candidate) => candidate.severity === 'error').slice(0, 3))
      console.error(`[credit] round ${round}: ${issue.message}`);
    // A rollout that ends in an error (a failing sampler or env) scores as a failed answer: said once,
    // with its error, as 15-33% of rollouts once ended so unnoticed (a float32 logprob above 0).
    const failed = errorNamed
      ? []
      : groups.flatMap((group) => group.trajectories).filter((t) => t.stopReason === 'error');
    if (failed.length > 0) {
      errorNamed = true;
      const total = groups.reduce((sum, group) => sum + group.trajectories.length, 0);
      console.error(
        `[${config.name}] note: ${failed.length} of ${total} rollouts of round ${round} ended in an error and score ` +
          `as failures (stop/error in metrics.jsonl); the first: ${failed[0]!.errors[0] ?? 'no message'}`,
      );
    }
    profile?.add(PHASE.advantage, phaseStart);
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
    roundMetrics['rl/staleness'] = round - current.sampledAtRound;
    if (options.reference && config.loss.klBeta > 0) {
      const reference_B_T = await options.reference.forward(datums, { temperature: config.rl.temperature });
      if (options.reference.klPenalty === 'advantages')
        Object.assign(roundMetrics, foldKlPenalty(datums, reference_B_T, config.loss.klBeta));
      else
        datums.forEach((datum, b) => {
          datum.refLogprobs = reference_B_T[b];
        });
    }

    // 3. The next round samples while this one trains (rl.maxStaleness 1), unless a checkpoint or
    //    the run's end follows this round; the weights change only once it has sampled.
    const stepAfter = Math.min(step + config.rl.mu, config.rl.steps);
    if (config.rl.maxStaleness > 0 && stepAfter < config.rl.steps && !checkpointAfter(stepAfter))
      next = startRound(round + 1, true);
    let sampledBeforeUpdate = next?.groups.then(() => undefined);

    // 4. mu optimiser steps on this batch; old logprobs stay those of sampling time.
    for (let m = 0; m < config.rl.mu && step < config.rl.steps; m++) {
      const trainStart = performance.now();
      const adam: AdamParams = {
        learningRate: learningRateAt(config, step),
        beta1: config.optim.beta1,
        beta2: config.optim.beta2,
        eps: config.optim.eps,
        weightDecay: config.optim.weightDecay,
        gradClipNorm: config.optim.gradClip,
      };
      const { result, optimMetrics } = await trainStep(backend, datums, loss, adam, {
        temperature: config.rl.temperature,
        before: sampledBeforeUpdate,
      });
      sampledBeforeUpdate = undefined;
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
    activeProfile()?.endRound();

    // 5. Checkpoint when a multiple of `checkpoint.every` was crossed in this round.
    if (checkpointAfter(step)) await checkpoint();
  }
  // A round sampled early but not trained (a stop) is dropped: the checkpoint keeps the state
  // from before it was drawn, so a resumed run draws it again.
  if (next) await next.groups.catch(() => undefined);
  await checkpoint(next?.before);
  progress?.finish();
  if (stopped)
    progress?.log(`[${config.name}] stopped at step ${step}; checkpoint ${lastCheckpoint} (resume with --resume)`);
  return { runDir, steps: step, stopped, checkpoint: lastCheckpoint, lastMetrics };
}

/** The data order and generator state a checkpoint saves. */
type DrawState = { rng: ReturnType<Random['getState']>; data: ReturnType<DataOrder['getState']> };

/** A generation round, sampled or being sampled. */
interface Round<Row> {
  /** Rounds trained when its sampling started: its staleness is the rounds trained since. */
  sampledAtRound: number;
  /** The state from before its questions and seeds were drawn (kept for a round sampled early). */
  before?: DrawState;
  groups: Promise<{ groups: TrajectoryGroup<Row>[]; sampleSeconds: number }>;
}

/**
 * One optimiser step: forwardBackward then optimStep, the two submitted back to back when the
 * backend keeps their order; optimStep starts only once `before` has settled (the weights must not
 * change while the next round samples).
 */
async function trainStep(
  backend: Backend,
  datums: Datum[],
  loss: LossSpec,
  adam: AdamParams,
  options: { temperature: number; before?: Promise<void> },
): Promise<{ result: ForwardBackwardResult; optimMetrics: Record<string, number> }> {
  const profile = activeProfile();
  let start = profile ? performance.now() : 0;
  const forward =
    datums.length > 0
      ? backend.forwardBackward(datums, loss, { temperature: options.temperature })
      : Promise.resolve({ loss: 0, metrics: {}, logprobs: [] });
  if (profile) {
    profile.add(PHASE.forwardBackward, start);
    profile.count(COUNTER.trainSteps, 1);
    profile.count(COUNTER.trainSequences, datums.length);
    for (const datum of datums) profile.count(COUNTER.trainTokens, datum.inputTokens.length);
  }
  // Both calls do their work before they return on the local engine; on a service they submit.
  const optimStep = () => {
    start = profile ? performance.now() : 0;
    const submitted = backend.optimStep(adam);
    profile?.add(PHASE.optimizer, start);
    return submitted;
  };
  if (!backend.submitsInOrder) {
    const result = await forward;
    if (options.before) await options.before.catch(() => undefined);
    return { result, optimMetrics: await optimStep() };
  }
  forward.catch(() => undefined); // its failure is reported by the Promise.all below
  if (options.before) await options.before.catch(() => undefined);
  const [result, optimMetrics] = await Promise.all([forward, optimStep()]);
  return { result, optimMetrics };
}
