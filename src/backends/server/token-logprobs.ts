/**
 * Per-token logprobs in the two OpenAI shapes: chat's `{token, logprob, bytes, top_logprobs}`
 * entries and the legacy completions arrays. `bytes` are the token's raw bytes from the tokenizer's
 * vocabulary (a byte-level token may hold part of a UTF-8 character), not the UTF-8 of its lossy
 * decoded text; alternatives come from the sampler (`SampleResult.topLogprobs`).
 */
import type { TokenLogprob } from '../../rollout/policy.js';
import type { Tokenizer } from '../../rollout/tokenizer.js';

/** One chat logprob entry. */
export interface ChatLogprob {
  token: string;
  logprob: number;
  bytes: number[];
  top_logprobs: { token: string; logprob: number; bytes: number[] }[];
}

/** How one response names its tokens. */
export class TokenNames {
  constructor(
    private readonly tokenizer: Tokenizer,
    /** vLLM's `return_tokens_as_token_ids`: name tokens `token_id:<id>`. */
    private readonly asIds: boolean,
  ) {}

  /** The token's text (or `token_id:<id>`). */
  piece(token: number): string {
    return this.asIds ? `token_id:${token}` : this.tokenizer.decode([token]);
  }

  /** The token's raw bytes. */
  bytes(token: number): number[] {
    return [...(this.tokenizer.tokenBytes?.(token) ?? new TextEncoder().encode(this.tokenizer.decode([token])))];
  }

  /** A chat `logprobs.content` entry with `count` alternatives. */
  chatEntry(token: number, logprob: number, top: TokenLogprob[] | undefined, count: number): ChatLogprob {
    return {
      token: this.piece(token),
      logprob: finite(logprob),
      bytes: this.bytes(token),
      top_logprobs: (top ?? []).slice(0, count).map((entry) => ({
        token: this.piece(entry.token),
        logprob: finite(entry.logprob),
        bytes: this.bytes(entry.token),
      })),
    };
  }

  /**
   * The legacy completions `top_logprobs` dict of one position: `count` alternatives and the sampled
   * token (OpenAI always includes it, so there may be count + 1 keys).
   */
  legacyTop(token: number, logprob: number, top: TokenLogprob[] | undefined, count: number): Record<string, number> {
    const entries: Record<string, number> = {};
    for (const entry of (top ?? []).slice(0, count)) entries[this.piece(entry.token)] = finite(entry.logprob);
    entries[this.piece(token)] = finite(logprob);
    return entries;
  }
}

/** OpenAI's stand-in for an impossible token (JSON has no -Infinity). */
export function finite(logprob: number): number {
  return Number.isFinite(logprob) ? logprob : -9999;
}
