/**
 * The steps the commands share, each one call: open the backend a config names, find where a run
 * starts, train a run from a base (with Ctrl-C saving a checkpoint), and evaluate a checkpoint into
 * a run directory. `turnwise train`, `eval`, `experiment` and `demo` are compositions of these, for
 * any task whose definition they are given.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Backend, ReferencePolicy } from '../backends/backend.js';
import { LocalBackend } from '../backends/local.js';
import { makeBackend, type MakeBackendOptions } from '../backends/make-backend.js';
import { ConfigError } from '../errors.js';
import { resolveRunDir, type TrainConfig } from './config.js';
import { checkContextLength } from './context-check.js';
import { runConfigHashes } from './config-load.js';
import type { EvalResult } from './eval-result.js';
import { evaluate, evalTrajectoriesPath, writeEvalResult } from './evaluate.js';
import { runRl, type RlRunResult } from './rl-loop.js';
import type { TaskDefinition, TrainingTask } from './task.js';

type Log = (message: string) => void;
const stderr: Log = (message) => console.error(message);

/** The backend of a config's `backend` section, with the run's sampling temperature, tags and metadata. */
export function openBackend(
  config: TrainConfig,
  options: Omit<MakeBackendOptions, 'samplingTemperature' | 'tags' | 'userMetadata'>,
): Promise<Backend> {
  return makeBackend(config.backend, {
    ...options,
    samplingTemperature: config.rl.temperature,
    tags: ['turnwise', config.advantage.kind],
    userMetadata: { turnwise_run: config.name, seed: String(config.seed) },
  });
}

/** Where a run starts: `weightsFrom` for `makeBackend` (undefined = the remote base model). */
export interface StartingPoint {
  weightsFrom: string | undefined;
  /** A short description for logs and eval labels. */
  label: string;
}

/**
 * The starting weights of a run: `base` when given (a checkpoint directory for local, a service
 * path for tinker), else the task's own base (local, e.g. the search-QA warm start) or the remote
 * base model (tinker, where no local base is built).
 */
export async function startingPoint<Row>(
  config: TrainConfig,
  definition: TaskDefinition<Row>,
  task: TrainingTask<Row>,
  options: { base?: string; log?: Log } = {},
): Promise<StartingPoint> {
  const log = options.log ?? stderr;
  if (config.backend.kind === 'tinker') {
    const { baseModel, loraRank, baseUrl } = config.backend;
    if (options.base !== undefined && existsSync(options.base)) {
      throw new ConfigError(
        `--base ${JSON.stringify(options.base)} is a local checkpoint directory, but backend.kind is tinker; ` +
          `give a path the service saved (tinker://...) or leave --base out to start from backend.baseModel`,
      );
    }
    if (options.base !== undefined) return { weightsFrom: options.base, label: options.base };
    log(
      `[backend] tinker: starting from ${baseModel} (LoRA rank ${loraRank}) ` +
        `at ${baseUrl}; no local base is built (a task's warm start or base is skipped)`,
    );
    return { weightsFrom: undefined, label: `${baseModel} (base)` };
  }
  const unused = (['baseUrl', 'baseModel', 'tokenizerDir'] as const).filter((key) => config.backend[key] !== '');
  if (unused.length > 0)
    log(
      `[backend] backend.kind is local, so ${unused.map((key) => `backend.${key}`).join(', ')} ` +
        `${unused.length > 1 ? 'are' : 'is'} not used (--backend.kind=tinker trains on the service)`,
    );
  if (options.base !== undefined) return { weightsFrom: resolve(options.base), label: resolve(options.base) };
  if (definition.localBase === undefined) {
    throw new ConfigError(
      `task ${definition.name} builds no base of its own for the ` +
        `local backend; give a checkpoint directory with --base DIR`,
    );
  }
  const base = await definition.localBase(config, task, { log });
  return { weightsFrom: base.checkpoint, label: base.label };
}

/** Installs a SIGINT handler that requests a clean stop; a second Ctrl-C exits at once. */
export function stopOnSigint(log: Log = stderr): { shouldStop: () => boolean; dispose: () => void } {
  let requested = false;
  const handler = () => {
    if (requested) {
      log('second interrupt: exiting without saving (the latest checkpoint is intact)');
      process.exit(130);
    }
    requested = true;
    log('\ninterrupt: finishing this round, then saving a checkpoint (Ctrl-C again to exit at once)');
  };
  process.on('SIGINT', handler);
  return { shouldStop: () => requested, dispose: () => process.off('SIGINT', handler) };
}

/**
 * Trains one RL run of `config` from `baseDir` (a checkpoint directory for the local backend; for
 * tinker a service path or undefined = the remote base model) on the backend the config names;
 * resumes from the run's checkpoint when asked.
 */
export async function trainRun<Row>(
  config: TrainConfig,
  task: TrainingTask<Row>,
  baseDir: string | undefined,
  options: { resume?: boolean; shouldStop?: () => boolean; quiet?: boolean } = {},
): Promise<RlRunResult & { backend: Backend }> {
  const runDir = resolveRunDir(config);
  const slots = config.rl.concurrency + 32;
  const backend = await openBackend(config, {
    weightsFrom: baseDir,
    checkpointDirectory: join(runDir, 'checkpoints'),
    samplerSlots: slots,
  });
  // The engine's context is known only now (a base or checkpoint of any size), before the first round.
  if (backend instanceof LocalBackend) {
    const contextLength = backend.model.config.max_position_embeddings;
    const fit = await checkContextLength({ config, task, renderer: backend.renderer, contextLength }).catch(
      async (error) => {
        await backend.close();
        throw error;
      },
    );
    if (fit?.cutBudget !== undefined && !options.quiet)
      stderr(
        `[train] note: the context (${contextLength} tokens) leaves the longest prompt (${fit.longest.tokens} tokens, ` +
          `${fit.longest.split} row ${JSON.stringify(fit.longest.rowId)}) ${fit.cutBudget} of rl.maxCompletionTokens ` +
          `${config.rl.maxCompletionTokens}; such rollouts end at the context`,
      );
  }
  // The KL reference: the service's base-model sampler (tinker), else a second backend on the base.
  let reference: ReferencePolicy | undefined;
  if (config.loss.klBeta > 0)
    reference =
      (backend as Backend).baseReference?.() ??
      (await openBackend(config, {
        weightsFrom: baseDir,
        checkpointDirectory: join(runDir, 'reference'),
        samplerSlots: 8,
      }));
  const result = await runRl({
    config,
    backend,
    task,
    reference,
    resume: options.resume,
    acceptConfigHashes: options.resume ? runConfigHashes(runDir, config) : undefined,
    shouldStop: options.shouldStop,
    progress: options.quiet ? null : undefined,
  });
  await reference?.close();
  return { ...result, backend };
}

/** Evaluates a backend on splits and modes and writes the results into `runDir/eval/`. */
export async function evaluateInto<Row>(options: {
  runDir: string;
  backend: Backend;
  task: TrainingTask<Row>;
  config: TrainConfig;
  splits: string[];
  modes: EvalResult['mode'][];
  checkpoint: string;
  log?: Log;
}): Promise<EvalResult[]> {
  const results: EvalResult[] = [];
  for (const split of options.splits) {
    for (const mode of options.modes) {
      const result = await evaluate({
        backend: options.backend,
        task: options.task,
        split,
        mode,
        questions: options.config.eval.questions,
        samples: options.config.eval.samples,
        sampling: {
          temperature: options.config.rl.temperature,
          topK: options.config.rl.topK,
          topP: options.config.rl.topP,
        },
        tokenBudget: options.config.rl.maxCompletionTokens,
        seed: options.config.seed + 1_000_003,
        concurrency: options.config.rl.concurrency,
        checkpoint: options.checkpoint,
        trajectoriesPath: evalTrajectoriesPath(options.runDir, split, mode),
      });
      writeEvalResult(options.runDir, result);
      // Rollouts that ended in an error score as wrong answers: said, so that a broken sampler shows.
      const errorShare = result.metrics['stop/error'] ?? 0;
      const errors =
        errorShare > 0
          ? `; ${(100 * errorShare).toFixed(1)}% ended in an error (their errors are in the trajectories)`
          : '';
      options.log?.(
        `[eval] ${options.runDir}: ${split}/${mode} ${result.rollouts} rollouts in ${result.wallSeconds.toFixed(0)}s${errors}`,
      );
      results.push(result);
    }
  }
  return results;
}
