/**
 * Refuses, before a run's first round, a model context too short for the run: after the longest
 * prompt rendered from the rows of the splits the run samples and evaluates, the context must hold
 * at least half the completion budget (`rl.maxCompletionTokens`, which counts every token after the
 * prompt). Rollouts of a prompt that leaves less than the whole budget end at the context (runRollout
 * caps the budget by the policy's positions); the caller reports how far. Without the check a short
 * context fails every rollout of a long prompt.
 */
import { ConfigError } from '../errors.js';
import type { ChatRenderer } from '../rollout/chat-renderer.js';
import type { TrainConfig } from './config.js';
import { HELD_OUT_SPLITS } from './eval-result.js';
import type { TrainingTask } from './task.js';

/** The longest rendered prompt of a task's splits. */
export interface LongestPrompt {
  tokens: number;
  split: string;
  rowId: string;
}

/**
 * The longest first prompt (`env.reset(row)` rendered with the generation prompt) over `splits`
 * (splits the task does not have are skipped); undefined for a task that runs its own rollouts.
 */
export async function longestPrompt<Row>(
  task: TrainingTask<Row>,
  renderer: ChatRenderer,
  splits: readonly string[],
): Promise<LongestPrompt | undefined> {
  if (task.createEnv === undefined) return undefined;
  let longest: LongestPrompt | undefined;
  for (const split of new Set(splits)) {
    let rows: Row[];
    try {
      rows = task.rows(split);
    } catch {
      continue;
    }
    for (const row of rows) {
      const messages = await task.createEnv().reset(row);
      const tokens = (renderer.fork?.() ?? renderer).renderPrompt([...messages]).length;
      if (longest === undefined || tokens > longest.tokens) longest = { tokens, split, rowId: task.rowId(row) };
    }
  }
  return longest;
}

/** How the context meets the run's longest prompt: how much of the budget it cuts for that prompt. */
export interface ContextFit {
  longest: LongestPrompt;
  /** Tokens after the longest prompt the context holds, when fewer than `rl.maxCompletionTokens`. */
  cutBudget?: number;
}

/**
 * Throws a ConfigError when the context leaves the longest prompt less than half of
 * `rl.maxCompletionTokens`; when it leaves less than all of it, returns the cut (rollouts of such a
 * prompt end at the context as at their budget, see runRollout), for the caller to report.
 */
export async function checkContextLength<Row>(options: {
  config: TrainConfig;
  task: TrainingTask<Row>;
  renderer: ChatRenderer;
  contextLength: number;
}): Promise<ContextFit | undefined> {
  const { config, contextLength } = options;
  const splits = [config.data.trainSplit, config.data.evalSplit, 'test', ...HELD_OUT_SPLITS];
  const longest = await longestPrompt(options.task, options.renderer, splits);
  if (longest === undefined) return undefined;
  const budget = config.rl.maxCompletionTokens;
  const room = contextLength - longest.tokens;
  if (room >= budget) return { longest };
  const half = Math.ceil(budget / 2);
  if (room >= half) return { longest, cutBudget: room };
  throw new ConfigError(
    `the model's context holds ${contextLength} tokens (task.model.contextLength for search-qa), but the longest ` +
      `prompt (${longest.tokens} tokens, ${longest.split} row ${JSON.stringify(longest.rowId)}) leaves ` +
      `${Math.max(0, room)} of rl.maxCompletionTokens ${budget}; expected a context of at least ` +
      `${longest.tokens + half} (half the budget after the longest prompt) or rl.maxCompletionTokens at most ` +
      `${Math.max(0, room * 2)}`,
  );
}
