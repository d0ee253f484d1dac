/**
 * The k3 estimator of KL(policy || reference) from samples of the policy (Schulman, "Approximating
 * KL divergence"), as in PAPER.md section 4: `KL_t = exp(ref - logp) - (ref - logp) - 1`. Always
 * >= 0, unbiased, and exactly 0 where the two logprobs agree.
 */

/** k3 KL estimate of one token from the policy's and the reference's logprob of it. */
export function klK3(logprob: number, refLogprob: number): number {
  const delta = refLogprob - logprob;
  return Math.exp(delta) - delta - 1;
}

/** Derivative of `klK3` with respect to the policy logprob: `1 - exp(ref - logp)`. */
export function klK3Gradient(logprob: number, refLogprob: number): number {
  return 1 - Math.exp(refLogprob - logprob);
}
