/**
 * Refuses, before a run's first round, a model context too short for the run: the longest prompt
 * rendered from the rows of the splits the run samples and evaluates, plus the completion budget
 * (`rl.maxCompletionTokens`, which counts every token after the prompt), must fit the model's
 * positions. Without it a valid but short context dies mid-run, at the first long prompt, with a
 * ShapeError from the engine.
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

/** Throws a ConfigError when the longest prompt plus `rl.maxCompletionTokens` exceeds `contextLength`. */
export async function checkContextLength<Row>(options: {
  config: TrainConfig;
  task: TrainingTask<Row>;
  renderer: ChatRenderer;
  contextLength: number;
}): Promise<void> {
  const { config, contextLength } = options;
  const splits = [config.data.trainSplit, config.data.evalSplit, 'test', ...HELD_OUT_SPLITS];
  const longest = await longestPrompt(options.task, options.renderer, splits);
  if (longest === undefined) return;
  const budget = config.rl.maxCompletionTokens;
  if (longest.tokens + budget <= contextLength) return;
  throw new ConfigError(
    `the model's context holds ${contextLength} tokens (task.model.contextLength for search-qa), but the longest ` +
      `prompt (${longest.tokens} tokens, ${longest.split} row ${JSON.stringify(longest.rowId)}) plus ` +
      `rl.maxCompletionTokens ${budget} needs ${longest.tokens + budget}; expected a context of at least ` +
      `${longest.tokens + budget} or rl.maxCompletionTokens at most ${Math.max(0, contextLength - longest.tokens)}`,
  );
}
