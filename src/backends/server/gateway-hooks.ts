/**
 * What a training run asks of the OpenAI routes when they serve its policy to agents (the
 * gateway, src/gateway/): each chat completion reported with the exact prompt and completion token
 * ids and sampling logprobs, keyed by the rollout the agent names (in the URL,
 * `/rollouts/<id>/v1/...`, or the `x-turnwise-rollout` header); the run's sampling settings in
 * place of the agent's (the loss needs logprobs at the run's temperature); and each rollout's
 * remaining token budget as a cap on `max_tokens`.
 */
import type { Message } from '../../types.js';

/** One chat completion served for a rollout. */
export interface ChatCompletionRecord {
  /** The rollout the request named, if any. */
  rollout: string | undefined;
  /** The request's messages (tool calls and tool messages included). */
  messages: Message[];
  /** The prompt as rendered, prefill included. */
  promptTokens: number[];
  /** One entry per choice. */
  choices: {
    tokens: number[];
    logprobs: number[];
    finishReason: 'stop' | 'length' | 'tool_calls';
    message: Message;
  }[];
}

/** The hooks of a gateway. */
export interface GatewayHooks {
  /** A rollout's sampling settings, in place of the request's (temperature, top-k, top-p); undefined: the request's. */
  sampling?(rollout: string | undefined): { temperature: number; topK: number; topP: number } | undefined;
  /** The most completion tokens a rollout may still sample (undefined: no cap). */
  maxTokens?(rollout: string | undefined): number | undefined;
  /** The seed of a rollout's next call (its own generator, so a seeded run reproduces); undefined: the request's. */
  seed?(rollout: string | undefined): number | undefined;
  /** Called once per served chat completion, after sampling. */
  onCompletion?(record: ChatCompletionRecord): void;
}
