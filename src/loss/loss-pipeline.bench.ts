/**
 * Benchmark of the client-side RL step on a paper-sized batch (16 groups x 21 rollouts, ~300k
 * tokens): every estimator, the credit checks, datum building and the PPO loss with its gradient.
 * Prints a table; run with `npx tsx src/loss/loss-pipeline.bench.ts`.
 */
import { createEstimator, ESTIMATOR_KINDS } from '../advantage/create-estimator.js';
import { checkCreditInvariants } from '../advantage/credit-invariants.js';
import { syntheticGroup } from '../advantage/synthetic-trajectory.js';
import { buildGroupDatums } from './build-datum.js';
import { policyLoss } from './policy-loss.js';
import { Random } from '../random.js';
const random = new Random(1);
const groups = Array.from({ length: 16 }, (_, q) => syntheticGroup(Array.from({ length: 21 }, () => ({
  promptLength: 200, turns: [{ sampledLength: 80 + random.int(60), reply: 'result' as const, replyLength: 500, reward: random.int(8) / 10 }, { sampledLength: 60 + random.int(100) }],
  outcomeReward: random.int(20) / 10 })), `q${q}`));
const tokens = groups.reduce((a, g) => a + g.trajectories.reduce((b, t) => b + t.tokens.length, 0), 0);
console.log(`batch: 16 groups x 21 rollouts, ${tokens} tokens`);
console.log('step                      ms (median of 5)');
const time = (label: string, fn: () => void) => { const ms: number[] = []; for (let r = 0; r < 5; r++) { const s = performance.now(); fn(); ms.push(performance.now() - s); } ms.sort((a, b) => a - b); console.log(label.padEnd(26), ms[2]!.toFixed(1)); };
for (const kind of ESTIMATOR_KINDS) { const e = createEstimator({ kind }); time(`estimate ${kind}`, () => groups.forEach((g) => e.estimate(g))); }
const e = createEstimator({ kind: 'mt-grpo' });
const adv = groups.map((g) => e.estimate(g));
time('checkCreditInvariants', () => groups.forEach((g, i) => checkCreditInvariants(g, adv[i]!, { estimator: e })));
let data: ReturnType<typeof buildGroupDatums> = [];
time('buildGroupDatums', () => { data = groups.flatMap((g, i) => buildGroupDatums(g, adv[i]!)); });
const lp = data.map((d) => d.oldLogprobs!.map((x) => x + 0.1 * (random.next() - 0.5)));
time('policyLoss ppo', () => policyLoss({ data, logprobs_B_T: lp, loss: { kind: 'ppo', clipLow: 0.2, clipHigh: 0.2, klBeta: 0, normalization: 'token-mean' } }));
