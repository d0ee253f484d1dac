/**
 * Draws one token from a row of logits with temperature, top-k and top-p (nucleus) filtering, the
 * order Hugging Face applies them, consuming exactly one uniform of a seeded generator per draw.
 * The algorithm is the reference sampling kernel's (kernels/reference/sampling.ts); the reported
 * logprob is over the WHOLE vocabulary under the temperature, the quantity training computes.
 */
import type { FloatArray } from './kernels/kernels.js';
import { RowSampler, type TokenDraw, type TokenFilter } from './kernels/reference/sampling.js';
import type { Random } from '../random.js';

export type { TokenDraw, TokenFilter };

/** Reusable buffers of the sampler for a vocabulary of V. */
export class TokenSampler {
  private readonly rows: RowSampler;

  constructor(readonly V: number) {
    this.rows = new RowSampler(V);
  }

  /**
   * Draws from logits[offset .. offset+V) using exactly one uniform draw of `random`. `lse`, when
   * known (logsumexp of logits/temperature), lets an unfiltered draw stop scanning at the drawn token.
   */
  draw(logits: FloatArray, offset: number, filter: TokenFilter, random: Random, lse?: number): TokenDraw {
    return this.rows.draw(logits, offset, filter, random.next(), lse);
  }
}
