/**
 * The steps the commands share, each one call: open the task of a config, get its warm-started
 * base, train a run from a base (with Ctrl-C saving a checkpoint), and evaluate a checkpoint into a
 * run directory. `turnwise train`, `eval`, `experiment` and `demo` are compositions of these.
 */
import { join, resolve } from 'node:path';
import type { Backend } from '../backends/backend.js';
import { ConfigError } from '../errors.js';
import { resolveRunDir, type TrainConfig } from './config.js';
import type { EvalResult } from './eval-result.js';
import { evaluate, evalTrajectoriesPath, writeEvalResult } from './evaluate.js';
import { makeBackend, type TrainingBackend } from './make-backend.js';
import { runRl, type RlRunResult } from './rl-loop.js';
import { createSearchQaTask, type SearchQaTask } from './search-qa-task.js';
import { warmStart, type WarmStartResult } from './warm-start.js';

/** Opens (building if needed) the search-QA task a config names. */
export function openTask(config: TrainConfig, log: (message: string) => void = (message) => console.error(message)): Promise<SearchQaTask> {
  return createSearchQaTask({
    tier: config.data.tier,
    dir: config.data.dir,
    resultCharBudget: config.task.resultCharBudget,
    searchTopK: config.task.searchTopK,
    maxToolCalls: config.task.maxToolCalls,
    systemPrompt: config.task.systemPrompt,
    onProgress: (message) => log(`[data] ${message}`),
  });
}

/** The base checkpoint of a config: `baseDir` when given, else the (cached) warm start. */
export async function prepareBase(config: TrainConfig, task: SearchQaTask, options: { baseDir?: string; log?: (message: string) => void } = {}): Promise<{ baseDir: string; warm?: WarmStartResult }> {
  if (options.baseDir !== undefined) return { baseDir: resolve(options.baseDir) };
  const warm = await warmStart({ config, task, log: options.log });
  return { baseDir: warm.baseDir, warm };
}

/** Installs a SIGINT handler that requests a clean stop; a second Ctrl-C exits at once. */
export function stopOnSigint(log: (message: string) => void = (message) => console.error(message)): { shouldStop: () => boolean; dispose: () => void } {
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
export async function trainRun(config: TrainConfig, task: SearchQaTask, baseDir: string | undefined, options: { resume?: boolean; shouldStop?: () => boolean; quiet?: boolean } = {}): Promise<RlRunResult & { backend: TrainingBackend }> {
  const runDir = resolveRunDir(config);
  const slots = config.rl.concurrency + 32;
  const backend = await makeBackend(config, { weightsFrom: baseDir, checkpointDirectory: join(runDir, 'checkpoints'), samplerSlots: slots });
  let reference: Backend | undefined;
  if (config.loss.klBeta > 0) reference = await makeBackend(config, { weightsFrom: baseDir, checkpointDirectory: join(runDir, 'reference'), samplerSlots: 8 });
  if (config.backend.kind === 'local' && config.model.contextLength < 64 + config.rl.maxCompletionTokens) {
    throw new ConfigError(`model.contextLength ${config.model.contextLength} leaves no room for the prompt plus rl.maxCompletionTokens ${config.rl.maxCompletionTokens}`);
  }
  const result = await runRl({ config, backend, task, reference, resume: options.resume, shouldStop: options.shouldStop, progress: options.quiet ? null : undefined });
  await reference?.close();
  return { ...result, backend };
}

/** Evaluates a backend on splits and modes and writes the results into `runDir/eval/`. */
export async function evaluateInto(options: {
  runDir: string;
  backend: Backend;
  task: SearchQaTask;
  config: TrainConfig;
  splits: string[];
  modes: EvalResult['mode'][];
  checkpoint: string;
  log?: (message: string) => void;
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
        sampling: { temperature: options.config.rl.temperature, topK: options.config.rl.topK, topP: options.config.rl.topP },
        tokenBudget: options.config.rl.maxCompletionTokens,
        seed: options.config.seed + 1_000_003,
        concurrency: options.config.rl.concurrency,
        checkpoint: options.checkpoint,
        trajectoriesPath: evalTrajectoriesPath(options.runDir, split, mode),
      });
      writeEvalResult(options.runDir, result);
      options.log?.(`[eval] ${options.runDir}: ${split}/${mode} ${result.rollouts} rollouts in ${result.wallSeconds.toFixed(0)}s`);
      results.push(result);
    }
  }
  return results;
}
