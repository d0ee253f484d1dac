/**
 * Datums and losses between turnwise and the Tinker wire format (tinker-protocol.md section 1.7).
 *
 * Tinker losses are plain sums over tokens and datums at temperature 1, so on a standard server the
 * client folds the `LossSpec` normalisation into the values it sends: advantages (and
 * cross-entropy weights) are divided by the number of trained tokens of the whole call
 * (`token-mean`) or by sequence length times sequence count (`sequence-mean`); PPO clip epsilons
 * become ratio bounds `1 - clipLow`, `1 + clipHigh`. A turnwise server instead receives the exact
 * `LossSpec` in the `turnwise` extension and unscaled values, which keeps remote steps bit-exact.
 */
import type { Datum, LossSpec } from '../../training-types.js';
import { ConfigError, DataError } from '../../errors.js';
import { modelInput, type TensorData, type WireDatum, type WireLossFn } from './wire-schema.js';
import { normalizationCoefficients } from '../../loss/loss-normalization.js';

/** The wire name of a loss. */
export function wireLossFn(loss: LossSpec): WireLossFn {
  return loss.kind;
}

/** The `loss_fn_config` a standard Tinker server expects for a loss. */
export function wireLossConfig(loss: LossSpec): Record<string, number> | undefined {
  if (loss.kind !== 'ppo') return undefined;
  return { clip_low_threshold: 1 - loss.clipLow, clip_high_threshold: 1 + loss.clipHigh };
}

function floatTensor(values: number[]): TensorData {
  return { data: values, dtype: 'float32', shape: [values.length] };
}

function intTensor(values: number[]): TensorData {
  return { data: values, dtype: 'int64', shape: [values.length] };
}

/** Checks that every per-position array of a datum has the input's length. */
export function checkDatum(datum: Datum, index: number): void {
  const length = datum.inputTokens.length;
  const fields: [string, number[] | undefined][] = [
    ['targetTokens', datum.targetTokens],
    ['weights', datum.weights],
    ['oldLogprobs', datum.oldLogprobs],
    ['advantages', datum.advantages],
    ['refLogprobs', datum.refLogprobs],
  ];
  for (const [name, values] of fields) {
    if (values !== undefined && values.length !== length) {
      throw new DataError(
        `datum ${index}: ${name} has ${values.length} entries, expected ${length} (one per input token)`,
      );
    }
  }
}

/**
 * Per-position scale that turns a normalised loss into Tinker's sum over the whole call: the loss
 * module's reduction coefficients, so a Tinker service and the local engine reduce alike.
 */
export function normalisationScales(data: Datum[], loss: LossSpec): number[][] {
  return normalizationCoefficients(data, loss.kind === 'cross_entropy' ? 'token-mean' : loss.normalization);
}

/** Encodes datums for a standard Tinker server: normalisation folded into advantages / weights. */
export function encodeStandardData(data: Datum[], loss: LossSpec): WireDatum[] {
  data.forEach(checkDatum);
  if (loss.kind === 'ppo' && loss.klBeta !== 0) {
    throw new ConfigError(
      `loss.klBeta is ${loss.klBeta}, but Tinker loss functions have no KL term; fold the KL into the advantages ` +
        `instead (runRl does with reference: TinkerBackend.baseReference()) and send klBeta 0`,
    );
  }
  const scales = normalisationScales(data, loss);
  return data.map((datum, b) => {
    const scale = scales[b]!;
    const inputs: Record<string, TensorData> = { target_tokens: intTensor(datum.targetTokens) };
    if (loss.kind === 'cross_entropy') {
      inputs.weights = floatTensor(scale);
    } else {
      if (!datum.oldLogprobs || !datum.advantages) {
        throw new DataError(`datum ${b}: loss ${loss.kind} needs oldLogprobs and advantages`);
      }
      inputs.logprobs = floatTensor(datum.oldLogprobs.map((value, t) => (datum.weights[t] === 0 ? 0 : value)));
      inputs.advantages = floatTensor(datum.advantages.map((value, t) => value * scale[t]!));
    }
    return { model_input: modelInput(datum.inputTokens), loss_fn_inputs: inputs };
  });
}

/** Encodes datums for a turnwise server: every field unscaled, the reference logprobs included. */
export function encodeExactData(data: Datum[]): WireDatum[] {
  data.forEach(checkDatum);
  return data.map((datum) => {
    const inputs: Record<string, TensorData> = {
      target_tokens: intTensor(datum.targetTokens),
      weights: floatTensor(datum.weights),
    };
    if (datum.oldLogprobs) inputs.logprobs = floatTensor(datum.oldLogprobs);
    if (datum.advantages) inputs.advantages = floatTensor(datum.advantages);
    if (datum.refLogprobs) inputs.ref_logprobs = floatTensor(datum.refLogprobs);
    return { model_input: modelInput(datum.inputTokens), loss_fn_inputs: inputs };
  });
}

/** Decodes a wire datum into a backend datum (weights default to 1 everywhere, as on SkyRL). */
export function decodeWireDatum(wire: WireDatum, index: number): Datum {
  const inputTokens = wire.model_input.chunks.flatMap((chunk) => chunk.tokens);
  const length = inputTokens.length;
  const field = (name: string): number[] | undefined => {
    const tensor = wire.loss_fn_inputs[name];
    if (tensor === undefined) return undefined;
    if (tensor.data.length !== length) {
      throw new DataError(
        `data[${index}].loss_fn_inputs.${name} has ${tensor.data.length} values, ` +
          `expected ${length} (one per model_input token)`,
      );
    }
    return tensor.data;
  };
  const targetTokens = field('target_tokens');
  if (!targetTokens) throw new DataError(`data[${index}].loss_fn_inputs.target_tokens is missing`);
  if (targetTokens.some((token) => !Number.isInteger(token) || token < 0)) {
    throw new DataError(`data[${index}].loss_fn_inputs.target_tokens must hold non-negative integer token ids`);
  }
  const unknown = Object.keys(wire.loss_fn_inputs).filter((key) => !KNOWN_INPUTS.has(key));
  if (unknown.length > 0) {
    throw new DataError(
      `data[${index}].loss_fn_inputs has unknown keys ${unknown.join(', ')}; ` +
        `expected some of ${[...KNOWN_INPUTS].join(', ')}`,
    );
  }
  const datum: Datum = { inputTokens, targetTokens, weights: field('weights') ?? new Array<number>(length).fill(1) };
  const oldLogprobs = field('logprobs');
  const advantages = field('advantages');
  const refLogprobs = field('ref_logprobs');
  if (oldLogprobs) datum.oldLogprobs = oldLogprobs;
  if (advantages) datum.advantages = advantages;
  if (refLogprobs) datum.refLogprobs = refLogprobs;
  return datum;
}

const KNOWN_INPUTS = new Set(['target_tokens', 'weights', 'logprobs', 'advantages', 'ref_logprobs']);

/** Serialised size of a wire datum in bytes (for chunking by body size). */
export function wireDatumBytes(datum: WireDatum): number {
  return Buffer.byteLength(JSON.stringify(datum));
}

/** Splits wire datums into chunks of at most `maxDatums` datums and about `maxBytes` bytes each. */
export function chunkWireData(data: WireDatum[], maxDatums: number, maxBytes: number): WireDatum[][] {
  const chunks: WireDatum[][] = [];
  let current: WireDatum[] = [];
  let currentBytes = 0;
  for (const datum of data) {
    const bytes = wireDatumBytes(datum) + 1;
    if (current.length > 0 && (current.length >= maxDatums || currentBytes + bytes > maxBytes)) {
      chunks.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push(datum);
    currentBytes += bytes;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
