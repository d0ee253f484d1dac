import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { foldKlPenalty } from '../../loss/kl-penalty.js';
import { resolveConfig } from '../../train/config-load.js';
import { readJsonLines, type StepMetrics } from '../../train/metrics-log.js';
import { runRl } from '../../train/rl-loop.js';
import { BigramTestBackend } from '../../testing/bigram-test-backend.js';
import { connectTestClient, startTestServer } from '../../testing/serve-for-test.js';
import { createToyTask } from '../../testing/toy-task.js';
import type { Datum } from '../../training-types.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

/** A server whose `base_model` sampler serves untrained weights equal to the trained model's start. */
async function setup() {
  const base = new BigramTestBackend({ seed: 1 });
  const test = await startTestServer({ baseBackend: base });
  closers.push(() => test.close());
  const client = await connectTestClient(test.url);
  closers.push(() => client.close());
  return { base, test, client };
}

const adam = { learningRate: 0.5, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0, gradClipNorm: 0 };
const pushed: Datum = { inputTokens: [5, 6, 7], targetTokens: [6, 7, 8], weights: [1, 1, 1] };
const other: Datum = { inputTokens: [20, 21, 22], targetTokens: [21, 22, 23], weights: [1, 1, 1] };

describe('TinkerReferenceSampler (the KL reference on a service)', () => {
  it("gives the base model's logprobs through prompt logprobs, not the trained weights'", async () => {
    const { base, client } = await setup();
    const reference = client.baseReference();
    expect(reference.klPenalty).toBe('advantages');
    const expected = await base.forward([pushed, other], { temperature: 1 });
    expect(await reference.forward([pushed, other], { temperature: 1 })).toEqual(expected);
    // Train the served model to raise the pushed tokens: the reference stays at the base.
    for (let step = 0; step < 3; step++) {
      await client.forwardBackward([{ ...pushed, weights: [1, 1, 1] }], { kind: 'cross_entropy' }, { temperature: 1 });
      await client.optimStep(adam);
    }
    const live = await client.forward([pushed, other], { temperature: 1 });
    expect(live[0]![2]!).toBeGreaterThan(expected[0]![2]! + 0.1);
    expect(await reference.forward([pushed, other], { temperature: 1 })).toEqual(expected);

    // Folded into advantages, the KL pulls the tokens training pushed up back toward the base.
    const data = [pushed, other].map((datum, b) => ({ ...datum, oldLogprobs: live[b]!, advantages: [0, 0, 0] }));
    const metrics = foldKlPenalty(data, await reference.forward(data, { temperature: 1 }), 0.1);
    expect(metrics['kl/policy_base']).toBeGreaterThan(0);
    const pushedUp = live[0]!.map((logprob, t) => logprob - expected[0]![t]! > metrics['kl/policy_base']!);
    expect(pushedUp.some(Boolean)).toBe(true);
    data[0]!.advantages!.forEach((advantage, t) => {
      if (pushedUp[t]) expect(advantage).toBeLessThan(0);
    });
  });

  it('refuses a temperature other than 1, naming it', async () => {
    const { client } = await setup();
    await expect(client.baseReference().forward([pushed], { temperature: 0.9 })).rejects.toThrow(
      /temperature 0.9.*rl.temperature must be 1/,
    );
  });

  it('trains with loss.klBeta > 0 through turnwise serve: KL in advantages and logged, none in the loss', async () => {
    const { client } = await setup();
    const runDir = mkdtempSync(join(tmpdir(), 'turnwise-kl-remote-'));
    const config = resolveConfig({
      name: 'toy-kl',
      runDir,
      seed: 5,
      rl: {
        steps: 6,
        groupSize: 4,
        questionsPerStep: 2,
        mu: 1,
        maxCompletionTokens: 20,
        concurrency: 8,
        temperature: 1,
      },
      optim: { lr: 0.3, warmupSteps: 1, gradClip: 5 },
      loss: { klBeta: 0.05 },
      checkpoint: { every: 0 },
      log: { trajectoriesEvery: 0 },
    });
    await runRl({ config, backend: client, reference: client.baseReference(), task: createToyTask(), progress: null });
    const metrics = readJsonLines<StepMetrics>(join(runDir, 'metrics.jsonl'));
    expect(metrics).toHaveLength(6);
    // Step 1 samples the untrained policy, equal to the base: no KL yet.
    expect(metrics[0]!['kl/policy_base']).toBeCloseTo(0, 6);
    expect(metrics.slice(1).some((row) => row['kl/policy_base']! > 1e-3)).toBe(true);
    for (const row of metrics) {
      expect(row).toHaveProperty('kl/advantage_shift_abs_mean');
      expect(row).not.toHaveProperty('loss/kl_loss');
    }
  });
});
