/**
 * Reference (TypeScript) token sampling: one draw per row of logits with temperature, top-k and
 * top-p (nucleus) filtering, the order Hugging Face applies them (temperature, then top-k, then
 * top-p on what is left), by the inverse CDF at a given uniform. The reported logprob is the
 * token's logprob under softmax(logits / temperature) over the WHOLE vocabulary, the quantity the
 * training forward computes, whatever the filtering.
 */
import type { FloatArray } from '../kernels.js';

/** The filtering part of the sampling parameters. */
export interface TokenFilter {
  temperature: number;
  /** Keep the k most likely tokens; 0 or less = off. */
  topK: number;
  /** Keep the smallest set of most likely tokens whose probability reaches topP; 1 = off. */
  topP: number;
}

/** A drawn token and its logprob under the temperature. */
export interface TokenDraw {
  token: number;
  logprob: number;
}

/** Draws tokens from rows of logits given uniforms; reusable buffers for a vocabulary of V. */
export class RowSampler {
  private readonly weights: Float64Array; // (V) exp(score - max)
  private readonly order: Int32Array; // (V) token ids, most likely first when filtering

  constructor(readonly V: number) {
    this.weights = new Float64Array(V);
    this.order = new Int32Array(V);
  }

  /**
   * Draws from logits[offset .. offset+V) at `uniform` (in [0,1]) of the inverse CDF. `lse`, when
   * known (logsumexp of logits/temperature, e.g. from the logprobs kernel), lets an unfiltered draw
   * stop scanning at the drawn token instead of exponentiating the whole row.
   */
  draw(logits: FloatArray, offset: number, filter: TokenFilter, uniform: number, lse?: number): TokenDraw {
    const { V, weights } = this;
    const invTemperature = 1 / filter.temperature;
    const filtering = (filter.topK > 0 && filter.topK < V) || filter.topP < 1;
    if (!filtering && lse !== undefined && Number.isFinite(lse)) {
      const token = this.drawWithLse(logits, offset, invTemperature, lse, uniform);
      // An lse computed in float32 can be a few ulps below the row's true logsumexp, so a token of
      // probability ~1 came out at +1e-6: a logprob is never above 0, the excess is rounding.
      return { token, logprob: Math.min(0, logits[offset + token]! * invTemperature - lse) };
    }
    let maxLogit = -Infinity;
    for (let v = 0; v < V; v++) {
      const logit = logits[offset + v]!;
      if (logit > maxLogit) maxLogit = logit;
    }
    // weights[v] = exp((logit - max) / temperature): one exp per entry, the only pass with one.
    let total = 0;
    for (let v = 0; v < V; v++) {
      const weight = Math.exp((logits[offset + v]! - maxLogit) * invTemperature);
      weights[v] = weight;
      total += weight;
    }
    const token = filtering ? this.drawFiltered(filter, total, uniform) : this.drawAll(total, uniform);
    // logprob = (logit - max)/T - log(sum exp((logit - max)/T)) = logit/T - logsumexp(logits/T)
    return { token, logprob: (logits[offset + token]! - maxLogit) * invTemperature - Math.log(total) };
  }

  /** Inverse-CDF draw with known normaliser: exponentiates only up to the drawn token. */
  private drawWithLse(
    logits: FloatArray,
    offset: number,
    invTemperature: number,
    lse: number,
    uniform: number,
  ): number {
    const V = this.V;
    let remaining = uniform;
    let last = 0;
    for (let v = 0; v < V; v++) {
      const probability = Math.exp(logits[offset + v]! * invTemperature - lse);
      if (probability > 0) last = v;
      remaining -= probability;
      if (remaining < 0) return v;
    }
    return last; // rounding: the probabilities summed to slightly less than `uniform`
  }

  private drawAll(total: number, uniform: number): number {
    const { V, weights } = this;
    let target = uniform * total;
    let last = 0;
    for (let v = 0; v < V; v++) {
      const weight = weights[v]!;
      if (weight > 0) last = v;
      target -= weight;
      if (target < 0) return v;
    }
    return last; // rounding: the last token with mass
  }

  private drawFiltered(filter: TokenFilter, total: number, uniform: number): number {
    const { weights, order } = this;
    // Candidates, most likely first: exactly the top k, or (top-p alone) a prefix of the sorted
    // vocabulary holding at least topP of the mass; both avoid sorting the whole vocabulary.
    const topK = filter.topK > 0 && filter.topK < this.V;
    let kept = topK ? this.selectTopK(filter.topK) : this.selectMass(filter.topP * total);
    // The mass top-p is measured against: the top k's, or the whole vocabulary's.
    let keptMass = total;
    if (topK) {
      keptMass = 0;
      for (let i = 0; i < kept; i++) keptMass += weights[order[i]!]!;
    }
    if (filter.topP < 1) {
      const goal = filter.topP * keptMass;
      let cumulative = 0;
      let cut = kept;
      for (let i = 0; i < kept; i++) {
        cumulative += weights[order[i]!]!;
        if (cumulative >= goal) {
          cut = i + 1;
          break;
        }
      }
      kept = cut;
      keptMass = cumulative; // the mass of the tokens kept (all candidates if rounding never reached the goal)
    }
    let target = uniform * (keptMass > 0 ? keptMass : total);
    for (let i = 0; i < kept; i++) {
      target -= weights[order[i]!]!;
      if (target < 0) return order[i]!;
    }
    return order[kept - 1]!;
  }

  /** Puts the k most likely tokens into order[0..k), sorted (a size-k min-heap, O(V log k)). */
  private selectTopK(k: number): number {
    const { V, weights, order } = this;
    const better = (a: number, b: number) => weights[a]! > weights[b]! || (weights[a] === weights[b] && a < b);
    let size = 0;
    for (let v = 0; v < V; v++) {
      if (size < k) {
        // sift up: the heap's root is its worst member
        let i = size++;
        order[i] = v;
        while (i > 0) {
          const parent = (i - 1) >> 1;
          if (!better(order[parent]!, order[i]!)) break;
          [order[parent], order[i]] = [order[i]!, order[parent]!];
          i = parent;
        }
      } else if (better(v, order[0]!)) {
        order[0] = v;
        let i = 0;
        for (;;) {
          const left = 2 * i + 1;
          const right = left + 1;
          let worst = i;
          if (left < size && better(order[worst]!, order[left]!)) worst = left;
          if (right < size && better(order[worst]!, order[right]!)) worst = right;
          if (worst === i) break;
          [order[worst], order[i]] = [order[i]!, order[worst]!];
          i = worst;
        }
      }
    }
    order.subarray(0, size).sort((a, b) => (better(a, b) ? -1 : 1));
    return size;
  }

  /** Puts into order[0..n), sorted, every token above a threshold lowered until their mass reaches `mass`. */
  private selectMass(mass: number): number {
    const { V, weights, order } = this;
    let threshold = 1e-2; // weights are relative to the most likely token's (1)
    let count = 0;
    for (;;) {
      count = 0;
      let selected = 0;
      for (let v = 0; v < V; v++) {
        if (weights[v]! >= threshold) {
          order[count++] = v;
          selected += weights[v]!;
        }
      }
      if (selected >= mass || threshold === 0) break;
      threshold = threshold < 1e-30 ? 0 : threshold / 16;
    }
    order.subarray(0, count).sort((a, b) => weights[b]! - weights[a]! || a - b);
    return count;
  }
}

/** tokens(N), logprobs(N) <- one draw per row of logits(N,V) at uniforms(N) (see Kernels.sampleTokens). */
export function sampleTokens(
  tokens: Int32Array,
  logprobs: FloatArray,
  logits: FloatArray,
  uniforms: Float64Array,
  N: number,
  V: number,
  invTemperature: number,
  topK: number,
  topP: number,
): void {
  if (N === 0) return;
  const sampler = new RowSampler(V);
  const filter = { temperature: 1 / invTemperature, topK, topP };
  for (let n = 0; n < N; n++) {
    const draw = sampler.draw(logits, n * V, filter, uniforms[n]!);
    tokens[n] = draw.token;
    logprobs[n] = draw.logprob;
  }
}
