/**
 * TEST SUPPORT: a few MT-GRPO-style optimiser steps against any Backend, recording everything a
 * comparison needs (sampled tokens and logprobs, losses, learner logprobs, optimiser metrics).
 * Two-turn episodes: the policy samples turn 1, a fixed environment reply is appended as tokens,
 * the policy samples turn 2; the turn reward scores turn 1, the outcome reward the whole episode,
 * and turn-1 tokens get norm(R^O) + norm(R^T) while turn-2 tokens get norm(R^O) (PAPER.md s3).
 * Optimiser metrics are recorded without the `tinker/*` network counters of a Tinker client.
 */
import type { Backend } from '../backends/backend.js';
import type { AdamParams, Datum, LossSpec } from '../training-types.js';
import type { Message } from '../types.js';

/** What one run of the scenario produced. */
export interface ScenarioTrace {
  sampledTokens: number[][];
  sampledLogprobs: number[][];
  losses: number[];
  learnerLogprobs: number[][][];
  optimMetrics: Record<string, number>[];
}

/** Options of the scenario. */
export interface ScenarioOptions {
  steps?: number;
  groupSize?: number;
  temperature?: number;
  loss?: LossSpec;
  adam?: AdamParams;
}

const DEFAULT_ADAM: AdamParams = {
  learningRate: 0.05,
  beta1: 0.9,
  beta2: 0.99,
  eps: 1e-8,
  weightDecay: 0.01,
  gradClipNorm: 1,
};

function normalise(values_G: number[]): number[] {
  const mean = values_G.reduce((a, b) => a + b, 0) / values_G.length;
  const variance = values_G.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, values_G.length - 1);
  return values_G.map((value) => (value - mean) / (Math.sqrt(variance) + 1e-4));
}

/** Runs the scenario on `backend` and returns its trace. */
export async function runMtGrpoScenario(backend: Backend, options: ScenarioOptions = {}): Promise<ScenarioTrace> {
  const steps = options.steps ?? 3;
  const groupSize = options.groupSize ?? 4;
  const temperature = options.temperature ?? 1;
  const loss: LossSpec = options.loss ?? {
    kind: 'ppo',
    clipLow: 0.2,
    clipHigh: 0.2,
    klBeta: 0,
    normalization: 'token-mean',
  };
  const tokenizer = backend.tokenizer;
  const renderer = backend.renderer;
  const policy = backend.policy();
  const trace: ScenarioTrace = {
    sampledTokens: [],
    sampledLogprobs: [],
    losses: [],
    learnerLogprobs: [],
    optimMetrics: [],
  };
  const params = { temperature, topK: 0, topP: 1, maxTokens: 12, stop: ['.'], stopTokenIds: renderer.stopTokenIds };
  for (let step = 0; step < steps; step++) {
    const messages: Message[] = [{ role: 'user', content: `Question ${step}: say something in lowercase letters.` }];
    const episodes = await Promise.all(
      Array.from({ length: groupSize }, async (_, g) => {
        // One conversation per episode, as the rollout loop does (template renderers keep state).
        const conversation = renderer.fork?.() ?? renderer;
        const prompt = conversation.renderPrompt(messages);
        const first = await policy.sample({
          tokens: prompt,
          params,
          seed: 1000 * step + 10 * g + 1,
          sessionId: `s${step}-${g}`,
        });
        const reply = conversation.renderReply(
          { role: 'user', content: '<result>ok</result>' },
          { role: 'assistant', content: tokenizer.decode(first.tokens) },
        );
        const second = await policy.sample({
          tokens: [...prompt, ...first.tokens, ...reply],
          params,
          seed: 1000 * step + 10 * g + 2,
          sessionId: `s${step}-${g}`,
        });
        return { prompt, first, reply, second };
      }),
    );
    const turnRewards_G = episodes.map(
      ({ first }) => (tokenizer.decode(first.tokens).match(/[a-z]/g)?.length ?? 0) / 4,
    );
    const outcomeRewards_G = episodes.map(
      ({ second }) => (tokenizer.decode(second.tokens).includes('.') ? 1 : 0) + second.tokens.length / 20,
    );
    const outcome_G = normalise(outcomeRewards_G);
    const turn_G = normalise(turnRewards_G);
    const data: Datum[] = episodes.map(({ prompt, first, reply, second }, g) => {
      const tokens = [...prompt, ...first.tokens, ...reply, ...second.tokens];
      const trainable_T = [
        ...prompt.map(() => 0),
        ...first.tokens.map(() => 1),
        ...reply.map(() => 0),
        ...second.tokens.map(() => 1),
      ];
      const logprobs_T = [...prompt.map(() => 0), ...first.logprobs, ...reply.map(() => 0), ...second.logprobs];
      const advantages_T = [
        ...prompt.map(() => 0),
        ...first.tokens.map(() => outcome_G[g]! + turn_G[g]!),
        ...reply.map(() => 0),
        ...second.tokens.map(() => outcome_G[g]!),
      ];
      trace.sampledTokens.push([...first.tokens, ...second.tokens]);
      trace.sampledLogprobs.push([...first.logprobs, ...second.logprobs]);
      return {
        inputTokens: tokens.slice(0, -1),
        targetTokens: tokens.slice(1),
        weights: trainable_T.slice(1),
        oldLogprobs: logprobs_T.slice(1),
        advantages: advantages_T.slice(1),
      };
    });
    // mu = 2 optimiser steps per batch (PAPER.md section 4).
    for (let inner = 0; inner < 2; inner++) {
      const result = await backend.forwardBackward(data, loss, { temperature });
      trace.losses.push(result.loss);
      trace.learnerLogprobs.push(result.logprobs);
      const metrics = await backend.optimStep(options.adam ?? DEFAULT_ADAM);
      // A Tinker client's `tinker/*` counters describe the network (retries, waits), not the model.
      trace.optimMetrics.push(
        Object.fromEntries(Object.entries(metrics).filter(([key]) => !key.startsWith('tinker/'))),
      );
    }
  }
  return trace;
}
