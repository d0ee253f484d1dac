/**
 * `TinkerReferenceSampler`: the frozen base model of the KL term on a Tinker-protocol service, as
 * tinker-cookbook does it: a sampling session on `base_model` (the weights without the LoRA being
 * trained) and, per datum, its full sequence (inputs plus the last target) sent as a prompt with
 * `prompt_logprobs: true` and `max_tokens: 1` (the SDK's `compute_logprobs`). Prompt logprobs are at
 * temperature 1, so the sampled logprobs they are compared with must be too. The KL goes into the
 * advantages (`loss/kl-penalty.ts`): Tinker's loss functions have no KL term.
 */
import type { ReferencePolicy } from '../backend.js';
import type { Datum } from '../../training-types.js';
import { ConfigError, RemoteError } from '../../errors.js';
import { resolveFuture, type ResolveOptions } from './future-resolver.js';
import type { TinkerTransport } from './transport.js';
import { modelInput, type SampleResponse, type UntypedFuture } from './wire-schema.js';

/** Where the sampler lives and how it awaits futures. */
export interface TinkerReferenceOptions {
  transport: TinkerTransport;
  sessionId: string;
  baseModel: string;
  /** A `sampling_session_seq_id` not yet used in the session. */
  samplingSessionSeqId: number;
  futures: Omit<ResolveOptions, 'what' | 'resubmit'>;
}

/** Base-model logprobs of datums through a sampling session on `base_model`. */
export class TinkerReferenceSampler implements ReferencePolicy {
  readonly klPenalty = 'advantages';
  private session: Promise<string> | undefined;
  private nextSeqId = 0;

  constructor(private readonly options: TinkerReferenceOptions) {}

  async forward(data: Datum[], options: { temperature: number }): Promise<number[][]> {
    if (options.temperature !== 1)
      throw new ConfigError(
        `temperature ${options.temperature}: a Tinker sampler's prompt logprobs (the KL reference) are at ` +
          `temperature 1, so rl.temperature must be 1 when loss.klBeta > 0`,
      );
    const sessionId = await this.samplingSession();
    return Promise.all(data.map((datum, b) => this.promptLogprobs(sessionId, datum, b)));
  }

  async close(): Promise<void> {}

  private samplingSession(): Promise<string> {
    if (!this.session) {
      const { transport, sessionId, baseModel, samplingSessionSeqId } = this.options;
      this.session = transport
        .postOk<{ sampling_session_id: string }>('/api/v1/create_sampling_session', {
          session_id: sessionId,
          sampling_session_seq_id: samplingSessionSeqId,
          base_model: baseModel,
          type: 'create_sampling_session',
        })
        .then((created) => created.sampling_session_id);
      this.session.catch(() => (this.session = undefined));
    }
    return this.session;
  }

  /** Logprob of every target of `datum` under the base model: prompt logprobs of its full sequence. */
  private async promptLogprobs(sessionId: string, datum: Datum, b: number): Promise<number[]> {
    const sequence = [...datum.inputTokens, datum.targetTokens[datum.targetTokens.length - 1]!];
    const seqId = this.nextSeqId++;
    const body = {
      num_samples: 1,
      prompt: modelInput(sequence),
      sampling_params: { max_tokens: 1, seed: 0, temperature: 1, top_k: -1, top_p: 1 },
      sampling_session_id: sessionId,
      seq_id: seqId,
      prompt_logprobs: true,
      topk_prompt_logprobs: 0,
      type: 'sample',
    };
    const { transport, futures } = this.options;
    const idempotencyKey = transport.newIdempotencyKey();
    const submit = async () =>
      (await transport.postOk<UntypedFuture>('/api/v1/asample', body, { idempotencyKey })).request_id;
    const what = `reference asample seq_id ${seqId}`;
    const response = await resolveFuture<SampleResponse>(transport, await submit(), {
      ...futures,
      resubmit: submit,
      what,
    });
    const logprobs = response?.prompt_logprobs;
    if (!Array.isArray(logprobs) || logprobs.length !== sequence.length)
      throw new RemoteError(
        `${what} returned ${Array.isArray(logprobs) ? logprobs.length : 'no'} prompt logprobs ` +
          `for datum ${b}, expected ${sequence.length} (one per prompt token)`,
      );
    return logprobs.slice(1).map((value, t) => {
      if (typeof value !== 'number' || !Number.isFinite(value))
        throw new RemoteError(`${what}: prompt logprob ${t + 1} of datum ${b} is ${value}, expected a number`);
      return value;
    });
  }
}
