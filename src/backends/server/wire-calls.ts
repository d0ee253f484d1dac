/**
 * Server side of the loss mapping: runs a decoded forward / forward_backward request on a Backend.
 * Requests with the `turnwise` extension carry the exact `LossSpec` and temperature and are run as
 * they are (bit-exact with an in-process call). Standard Tinker requests mean a plain sum over
 * tokens at temperature 1 (tinker-protocol.md section 1.7); the Backend contract has no sum
 * normalisation, so they are run as a token-mean whose advantages are multiplied by the number of
 * trained tokens (equal up to float rounding), and `cross_entropy` as an importance-sampling step
 * at ratio 1 against a forward pass, which gives the gradient of the summed NLL.
 */
import type { Backend } from '../backend.js';
import type { Datum, ForwardBackwardResult, LossSpec } from '../../training-types.js';
import type { ForwardBackwardOutput, TensorData, TurnwiseExtension } from '../tinker/wire-schema.js';
import { HttpError } from './http-io.js';

/** Which loss and temperature a request asks for. */
export interface DecodedLoss {
  lossFn: string;
  config: Record<string, number>;
  extension?: TurnwiseExtension;
}

const CONFIG_KEYS: Record<string, string[]> = {
  cross_entropy: [],
  importance_sampling: [],
  ppo: ['clip_low_threshold', 'clip_high_threshold'],
};

/**
 * Checks the loss name and config keys of a request; throws naming the problem, with status 400
 * (422 where the emulated service validates like FastAPI, as SkyRL does).
 */
export function checkLoss(decoded: DecodedLoss, forwardOnly: boolean, status: 400 | 422 = 400): void {
  const allowed = CONFIG_KEYS[decoded.lossFn];
  if (!allowed)
    throw new HttpError(
      status,
      `loss_fn ${JSON.stringify(decoded.lossFn)} is not supported; ` +
        `expected one of ${Object.keys(CONFIG_KEYS).join(', ')}`,
    );
  const unknown = Object.keys(decoded.config).filter((key) => !allowed.includes(key));
  if (unknown.length > 0) {
    throw new HttpError(
      status,
      `loss_fn_config keys ${unknown.join(', ')} are not valid for ` +
        `${decoded.lossFn}; allowed: ${allowed.join(', ') || '(none)'}`,
    );
  }
  const spec = decoded.extension?.loss;
  if (!forwardOnly && decoded.extension && !spec)
    throw new HttpError(400, 'forward_backward_input.turnwise.loss is required on forward_backward');
  if (spec && spec.kind !== decoded.lossFn)
    throw new HttpError(400, `turnwise.loss.kind ${spec.kind} does not match loss_fn ${decoded.lossFn}`);
}

/** Logprobs as the `loss_fn_outputs` of a ForwardBackwardOutput. */
export function logprobOutputs(logprobs_B_T: number[][]): Record<string, TensorData>[] {
  return logprobs_B_T.map((row) => ({ logprobs: { data: row, dtype: 'float32', shape: [row.length] } }));
}

/** Builds the wire output of a finished forward_backward. */
export function forwardBackwardOutput(
  result: ForwardBackwardResult,
  logprobs_B_T: number[][],
  exact: boolean,
): ForwardBackwardOutput {
  const metrics: Record<string, number> = { 'loss:sum': result.loss };
  for (const [key, value] of Object.entries(result.metrics)) metrics[`${key}:mean`] = value;
  const output: ForwardBackwardOutput = {
    loss_fn_output_type: 'ArrayRecord',
    loss_fn_outputs: logprobOutputs(logprobs_B_T),
    metrics,
  };
  if (exact) output.turnwise = { loss: result.loss, metrics: result.metrics };
  return output;
}

/** Runs a forward_backward given with the exact `LossSpec` (the turnwise extension). */
export function runExact(
  backend: Backend,
  data: Datum[],
  loss: LossSpec,
  temperature: number,
): Promise<ForwardBackwardResult> {
  return backend.forwardBackward(data, loss, { temperature });
}

/** Runs a standard Tinker forward_backward (sum over tokens at temperature 1). */
export async function runStandard(
  backend: Backend,
  data: Datum[],
  decoded: DecodedLoss,
  explicitWeights: boolean[],
): Promise<ForwardBackwardResult> {
  // Binary trained-token mask: the sent weights, else (policy-gradient losses) the sampled positions.
  const masked = data.map((datum, b) => {
    const mask = datum.weights.map((weight, t) => {
      if (explicitWeights[b] || decoded.lossFn === 'cross_entropy') return weight > 0 ? 1 : 0;
      return (datum.advantages?.[t] ?? 0) !== 0 || (datum.oldLogprobs?.[t] ?? 0) !== 0 ? 1 : 0;
    });
    return { datum, mask };
  });
  const trained = masked.reduce((sum, { mask }) => sum + mask.reduce((a: number, b: number) => a + b, 0), 0);
  const count = Math.max(1, trained);
  if (decoded.lossFn === 'cross_entropy') {
    const current = await backend.forward(data, { temperature: 1 });
    const rescaled: Datum[] = masked.map(({ datum, mask }, b) => ({
      inputTokens: datum.inputTokens,
      targetTokens: datum.targetTokens,
      weights: mask,
      oldLogprobs: current[b]!,
      advantages: datum.weights.map((weight) => weight * count),
    }));
    const result = await backend.forwardBackward(
      rescaled,
      { kind: 'importance_sampling', normalization: 'token-mean' },
      { temperature: 1 },
    );
    let loss = 0;
    data.forEach((datum, b) => {
      datum.weights.forEach((weight, t) => {
        loss += -weight * result.logprobs[b]![t]!;
      });
    });
    return { logprobs: result.logprobs, loss, metrics: {} };
  }
  const missing = data.findIndex((datum) => !datum.oldLogprobs || !datum.advantages);
  if (missing >= 0)
    throw new HttpError(400, `data[${missing}].loss_fn_inputs needs logprobs and advantages for ${decoded.lossFn}`);
  const low = decoded.config.clip_low_threshold ?? 0.8;
  const high = decoded.config.clip_high_threshold ?? 1.2;
  const loss: LossSpec =
    decoded.lossFn === 'ppo'
      ? { kind: 'ppo', clipLow: 1 - low, clipHigh: high - 1, klBeta: 0, normalization: 'token-mean' }
      : { kind: 'importance_sampling', normalization: 'token-mean' };
  const rescaled: Datum[] = masked.map(({ datum, mask }) => ({
    ...datum,
    weights: mask,
    advantages: datum.advantages!.map((advantage, t) => advantage * (datum.weights[t] ?? 1) * count),
  }));
  return backend.forwardBackward(rescaled, loss, { temperature: 1 });
}
