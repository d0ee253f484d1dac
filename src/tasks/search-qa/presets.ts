/**
 * Config presets of the bundled commands, as partial configs that the schema completes and the
 * command line overrides. `demo` is sized for `npm run demo` on a 2-core CPU (about 15 minutes
 * with the data build); `paper` is the paper comparison (several seeds, same budget per method).
 */
import type { TrainConfigInput } from '../../train/config.js';

/** `npm run demo`: tier M, warm start, a short MT-GRPO run. */
export const DEMO_PRESET: TrainConfigInput = {
  name: 'mt-grpo',
  seed: 0,
  task: {
    name: 'search-qa',
    tier: 'M',
    resultCharBudget: 200,
    searchTopK: 1,
    systemPrompt: 'short',
    model: { size: 'small', vocabSize: 1024, contextLength: 512 },
    // 600 + 600 steps on 3000 demonstrations: with 300 + 300 on 1500 the base copied questions into
    // queries so poorly that it answered 1% of test questions (0.17 now) and RL had little to build on.
    warmStart: {
      pretrainSteps: 600,
      sftSteps: 600,
      sftLr: 3e-3,
      demonstrations: 3000,
      demoMix: { good: 0.45, poorQuery: 0.25, noSearch: 0.15, brokenFormat: 0.15 },
    },
  },
  rl: { steps: 48, groupSize: 8, questionsPerStep: 8, mu: 2, maxCompletionTokens: 256, concurrency: 64 },
  advantage: { kind: 'mt-grpo', lambda: 1 },
  optim: { lr: 5e-4, warmupSteps: 4, gradClip: 1 },
  checkpoint: { every: 8 },
  log: { trajectoriesEvery: 2, trajectoriesCount: 4 },
  eval: { questions: 200, samples: 1 },
};

/** `turnwise experiment paper`: the three methods from one base, same budget, several seeds. */
export const PAPER_PRESET: TrainConfigInput = {
  ...DEMO_PRESET,
  rl: { ...DEMO_PRESET.rl, steps: 144 },
  eval: { questions: 300, samples: 1 },
};
