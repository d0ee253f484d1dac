/**
 * The one multi-turn rollout loop. It renders the env's initial messages once, then per turn: asks
 * the policy for a continuation of the exact token sequence (per-request seed, one session id per
 * rollout), records the sampled tokens (trainable 1) with their sampling logprobs, hands the decoded
 * assistant message to the env, and appends the env's reply as tokens (trainable 0) rendered after
 * the sampled ones. Earlier turns are never re-tokenised. A reply of several messages (one result
 * per tool call of a turn that made several) is rendered as one env span: the turn stays one
 * assistant message, so turn rewards and turn-level credit count it once.
 *
 * Token budget (PAPER.md section 1): `tokenBudget` counts every token after the prompt, sampled and
 * environment tokens alike. Each turn may sample at most what is left; once it is spent the env
 * classifies the last message without running a tool (`final`) and the episode ends, and an env
 * reply that overflows the budget is cut to it (the message itself is kept whole for the rewards, as
 * the reference code rewards full messages). A policy with a context (`Policy.maxSequenceLength`)
 * caps the budget at what the context holds after the prompt, so a long prompt ends its rollout at
 * the context as 'token_budget' instead of a failed sample. Deviation from the reference code, on
 * purpose: it let the next turn sample past the budget and then truncated the token sequence, so
 * rewards could score text that was cut from training; here the rewarded text is the trained text.
 */
import type { EnvStep, Env } from '../env/env.js';
import { errorMessage } from '../errors.js';
import type { Random } from '../random.js';
import type { Message, StopReason, Trajectory, Turn } from '../types.js';
import type { ChatRenderer } from './chat-renderer.js';
import { activeProfile, PHASE } from '../step-profile.js';
import type { Policy, SampleResult, SamplingParams } from './policy.js';

/** Sampling settings of a rollout; stop strings come from the env, stop ids from the renderer. */
export interface RolloutSampling {
  temperature: number;
  topK: number;
  topP: number;
  /** Cap on one turn's tokens below what the budget allows (default: none). */
  maxTokensPerTurn?: number;
}

/** Completion tokens of a rollout over all its turns when none is given (the paper's 1024). */
export const DEFAULT_TOKEN_BUDGET = 1024;

/** The paper's sampling settings (temperature 0.9, top-k 50, top-p 1). */
export const PAPER_SAMPLING: RolloutSampling = { temperature: 0.9, topK: 50, topP: 1 };

/** Everything one rollout needs. */
export interface RolloutOptions<Row> {
  policy: Policy;
  /** A fresh env for this episode. */
  env: Env<Row>;
  /** The renderer; forked for this conversation when it has `fork()` (so it may be shared). */
  renderer: ChatRenderer;
  row: Row;
  rowId: string;
  /** Index of the rollout within its group. */
  groupIndex: number;
  sampling?: RolloutSampling;
  /** Completion tokens over all turns, env tokens included (paper: 1024). */
  tokenBudget?: number;
  /** Source of the per-request seeds (one draw per turn). */
  random: Random;
  /**
   * Seed of the first turn instead of that turn's draw (the draw is still made, so later turns keep
   * their seeds): `rolloutGroups` gives a group's rollouts consecutive first-turn seeds, which a
   * remote sampler can serve as one request with `num_samples` (see sampling-client.ts).
   */
  firstTurnSeed?: number;
  /** Session id for the policy's KV cache (default `${rowId}/${groupIndex}`). */
  sessionId?: string;
  /** Hard cap on turns, whatever the env does (default 64). */
  maxTurns?: number;
}

/** The decoded assistant text without a trailing end-of-turn token. */
function stripEndOfTurn(text: string, endTexts: string[]): string {
  for (const end of endTexts) if (end.length > 0 && text.endsWith(end)) return text.slice(0, -end.length);
  return text;
}

/**
 * How far above 0 a sampled logprob may be and still be read as rounding (then as 0): float32
 * log-softmax of a token of probability ~1 lands within a few ulps of the logits (1e-6 for logits
 * near 10); a larger positive value is a broken sampler.
 */
export const LOGPROB_ROUNDING = 1e-4;

function checkSample(result: SampleResult, maxTokens: number, vocabSize: number): string | undefined {
  if (!Array.isArray(result.tokens) || !Array.isArray(result.logprobs)) return 'tokens and logprobs must be arrays';
  if (result.tokens.length !== result.logprobs.length) {
    return `returned ${result.tokens.length} tokens but ${result.logprobs.length} logprobs`;
  }
  if (result.tokens.length > maxTokens)
    return `returned ${result.tokens.length} tokens, more than maxTokens ${maxTokens}`;
  const badToken = result.tokens.find((id) => !Number.isInteger(id) || id < 0 || id >= vocabSize);
  if (badToken !== undefined) return `returned token id ${badToken} outside the vocabulary [0, ${vocabSize})`;
  const badLogprob = result.logprobs.find((value) => !Number.isFinite(value) || value > LOGPROB_ROUNDING);
  if (badLogprob !== undefined) return `returned logprob ${badLogprob}, expected a finite value <= 0`;
  return undefined;
}

/** Runs one episode to its end and returns the unscored trajectory. */
export async function runRollout<Row>(options: RolloutOptions<Row>): Promise<Trajectory> {
  const { policy, env, row, random } = options;
  // A stateful renderer is forked so that a shared instance never mixes two conversations.
  const renderer = options.renderer.fork?.() ?? options.renderer;
  const sampling = options.sampling ?? PAPER_SAMPLING;
  const tokenBudget = options.tokenBudget ?? DEFAULT_TOKEN_BUDGET;
  const maxTurns = options.maxTurns ?? 64;
  const sessionId = options.sessionId ?? `${options.rowId}/${options.groupIndex}`;
  const tokenizer = policy.tokenizer;
  const endTexts = renderer.stopTokenIds.map((id) => tokenizer.decode([id]));

  const profile = activeProfile();
  // Only the synchronous part of an env call is timed: its awaits let other rollouts run.
  let phaseStart = profile ? performance.now() : 0;
  const reset = env.reset(row);
  profile?.add(PHASE.env, phaseStart);
  const messages: Message[] = [...(await reset)];
  phaseStart = profile ? performance.now() : 0;
  const tokens = renderer.renderPrompt(messages);
  profile?.add(PHASE.render, phaseStart);
  const promptLength = tokens.length;
  // The budget the context leaves: every token of the sequence must fit the policy's positions.
  const budget = Math.min(tokenBudget, (policy.maxSequenceLength ?? Number.POSITIVE_INFINITY) - promptLength);
  const trainable: number[] = new Array(promptLength).fill(0);
  const logprobs: number[] = new Array(promptLength).fill(0);
  const turns: Turn[] = [];
  const errors: string[] = [];
  let stopReason: StopReason | undefined;
  const used = (): number => tokens.length - promptLength;
  if (budget <= 0) {
    errors.push(
      `the prompt's ${promptLength} tokens leave no room in the policy's context of ${policy.maxSequenceLength} tokens`,
    );
    stopReason = 'error';
  }

  try {
    while (stopReason === undefined) {
      if (turns.length >= maxTurns) {
        stopReason = 'max_turns';
        break;
      }
      const remaining = budget - used();
      if (remaining <= 0) {
        stopReason = 'token_budget';
        break;
      }
      const maxTokens = Math.min(remaining, sampling.maxTokensPerTurn ?? Infinity);
      const params: SamplingParams = {
        temperature: sampling.temperature,
        topK: sampling.topK,
        topP: sampling.topP,
        maxTokens,
        stop: env.stop,
        stopTokenIds: renderer.stopTokenIds,
      };
      let result: SampleResult;
      try {
        const drawn = random.nextUint32();
        const seed = turns.length === 0 && options.firstTurnSeed !== undefined ? options.firstTurnSeed : drawn;
        result = await policy.sample({ tokens: tokens.slice(), params, seed, sessionId });
      } catch (error) {
        errors.push(`policy.sample failed on turn ${turns.length}: ${errorMessage(error)}`);
        stopReason = 'error';
        break;
      }
      const problem = checkSample(result, maxTokens, tokenizer.vocabSize);
      if (problem !== undefined) {
        errors.push(`policy.sample on turn ${turns.length} ${problem}`);
        stopReason = 'error';
        break;
      }

      const start = tokens.length;
      for (let i = 0; i < result.tokens.length; i++) {
        tokens.push(result.tokens[i]!);
        trainable.push(1);
        logprobs.push(Math.min(0, result.logprobs[i]!));
      }
      phaseStart = profile ? performance.now() : 0;
      const decoded = tokenizer.decode(result.tokens);
      profile?.add(PHASE.render, phaseStart);
      const assistant: Message = { role: 'assistant', content: stripEndOfTurn(decoded, endTexts) };
      const turn: Turn = {
        index: turns.length,
        assistant,
        sampled: { start, end: tokens.length },
        toolCalls: [],
        isToolResult: false,
        toolFailed: false,
        truncated: result.finishReason === 'length',
      };
      turns.push(turn);
      messages.push(assistant);

      let step: EnvStep;
      phaseStart = profile ? performance.now() : 0;
      try {
        const pending = env.step(assistant, { final: used() >= budget });
        profile?.add(PHASE.env, phaseStart);
        step = await pending;
      } catch (error) {
        errors.push(`env.step failed on turn ${turn.index}: ${errorMessage(error)}`);
        stopReason = 'error';
        break;
      }
      turn.toolCalls = step.toolCalls;
      const replies = step.replies ?? (step.reply === undefined ? [] : [step.reply]);
      if (step.done || replies.length === 0) {
        if (!step.done) errors.push(`env.step on turn ${turn.index} returned neither done nor a reply`);
        stopReason = step.done ? (step.stopReason ?? 'answered') : 'error';
        break;
      }

      // Several replies (one per tool call) are rendered together: the turn stays one assistant message.
      phaseStart = profile ? performance.now() : 0;
      const replyTokens = renderer.renderReply(replies.length === 1 ? replies[0]! : replies, {
        role: 'assistant',
        content: decoded,
      });
      profile?.add(PHASE.render, phaseStart);
      const space = budget - used();
      const kept = replyTokens.length > space ? replyTokens.slice(0, space) : replyTokens;
      const envStart = tokens.length;
      for (const id of kept) {
        tokens.push(id);
        trainable.push(0);
        logprobs.push(0);
      }
      turn.env = replies[0];
      if (replies.length > 1) turn.envMessages = replies;
      turn.envSpan = { start: envStart, end: tokens.length };
      turn.isToolResult = step.isToolResult;
      turn.toolFailed = step.toolFailed;
      messages.push(...replies);
      if (kept.length < replyTokens.length) stopReason = 'token_budget';
    }
  } finally {
    policy.release?.(sessionId);
  }

  return {
    rowId: options.rowId,
    groupIndex: options.groupIndex,
    messages,
    tokens,
    promptLength,
    trainable,
    logprobs,
    turns,
    turnRewards: [],
    outcomeReward: 0,
    rewardComponents: {},
    stopReason: stopReason ?? 'error',
    errors,
  };
}
