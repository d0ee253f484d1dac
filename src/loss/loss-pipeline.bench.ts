/**
 * Benchmark of the client-side RL step on a paper-sized batch (16 groups x 21 rollouts, ~300k
 * tokens): every estimator, the credit checks, datum building and the PPO loss with its gradient.
 * Prints a table; run with `npx tsx src/loss/loss-pipeline.bench.ts`.
 */
import { createEstimator, ESTIMATOR_KINDS } from '../advantage/create-estimator.js';
import { checkCreditInvariants } from '../advantage/credit-invariants.js';
import { syntheticGroup } from '../advantage/synthetic-trajectory.js';
import { Random } from '../random.js';
import type { Datum } from '../training-types.js';
import { buildGroupDatums } from './build-datum.js';
import { policyLoss } from './policy-loss.js';

const random = new Random(1);
const groups = Array.from({ length: 16 }, (_, q) =>
  syntheticGroup(
    Array.from({ length: 21 }, () => ({
      promptLength: 200,
      turns: [
        { sampledLength: 80 + random.int(60), reply: 'result' as const, replyLength: 500, reward: random.int(8) / 10 },
        { sampledLength: 60 + random.int(100) },
      ],
      outcomeReward: random.int(20) / 10,
    })),
    `q${q}`,
  ),
);
const tokens = groups.reduce((sum, group) => sum + group.trajectories.reduce((s, t) => s + t.tokens.length, 0), 0);

/** Median wall time of five runs, in milliseconds. */
function time(label: string, run: () => void): void {
  const samples_ms: number[] = [];
  for (let r = 0; r < 5; r++) {
    const start = performance.now();
    run();
    samples_ms.push(performance.now() - start);
  }
  samples_ms.sort((a, b) => a - b);
  console.log(`${label.padEnd(26)}${samples_ms[2]!.toFixed(1).padStart(8)}`);
}

console.log(`batch: 16 groups x 21 rollouts, ${tokens} tokens`);
console.log(`${'step'.padEnd(26)}${'ms'.padStart(8)}`);
for (const kind of ESTIMATOR_KINDS) {
  const estimator = createEstimator({ kind });
  time(`estimate ${kind}`, () => groups.forEach((group) => estimator.estimate(group)));
}
const estimator = createEstimator({ kind: 'mt-grpo' });
const advantages = groups.map((group) => estimator.estimate(group));
time('checkCreditInvariants', () =>
  groups.forEach((group, i) => checkCreditInvariants(group, advantages[i]!, { estimator })),
);
let data: Datum[] = [];
time('buildGroupDatums', () => {
  data = groups.flatMap((group, i) => buildGroupDatums(group, advantages[i]!));
});
const logprobs_B_T = data.map((datum) => datum.oldLogprobs!.map((old) => old + 0.1 * (random.next() - 0.5)));
time('policyLoss ppo', () =>
  policyLoss({
    data,
    logprobs_B_T,
    loss: { kind: 'ppo', clipLow: 0.2, clipHigh: 0.2, klBeta: 0, normalization: 'token-mean' },
  }),
);
