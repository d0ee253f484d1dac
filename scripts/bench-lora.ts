/**
 * `npx tsx scripts/bench-lora.ts`: what LoRA training costs on the CPU engine, and how fast an
 * export merges. For the engine's reference config M (and S) it times one training step (forward +
 * backward over B x T tokens, then the optimiser) with full-weight AdamW and with a LoRA adapter of
 * rank 8 and 32 on every projection and the LM head (the chain rule from dW, AdamW on A and B, the
 * weights rematerialised), the optimiser part on its own, and merging a rank-32 adapter into the
 * model's tensors (`mergeLoraAdapter`, what `turnwise export` does). Medians of --steps runs; ratios
 * against full-weight AdamW measured in the same run.
 *
 * Options: --configs S,M  --steps 5  --batch 16  --tokens 128
 */
import { parseArgs } from 'node:util';
import { AdamW } from '../src/engine/adamw.js';
import { loadKernels } from '../src/engine/kernels/index.js';
import { LoraAdapter } from '../src/engine/lora/lora-adapter.js';
import { loraSpecFromTinker } from '../src/engine/lora/lora-config.js';
import { mergeLoraAdapter } from '../src/engine/lora/lora-merge.js';
import { parseAdapterConfig } from '../src/engine/lora/lora-config.js';
import { modelTensors } from '../src/engine/model-state.js';
import { parseModelConfig } from '../src/engine/model-config.js';
import { crossEntropyGradient, forwardBackward } from '../src/engine/training.js';
import { Transformer } from '../src/engine/transformer.js';
import { Random } from '../src/random.js';
import { BENCH_CONFIGS } from './bench-engine.js';

const { values } = parseArgs({
  options: {
    configs: { type: 'string', default: 'S,M' },
    steps: { type: 'string', default: '5' },
    batch: { type: 'string', default: '16' },
    tokens: { type: 'string', default: '128' },
  },
});
const STEPS = Number(values.steps);
const B = Number(values.batch);
const T = Number(values.tokens);
const ADAM = { learningRate: 1e-4, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0, gradClipNorm: 1 };
const kernels = loadKernels();

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function seconds(work: () => void): number {
  const start = process.hrtime.bigint();
  work();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

const rows: string[][] = [];
for (const name of values.configs!.split(',')) {
  const config = parseModelConfig(BENCH_CONFIGS[name]);
  const random = new Random(1);
  const sequences = Array.from({ length: B }, () => Array.from({ length: T + 1 }, () => random.int(config.vocab_size)));
  const data = sequences.map((tokens) => ({ inputTokens: tokens.slice(0, -1), targetTokens: tokens.slice(1) }));
  const weights = data.map((datum) => datum.targetTokens.map(() => 1));
  const variants: Array<{ label: string; make: (model: Transformer) => { apply: () => void } }> = [
    {
      label: 'full AdamW',
      make: (model) => {
        const optimizer = new AdamW(model);
        return { apply: () => void optimizer.apply(ADAM) };
      },
    },
    ...[8, 32].map((rank) => ({
      label: `LoRA r=${rank}`,
      make: (model: Transformer) => {
        const adapter = new LoraAdapter(model, loraSpecFromTinker({ rank }));
        return { apply: () => void adapter.apply(ADAM) };
      },
    })),
  ];
  // Variants run in turn within each step, so a busy machine slows them alike.
  const runs = variants.map((variant) => {
    const model = new Transformer({ config, kernels, seed: 1 });
    return { variant, model, optimiser: variant.make(model), steps: [] as number[], optims: [] as number[] };
  });
  for (let step = 0; step < STEPS + 1; step++) {
    for (const run of runs) {
      const gradient = crossEntropyGradient(weights).gradient;
      const pass = seconds(() => void forwardBackward(run.model, data, gradient, { temperature: 1 }));
      const optim = seconds(() => run.optimiser.apply());
      if (step === 0) continue; // warm-up
      run.steps.push(pass + optim);
      run.optims.push(optim);
    }
  }
  const fullStep = median(runs[0]!.steps);
  const fullOptim = median(runs[0]!.optims);
  for (const run of runs) {
    const step = median(run.steps);
    const optim = median(run.optims);
    rows.push([
      name,
      run.variant.label,
      `${(step * 1000).toFixed(1)}`,
      `${(optim * 1000).toFixed(2)}`,
      `${(step / fullStep).toFixed(3)}`,
      `${(optim / fullOptim).toFixed(2)}`,
    ]);
  }
  // Merging a rank-32 adapter on every projection and the head into the model's tensors.
  const model = new Transformer({ config, kernels, seed: 1 });
  const adapter = new LoraAdapter(model, loraSpecFromTinker({ rank: 32, seed: 2 }));
  const tensors = adapter.tensors();
  for (const tensor of tensors.values())
    for (let i = 0; i < tensor.data.length; i++) tensor.data[i] = random.normal() * 0.01;
  const base = modelTensors(model);
  const adapterConfig = parseAdapterConfig({ r: 32, lora_alpha: 32 }, 'bench');
  const merges = Array.from({ length: STEPS }, () =>
    seconds(() => void mergeLoraAdapter({ kernels, base, adapter: tensors, config: adapterConfig, source: 'bench' })),
  );
  const parameters = model.layout.parameterCount;
  rows.push([
    name,
    'merge r=32',
    `${(median(merges) * 1000).toFixed(1)}`,
    '',
    '',
    `${((parameters * 4) / median(merges) / 1e9).toFixed(2)} GB/s of weights`,
  ]);
}

console.log(`kernels ${kernels.name} (${kernels.threads} threads), batch ${B} x ${T} tokens, median of ${STEPS} steps`);
const header = ['config', 'variant', 'step ms', 'optimiser ms', 'step / full', 'optimiser / full'];
const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
const line = (cells: string[]): string => cells.map((cell, column) => cell.padEnd(widths[column]!)).join('  ');
console.log(line(header));
for (const row of rows) console.log(line(row));
