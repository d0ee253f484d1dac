/**
 * The warm start: the stand-in for the paper's pretrained base model, since no weights can be
 * downloaded. Three stages, all seeded:
 *   1. a byte-level BPE tokenizer trained on corpus text and the task's messages (the format tags
 *      are atomic tokens);
 *   2. language-model pretraining of a fresh engine model on corpus text;
 *   3. supervised fine-tuning on scripted, deliberately imperfect tool-use demonstrations played
 *      through the real environment (see demonstrations.ts).
 * The result is a checkpoint directory (weights + tokenizer) cached under
 * `warmStart.cacheDir/<hash of everything that shapes it>`, so several RL runs share one base.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Datum } from '../backends/backend.js';
import { writeTokenizerFiles } from '../engine/tokenizer/tokenizer-files.js';
import { trainBpe } from '../engine/tokenizer/bpe-trainer.js';
import { loadTokenizer } from '../engine/tokenizer/hf-tokenizer.js';
import { Random } from '../random.js';
import { rolloutGroups } from '../rollout/group-rollout.js';
import { DATA_FILES } from '../tasks/search-qa/data-files.js';
import type { QuestionRow } from '../tasks/search-qa/types.js';
import { ScriptedPolicy } from '../testing/scripted-policy.js';
import { writeFileAtomicSync as writeFileAtomic } from '../engine/atomic-write.js';
import { configHash } from './config-load.js';
import type { TrainConfig } from './config.js';
import { chooseKind, makeDemonstration, type Demonstration } from './demonstrations.js';
import { createEngineBackend, modelConfigOf, type EngineBackend } from './engine-backend.js';
import type { SearchQaTask } from './search-qa-task.js';

/** Bump when the warm-start recipe changes, so old cached bases are not reused. */
const RECIPE_VERSION = 2;

/** Atomic tokens of the tool-use format. */
export const FORMAT_TOKENS = ['<reasoning>', '</reasoning>', '<tool>', '</tool>', '<result>', '</result>', '<answer>', '</answer>'];

/** What a warm start produced. */
export interface WarmStartResult {
  /** Checkpoint directory of the base policy (weights, config.json, tokenizer files). */
  baseDir: string;
  key: string;
  /** True when a cached base was reused. */
  reused: boolean;
  summary: WarmStartSummary;
}

/** The record written beside the base. */
export interface WarmStartSummary {
  key: string;
  parameters: number;
  vocabSize: number;
  pretrain: { steps: number; firstLoss: number; lastLoss: number; seconds: number; tokens: number };
  sft: { steps: number; demonstrations: Record<string, number>; firstLoss: number; lastLoss: number; seconds: number; tokens: number };
  tokenizerSeconds: number;
  totalSeconds: number;
}

/** The cache key of the base a config asks for. */
export function warmStartKey(config: TrainConfig): string {
  const { cacheDir: _cacheDir, ...recipe } = config.warmStart;
  return configHash({ version: RECIPE_VERSION, recipe, model: config.model, tier: config.data.tier, task: config.task, budget: config.rl.maxCompletionTokens });
}

/** The base directory of a config when it is already cached, else undefined. */
export function cachedBase(config: TrainConfig): string | undefined {
  const root = resolve(config.warmStart.cacheDir, warmStartKey(config));
  return existsSync(join(root, 'warm-start.json')) ? join(root, 'base') : undefined;
}

/** Corpus texts for the tokenizer and pretraining: every `stride`-th document, title and text. */
function corpusTexts(dataDir: string, maxCharacters: number): string[] {
  const lines = readFileSync(join(dataDir, DATA_FILES.corpus), 'utf8').split('\n').filter((line) => line.length > 0);
  const texts: string[] = [];
  let characters = 0;
  const stride = Math.max(1, Math.floor(lines.length / 4000));
  for (let i = 0; i < lines.length && characters < maxCharacters; i += stride) {
    const document = JSON.parse(lines[i]!) as { title: string; text: string };
    const text = `${document.title}\n${document.text}`;
    texts.push(text);
    characters += text.length;
  }
  return texts;
}

const adam = (learningRate: number) => ({ learningRate, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0, gradClipNorm: 1 });

/** Plays demonstrations through the task's environment with a scripted policy; returns SFT datums. */
async function demonstrationDatums(demos: Demonstration[], task: SearchQaTask, backend: EngineBackend, config: TrainConfig, random: Random): Promise<Datum[]> {
  const policy = new ScriptedPolicy({
    tokenizer: backend.tokenizer,
    reply: (call) => {
      const index = Number(/^demo\/d(\d+)\//.exec(call.sessionId ?? '')?.[1]);
      const reply = demos[index]?.replies[call.turn];
      return reply ?? '<answer>unknown</answer>';
    },
  });
  const groups = await rolloutGroups<QuestionRow>({
    policy,
    env: task.createEnv,
    renderer: backend.createRenderer,
    rows: demos.map((demo) => demo.row),
    rowId: (_row, index) => `d${index}`,
    groupSize: 1,
    concurrency: 32,
    tokenBudget: config.rl.maxCompletionTokens,
    random,
    sessionPrefix: 'demo/',
  });
  // Sequences longer than the model's context are cut to it (the cut part is not trained on).
  const limit = config.model.contextLength;
  return groups.map(({ trajectories: [trajectory] }) => {
    const tokens = trajectory!.tokens.slice(0, limit + 1);
    return { inputTokens: tokens.slice(0, -1), targetTokens: tokens.slice(1), weights: trajectory!.trainable.slice(1, tokens.length) };
  });
}

/** Runs `steps` cross-entropy steps on batches drawn from `datums`; returns the loss curve. */
async function supervisedSteps(backend: EngineBackend, batches: () => Datum[], steps: number, lr: number, label: string, log: (message: string) => void): Promise<{ losses: number[]; tokens: number }> {
  const losses: number[] = [];
  let tokens = 0;
  const start = performance.now();
  for (let step = 0; step < steps; step++) {
    const batch = batches();
    tokens += batch.reduce((sum, datum) => sum + datum.inputTokens.length, 0);
    const warm = Math.min(1, (step + 1) / Math.max(1, Math.floor(steps / 10)));
    const result = await backend.forwardBackward(batch, { kind: 'cross_entropy' }, { temperature: 1 });
    await backend.optimStep(adam(lr * warm));
    losses.push(result.loss);
    if ((step + 1) % Math.max(1, Math.floor(steps / 10)) === 0 || step === steps - 1) {
      const seconds = (performance.now() - start) / 1000;
      log(`[warm start] ${label} step ${step + 1}/${steps}  loss ${result.loss.toFixed(3)}  ${(tokens / seconds).toFixed(0)} tok/s  ${seconds.toFixed(0)}s`);
    }
  }
  return { losses, tokens };
}

/** Builds (or reuses) the warm-started base for a config. */
export async function warmStart(options: { config: TrainConfig; task: SearchQaTask; log?: (message: string) => void; force?: boolean }): Promise<WarmStartResult> {
  const { config, task } = options;
  const log = options.log ?? ((message: string) => console.error(message));
  const key = warmStartKey(config);
  const root = resolve(config.warmStart.cacheDir, key);
  const baseDir = join(root, 'base');
  if (!options.force && existsSync(join(root, 'warm-start.json'))) {
    log(`[warm start] reusing cached base ${baseDir}`);
    return { baseDir, key, reused: true, summary: JSON.parse(readFileSync(join(root, 'warm-start.json'), 'utf8')) };
  }
  rmSync(root, { recursive: true, force: true });
  const started = performance.now();
  const random = new Random(config.warmStart.seed);
  const settings = config.warmStart;

  // Demonstrations first: their text also trains the tokenizer.
  const trainRows = random.shuffle([...task.rows(config.data.trainSplit)]);
  const demoRows = trainRows.slice(0, Math.min(trainRows.length, settings.demonstrations));
  const guessPool = new Map<string, string[]>();
  for (const row of trainRows) guessPool.set(row.family, [...(guessPool.get(row.family) ?? []), row.answers[0]!]);
  const demos = demoRows.map((row) => makeDemonstration({ row, kind: chooseKind(settings.demoMix, random), tool: task.tool, random, guessPool: (guessPool.get(row.family) ?? []).filter((answer) => !row.answers.includes(answer)) }));
  const kinds: Record<string, number> = {};
  for (const demo of demos) kinds[demo.kind] = (kinds[demo.kind] ?? 0) + 1;

  // 1. Tokenizer.
  const tokenizerStart = performance.now();
  const corpus = corpusTexts(task.dir, settings.corpusCharacters);
  const prompt = (await task.createEnv().reset(demos[0]!.row)).map((message) => message.content);
  const taskTexts = demos.flatMap((demo) => [demo.row.question, ...demo.replies]);
  const trained = trainBpe([...corpus, ...taskTexts, ...prompt], { vocabSize: config.model.vocabSize, addedTokens: FORMAT_TOKENS });
  const tokenizerDir = join(root, 'tokenizer');
  await writeTokenizerFiles(tokenizerDir, trained);
  const tokenizer = await loadTokenizer(tokenizerDir);
  const tokenizerSeconds = (performance.now() - tokenizerStart) / 1000;
  log(`[warm start] tokenizer: ${tokenizer.vocabSize} tokens in ${tokenizerSeconds.toFixed(1)}s`);

  // 2. Pretraining on corpus text.
  const backend = await createEngineBackend({ tokenizerDir, checkpointDirectory: root, modelConfig: modelConfigOf(config, tokenizer.vocabSize), seed: settings.seed, samplerSlots: 8 });
  const parameters = backend.model.layout.totalSize;
  log(`[warm start] model: ${config.model.size}, ${(parameters / 1e6).toFixed(2)}M parameters; ${demos.length} demonstrations ${JSON.stringify(kinds)}`);
  const eos = tokenizer.eosTokenId ?? 0;
  const stream: number[] = [];
  for (const text of corpus) {
    for (const id of tokenizer.encode(text)) stream.push(id);
    stream.push(eos);
  }
  const window = settings.pretrainSeqLength;
  const pretrainStart = performance.now();
  // A share of the windows is an excerpt followed by itself: predicting the repeat teaches the
  // model to copy from its context (induction), which the tool format needs (query from the
  // question, answer from the result) and which plain text teaches only slowly.
  const excerpt = () => {
    const start = random.int(Math.max(1, stream.length - window - 1));
    return stream.slice(start, start + window + 1);
  };
  const pretrain = await supervisedSteps(
    backend,
    () =>
      Array.from({ length: settings.pretrainBatch }, () => {
        let tokens = excerpt();
        if (random.next() < settings.pretrainCopyShare) {
          const half = tokens.slice(0, Math.ceil((window + 1) / 2));
          tokens = [...half, ...half].slice(0, window + 1);
        }
        return { inputTokens: tokens.slice(0, -1), targetTokens: tokens.slice(1), weights: tokens.slice(1).map(() => 1) };
      }),
    settings.pretrainSteps,
    settings.pretrainLr,
    'pretrain',
    log,
  );
  const pretrainSeconds = (performance.now() - pretrainStart) / 1000;

  // 3. Supervised fine-tuning on the demonstrations, played through the environment.
  const sftStart = performance.now();
  const sftData = await demonstrationDatums(demos, task, backend, config, random.fork());
  const sft = await supervisedSteps(backend, () => Array.from({ length: settings.sftBatch }, () => sftData[random.int(sftData.length)]!), settings.sftSteps, settings.sftLr, 'sft', log);
  const sftSeconds = (performance.now() - sftStart) / 1000;

  await backend.save('base');
  await backend.close();
  const summary: WarmStartSummary = {
    key,
    parameters,
    vocabSize: tokenizer.vocabSize,
    pretrain: { steps: settings.pretrainSteps, firstLoss: pretrain.losses[0] ?? NaN, lastLoss: pretrain.losses.at(-1) ?? NaN, seconds: pretrainSeconds, tokens: pretrain.tokens },
    sft: { steps: settings.sftSteps, demonstrations: kinds, firstLoss: sft.losses[0] ?? NaN, lastLoss: sft.losses.at(-1) ?? NaN, seconds: sftSeconds, tokens: sft.tokens },
    tokenizerSeconds,
    totalSeconds: (performance.now() - started) / 1000,
  };
  writeFileAtomic(join(root, 'warm-start.json'), `${JSON.stringify(summary, null, 2)}\n`);
  log(`[warm start] base saved to ${baseDir} in ${summary.totalSeconds.toFixed(0)}s`);
  return { baseDir, key, reused: false, summary };
}
