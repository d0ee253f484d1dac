/**
 * One scripted episode through the real rollout loop, for testing an environment (and optionally
 * its rubric) in a few lines: the replies are played by a ScriptedPolicy over a byte tokenizer and
 * the ChatML template, and the (scored) trajectory comes back.
 */
import type { Env } from '../env/env.js';
import { Random } from '../random.js';
import type { Rubric } from '../rewards/rubric.js';
import { ChatTemplateRenderer } from '../rollout/chat-template-renderer.js';
import { runRollout } from '../rollout/rollout.js';
import type { Tokenizer } from '../rollout/tokenizer.js';
import type { Trajectory } from '../types.js';
import { ByteTokenizer } from './byte-tokenizer.js';
import { ScriptedPolicy } from '../rollout/scripted-policy.js';

/** Options of a scripted episode. */
export interface ScriptedRolloutOptions<Row> {
  env: Env<Row>;
  row: Row;
  /** The assistant's replies, one per turn. */
  replies: string[];
  /** Scores the trajectory when given. */
  rubric?: Rubric<Row>;
  /** Tokenizer (default: a ByteTokenizer). */
  tokenizer?: Tokenizer;
  /** Chat template (default: ChatML). */
  template?: string;
  /** Completion budget over all turns (default 1024, the paper's). */
  tokenBudget?: number;
  /** Seed of the per-turn sampling seeds (default 0). */
  seed?: number;
}

/** Plays `replies` against `env` through the rollout loop and returns the trajectory. */
export async function scriptedRollout<Row>(options: ScriptedRolloutOptions<Row>): Promise<Trajectory> {
  const tokenizer = options.tokenizer ?? new ByteTokenizer();
  const trajectory = await runRollout({
    policy: new ScriptedPolicy({ tokenizer, replies: options.replies }),
    env: options.env,
    renderer: new ChatTemplateRenderer({
      tokenizer,
      ...(options.template !== undefined && { template: options.template }),
    }),
    row: options.row,
    rowId: 'scripted',
    groupIndex: 0,
    random: new Random(options.seed ?? 0),
    ...(options.tokenBudget !== undefined && { tokenBudget: options.tokenBudget }),
  });
  if (options.rubric) await options.rubric.score(trajectory, options.row);
  return trajectory;
}
