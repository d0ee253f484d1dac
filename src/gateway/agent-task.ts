/**
 * A task whose rollouts are agents the user already has: code written with the OpenAI SDK or the
 * Vercel AI SDK (any client of the OpenAI chat API), pointed at the gateway, a loopback HTTP server
 * in front of the policy being trained. Each rollout gets its own base URL
 * (`http://127.0.0.1:PORT/rollouts/<id>/v1`), so any client library works unchanged; every chat
 * completion it makes is recorded with its exact prompt and completion token ids and sampling
 * logprobs, and the rollout becomes one trajectory whose turns are the assistant messages
 * (trajectory-from-calls.ts), scored by the task's rubric and trained with any estimator. The
 * gateway samples at the run's temperature, top-k and top-p whatever the agent asks (the loss
 * needs logprobs at the run's settings), seeds each call from the rollout's own generator, and caps
 * `max_tokens` by what is left of the rollout's token budget.
 */
import type { Backend } from '../backends/backend.js';
import type { ChatCompletionRecord } from '../backends/server/gateway-hooks.js';
import { createTinkerServer, type TinkerServer } from '../backends/server/tinker-server.js';
import { ConfigError, errorMessage } from '../errors.js';
import type { Rubric } from '../rewards/rubric.js';
import type { ChatRenderer } from '../rollout/chat-renderer.js';
import type { Policy } from '../rollout/policy.js';
import type { RolloutContext, TrainingTask } from '../train/task.js';
import type { Trajectory } from '../types.js';
import { trajectoryFromCalls, type RecordedCall } from './trajectory-from-calls.js';

/** What an agent gets for one rollout. */
export interface AgentContext<Row> {
  /** OpenAI-compatible base URL of this rollout (`.../rollouts/<id>/v1`). */
  baseUrl: string;
  /** The model name to ask for. */
  model: string;
  /** Any non-empty string (the gateway listens on loopback only and checks no key). */
  apiKey: string;
  row: Row;
  /** Aborted when the rollout times out. */
  signal: AbortSignal;
}

/** Options of `createAgentTask`. */
export interface AgentTaskOptions<Row> {
  name: string;
  /** The rows of a split; throws for an unknown split. */
  rows(split: string): Row[];
  rowId(row: Row): string;
  answers?(row: Row): string[];
  family?(row: Row): string;
  /** Runs the agent on one row against `baseUrl`; what it returns is ignored (the calls are the trajectory). */
  agent(context: AgentContext<Row>): Promise<unknown>;
  /** Scores the recorded turns (turn rewards) and the outcome. */
  rubric: Rubric<Row>;
  /** The model name the gateway serves; default `turnwise-policy`. */
  modelName?: string;
  /** A rollout still running after this long is aborted and recorded as an error; default 120 s. */
  timeoutMs?: number;
}

interface RolloutState {
  calls: RecordedCall[];
  remaining: number;
  /** The rollout's sampling settings (training or evaluation), in place of the agent's. */
  sampling: { temperature: number; topK: number; topP: number };
  next: () => number;
}

/** A sampling-only Backend around a policy, for the gateway's server: training calls are refused. */
function samplingOnly(policy: Policy, renderer: ChatRenderer): Backend {
  const refuse = async (): Promise<never> => {
    throw new ConfigError('the gateway serves sampling only; the run trains its own backend');
  };
  return {
    name: 'gateway',
    tokenizer: policy.tokenizer,
    renderer,
    policy: () => policy,
    forward: refuse,
    forwardBackward: refuse,
    optimStep: refuse,
    save: refuse,
    load: refuse,
    close: async () => {},
  };
}

/** A task whose rollouts are the user's agent talking to the policy through the gateway. */
export function createAgentTask<Row>(options: AgentTaskOptions<Row>): TrainingTask<Row> & { close(): Promise<void> } {
  const modelName = options.modelName ?? 'turnwise-policy';
  const rollouts = new Map<string, RolloutState>();
  let gateway: { policy: Policy; server: TinkerServer; url: string } | undefined;

  const record = (completion: ChatCompletionRecord) => {
    const state = completion.rollout === undefined ? undefined : rollouts.get(completion.rollout);
    const choice = completion.choices[0];
    if (state === undefined || choice === undefined) return;
    state.remaining -= choice.tokens.length;
    state.calls.push({
      messages: completion.messages,
      promptTokens: completion.promptTokens,
      completionTokens: choice.tokens,
      completionLogprobs: choice.logprobs,
      response: choice.message,
      toolCalls: choice.message.toolCalls ?? [],
      finishReason: choice.finishReason,
    });
  };

  /**
   * The gateway, started once for the task's life (concurrent first rollouts share the start). It
   * samples from the policy of the latest rollout to start: a round's rollouts share one policy, and
   * the next round's replaces it without a restart (restarting the server between rounds reset the
   * agents' pooled connections: ECONNRESET on most rollouts of every other round).
   */
  let current: Policy | undefined;
  let starting: Promise<{ policy: Policy; server: TinkerServer; url: string }> | undefined;
  const gatewayFor = (context: RolloutContext<Row>) => {
    current = context.policy;
    starting ??= (async () => {
      const backend = samplingOnly(context.policy, context.renderer);
      const server = createTinkerServer({
        backend: { ...backend, policy: () => current ?? context.policy },
        modelName,
        gateway: {
          sampling: (rollout) => (rollout === undefined ? undefined : rollouts.get(rollout)?.sampling),
          maxTokens: (rollout) => (rollout === undefined ? undefined : rollouts.get(rollout)?.remaining),
          seed: (rollout) => (rollout === undefined ? undefined : rollouts.get(rollout)?.next()),
          onCompletion: record,
        },
      });
      gateway = { policy: context.policy, server, url: await server.listen(0, '127.0.0.1') };
      return gateway;
    })();
    return starting;
  };

  const runRollout = async (context: RolloutContext<Row>): Promise<Trajectory> => {
    const { url } = await gatewayFor(context);
    const id = context.sessionId;
    const { temperature, topK, topP } = context.sampling;
    const state: RolloutState = {
      calls: [],
      remaining: context.tokenBudget,
      sampling: { temperature, topK, topP },
      next: () => context.random.nextUint32(),
    };
    rollouts.set(id, state);
    const abort = new AbortController();
    const timeoutMs = options.timeoutMs ?? 120_000;
    const timer = setTimeout(() => abort.abort(new Error(`the agent ran longer than ${timeoutMs} ms`)), timeoutMs);
    const errors: string[] = [];
    try {
      await Promise.race([
        options.agent({
          baseUrl: `${url}/rollouts/${encodeURIComponent(id)}/v1`,
          model: modelName,
          apiKey: 'turnwise',
          row: context.row,
          signal: abort.signal,
        }),
        new Promise((_, reject) => abort.signal.addEventListener('abort', () => reject(abort.signal.reason))),
      ]);
    } catch (error) {
      errors.push(`agent: ${errorMessage(error)}`);
    } finally {
      clearTimeout(timer);
      rollouts.delete(id);
      context.policy.release?.(id);
    }
    const spent = state.remaining <= 0;
    const identity = {
      rowId: context.rowId,
      groupIndex: context.groupIndex,
      errors,
      ...(errors.length > 0 ? { stopReason: spent ? ('token_budget' as const) : ('error' as const) } : {}),
    };
    if (state.calls.length > 0) return trajectoryFromCalls(state.calls, identity);
    // No call reached the gateway: a trajectory with nothing to train on, scored as the rubric sees it.
    const filler = context.policy.tokenizer.eosTokenId ?? 0;
    return {
      ...identity,
      stopReason: 'error',
      errors: errors.length > 0 ? errors : ['agent: made no call to the gateway'],
      messages: [],
      tokens: [filler, filler],
      promptLength: 2,
      trainable: [0, 0],
      logprobs: [0, 0],
      turns: [],
      turnRewards: [],
      outcomeReward: 0,
      rewardComponents: {},
    };
  };

  return {
    name: options.name,
    rows: (split) => options.rows(split),
    rowId: (row) => options.rowId(row),
    ...(options.answers && { answers: (row: Row) => options.answers!(row) }),
    ...(options.family && { family: (row: Row) => options.family!(row) }),
    rubric: options.rubric,
    runRollout,
    close: async () => {
      const current = gateway;
      gateway = undefined;
      starting = undefined;
      await current?.server.close();
    },
  };
}
