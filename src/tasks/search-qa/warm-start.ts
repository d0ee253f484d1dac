/**
 * The warm start: the stand-in for the paper's pretrained base model, since no weights can be
 * downloaded. Three stages, all seeded:
 *   1. a byte-level BPE tokenizer trained on corpus text and the task's messages (the format tags
 *      are atomic tokens);
 *   2. language-model pretraining of a fresh engine model on corpus text;
 *   3. supervised fine-tuning on scripted, deliberately imperfect tool-use demonstrations played
 *      through the real environment (see demonstrations.ts).
 * The result is a checkpoint directory (weights + tokenizer) cached under
 * `warmStart.cacheDir/<hash of everything that shapes it, the data included>`, so several RL runs share one base. An
 * entry is built in a private directory and renamed into place only when complete, its summary
 * records the size and SHA-256 of every base file, and a reused entry is checked against them: a
 * crash leaves no entry, and a damaged one is reported and rebuilt.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Datum } from '../../training-types.js';
import { writeTokenizerFiles } from '../../engine/tokenizer/tokenizer-files.js';
import { trainBpe } from '../../engine/tokenizer/bpe-trainer.js';
import { loadTokenizer } from '../../engine/tokenizer/hf-tokenizer.js';
import { Random } from '../../random.js';
import { rolloutGroups } from '../../rollout/group-rollout.js';
import { DATA_FILES, defaultDataDir } from './data-files.js';
import type { QuestionRow } from './types.js';
import { ScriptedPolicy } from '../../rollout/scripted-policy.js';
import { writeFileAtomicSync as writeFileAtomic } from '../../engine/atomic-write.js';
import { configHash } from '../../train/config-load.js';
import type { TrainConfig } from '../../train/config.js';
import { MODEL_PRESETS, searchQaConfigOf } from './config.js';
import { chooseKind, makeDemonstration, type Demonstration } from './demonstrations.js';
import { createLocalBackend } from '../../backends/create-local-backend.js';
import type { LocalBackend } from '../../backends/local.js';
import { parseModelConfig, type ModelConfig } from '../../engine/model-config.js';
import type { SearchQaTask } from './search-qa-task.js';

/**
 * Bump when the warm-start recipe changes (3: the field questions of data format 3; 6: field
 * questions in more frames and the title-weighted search; 4 and 5 named experiments' bases), so
 * old cached bases are not reused; a change of the data alone changes the key through
 * `dataFingerprint`.
 */
const RECIPE_VERSION = 6;

/** Atomic tokens of the tool-use format (the paper's XML). */
export const FORMAT_TOKENS = [
  '<reasoning>',
  '</reasoning>',
  '<tool>',
  '</tool>',
  '<result>',
  '</result>',
  '<answer>',
  '</answer>',
];

/** Atomic tokens of the Hermes format (`task.format: hermes`). */
export const HERMES_FORMAT_TOKENS = [
  '<reasoning>',
  '</reasoning>',
  '<tool_call>',
  '</tool_call>',
  '<tool_response>',
  '</tool_response>',
  '<answer>',
  '</answer>',
];

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
  sft: {
    steps: number;
    /** Demonstrations of each kind (good, poorQuery, noSearch, brokenFormat). */
    demonstrations: Record<string, number>;
    /**
     * Per kind of played demonstration: the mean of every reward
     * component and the share of each stop reason (`stop/...`).
     */
    demonstrationMetrics?: Record<string, Record<string, number>>;
    firstLoss: number;
    lastLoss: number;
    seconds: number;
    tokens: number;
  };
  tokenizerSeconds: number;
  totalSeconds: number;
  /**
   * Size and SHA-256 of every file of the base, checked when the entry is reused (absent in entries of older versions).
   */
  files?: Record<string, { bytes: number; sha256: string }>;
}

/**
 * The data a base learns from (its demonstrations' questions, its pretraining texts), as a short
 * fingerprint: a generated build's corpus and questions hashes from its manifest, or for imported
 * data (no manifest) the hash of its questions file and the size of its corpus; undefined while the
 * directory holds no questions. Bases of two different data directories never share a cache entry.
 */
export function dataFingerprint(config: TrainConfig): string | undefined {
  const section = searchQaConfigOf(config);
  const dir = resolve(section.dir !== '' ? section.dir : defaultDataDir(section.tier));
  const manifestPath = join(dir, DATA_FILES.manifest);
  if (existsSync(manifestPath)) {
    try {
      const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Record<string, unknown>;
      if (typeof manifest.corpusSha256 === 'string' && typeof manifest.questionsSha256 === 'string')
        return `${manifest.corpusSha256.slice(0, 16)}:${manifest.questionsSha256.slice(0, 16)}`;
    } catch {
      // An unreadable manifest: the data is rebuilt when the task opens; fall back to the files.
    }
  }
  const questions = join(dir, DATA_FILES.questions);
  if (!existsSync(questions)) return undefined;
  const corpus = join(dir, DATA_FILES.corpus);
  const corpusBytes = existsSync(corpus) ? statSync(corpus).size : 0;
  return `${createHash('sha256').update(readFileSync(questions)).digest('hex').slice(0, 16)}:${corpusBytes}`;
}

/** The cache key of the base a config asks for (its recipe, model, environment and data). */
export function warmStartKey(config: TrainConfig): string {
  const section = searchQaConfigOf(config);
  const data = dataFingerprint(config);
  const { cacheDir: _cacheDir, ...recipe } = section.warmStart;
  // The demonstrations come from the training split; named only when
  // it is not the default, so keys of the default stay as they were.
  const split = config.data.trainSplit !== 'train' ? { trainSplit: config.data.trainSplit } : {};
  // Likewise the message format: keys of the paper's XML stay as they were.
  const format = section.format !== 'xml' ? { format: section.format } : {};
  // And the training questions' wording (the demonstrations are made from them).
  const phrasings = section.trainingPhrasings !== 'template' ? { trainingPhrasings: section.trainingPhrasings } : {};
  // And the cap on training questions per family (the demonstrations are drawn from them).
  const cap = section.trainRowsPerFamily !== 0 ? { trainRowsPerFamily: section.trainRowsPerFamily } : {};
  // `task` is the environment as the key has always named it (keys
  // made before the task had its own config section still match).
  const task = {
    searchTopK: section.searchTopK,
    resultCharBudget: section.resultCharBudget,
    ...(section.resultWindow !== 'start' ? { resultWindow: section.resultWindow } : {}),
    maxToolCalls: section.maxToolCalls,
    systemPrompt: section.systemPrompt,
  };
  return configHash({
    version: RECIPE_VERSION,
    recipe,
    model: section.model,
    tier: section.tier,
    task,
    budget: config.rl.maxCompletionTokens,
    ...split,
    ...format,
    ...phrasings,
    ...cap,
    ...(data !== undefined ? { data } : {}),
  });
}

/** The engine model config of the warm start (vocabulary size from the trained tokenizer). */
export function modelConfigOf(config: TrainConfig, vocabSize: number): ModelConfig {
  const { model } = searchQaConfigOf(config);
  return parseModelConfig({
    model_type: 'llama',
    ...MODEL_PRESETS[model.size],
    vocab_size: vocabSize,
    rope_theta: model.ropeTheta,
    tie_word_embeddings: true,
    max_position_embeddings: model.contextLength,
  });
}

/** The base directory of a config when a complete, undamaged entry is cached, else undefined. */
export function cachedBase(config: TrainConfig): string | undefined {
  const key = warmStartKey(config);
  const root = resolve(searchQaConfigOf(config).warmStart.cacheDir, key);
  return 'summary' in inspectCacheEntry(root, key) ? join(root, 'base') : undefined;
}

/** Size and SHA-256 of every file in a base directory. */
function fingerprint(baseDir: string): Record<string, { bytes: number; sha256: string }> {
  const files: Record<string, { bytes: number; sha256: string }> = {};
  for (const name of readdirSync(baseDir).sort()) {
    const path = join(baseDir, name);
    if (!statSync(path).isFile()) continue;
    const bytes = readFileSync(path);
    files[name] = { bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
  }
  return files;
}

/** A cache entry: its summary when complete and intact, the problem when damaged, nothing when absent. */
function inspectCacheEntry(
  root: string,
  key: string,
): { summary: WarmStartSummary } | { problem: string } | { absent: true } {
  const summaryPath = join(root, 'warm-start.json');
  if (!existsSync(root)) return { absent: true };
  if (!existsSync(summaryPath)) return { problem: 'warm-start.json is missing (an unfinished build)' };
  let summary: WarmStartSummary;
  try {
    summary = JSON.parse(readFileSync(summaryPath, 'utf8')) as WarmStartSummary;
  } catch (error) {
    return { problem: `warm-start.json is not valid JSON (${(error as Error).message})` };
  }
  if (summary === null || typeof summary !== 'object' || summary.key !== key)
    return { problem: `warm-start.json does not describe the base with key ${key}` };
  const baseDir = join(root, 'base');
  // Entries of older versions carry no fingerprint: check that the files a backend loads are there.
  const expected =
    summary.files ??
    Object.fromEntries(['config.json', 'model.safetensors', 'tokenizer.json'].map((name) => [name, undefined]));
  for (const [name, recorded] of Object.entries(expected)) {
    const path = join(baseDir, name);
    if (!existsSync(path)) return { problem: `base/${name} is missing` };
    if (recorded === undefined) {
      if (statSync(path).size === 0) return { problem: `base/${name} is empty` };
      continue;
    }
    const bytes = readFileSync(path);
    if (bytes.length !== recorded.bytes)
      return { problem: `base/${name} has ${bytes.length} bytes, the build wrote ${recorded.bytes}` };
    if (createHash('sha256').update(bytes).digest('hex') !== recorded.sha256)
      return { problem: `base/${name} does not match the SHA-256 recorded when it was built` };
  }
  return { summary };
}

/** Corpus texts for the tokenizer and pretraining: every `stride`-th document, title and text. */
function corpusTexts(dataDir: string, maxCharacters: number): string[] {
  const lines = readFileSync(join(dataDir, DATA_FILES.corpus), 'utf8')
    .split('\n')
    .filter((line) => line.length > 0);
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

const adam = (learningRate: number) => ({
  learningRate,
  beta1: 0.9,
  beta2: 0.99,
  eps: 1e-8,
  weightDecay: 0,
  gradClipNorm: 1,
});

/**
 * Plays demonstrations through the task's environment with a scripted policy; returns the SFT
 * datums and, per kind, the mean reward components (scored by the task's rubric) and stop reasons.
 */
async function demonstrationDatums(
  demos: Demonstration[],
  task: SearchQaTask,
  backend: LocalBackend,
  config: TrainConfig,
  random: Random,
): Promise<{ datums: Datum[]; metrics: Record<string, Record<string, number>> }> {
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
    renderer: backend.renderer,
    rows: demos.map((demo) => demo.row),
    rowId: (_row, index) => `d${index}`,
    groupSize: 1,
    concurrency: 32,
    tokenBudget: config.rl.maxCompletionTokens,
    random,
    sessionPrefix: 'demo/',
  });
  const sums: Record<string, Record<string, number>> = {};
  const counts: Record<string, number> = {};
  for (const [index, group] of groups.entries()) {
    const trajectory = await task.rubric.score(group.trajectories[0]!, group.row);
    const kind = demos[index]!.kind;
    counts[kind] = (counts[kind] ?? 0) + 1;
    sums[kind] ??= {};
    const sum = sums[kind];
    for (const [name, value] of Object.entries(trajectory.rewardComponents)) sum[name] = (sum[name] ?? 0) + value;
    sum[`stop/${trajectory.stopReason}`] = (sum[`stop/${trajectory.stopReason}`] ?? 0) + 1;
  }
  const metrics = Object.fromEntries(
    Object.entries(sums).map(([kind, sum]) => [
      kind,
      Object.fromEntries(Object.entries(sum).map(([name, value]) => [name, value / counts[kind]!])),
    ]),
  );
  // Sequences longer than the model's context are cut to it (the cut part is not trained on).
  const limit = searchQaConfigOf(config).model.contextLength;
  const datums = groups.map(({ trajectories: [trajectory] }) => {
    const tokens = trajectory!.tokens.slice(0, limit + 1);
    return {
      inputTokens: tokens.slice(0, -1),
      targetTokens: tokens.slice(1),
      weights: trajectory!.trainable.slice(1, tokens.length),
    };
  });
  return { datums, metrics };
}

/** Runs `steps` cross-entropy steps on batches drawn from `datums`; returns the loss curve. */
async function supervisedSteps(
  backend: LocalBackend,
  batches: () => Datum[],
  steps: number,
  lr: number,
  label: string,
  log: (message: string) => void,
): Promise<{ losses: number[]; tokens: number }> {
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
      log(
        `[warm start] ${label} step ${step + 1}/${steps}  loss ${result.loss.toFixed(3)}  ` +
          `${(tokens / seconds).toFixed(0)} tok/s  ${seconds.toFixed(0)}s`,
      );
    }
  }
  return { losses, tokens };
}

/** Builds (or reuses) the warm-started base for a config. */
export async function warmStart(options: {
  config: TrainConfig;
  task: SearchQaTask;
  log?: (message: string) => void;
  force?: boolean;
}): Promise<WarmStartResult> {
  const { config, task } = options;
  const log = options.log ?? ((message: string) => console.error(message));
  const key = warmStartKey(config);
  const root = resolve(searchQaConfigOf(config).warmStart.cacheDir, key);
  const baseDir = join(root, 'base');
  if (!options.force) {
    const entry = inspectCacheEntry(root, key);
    if ('summary' in entry) {
      log(`[warm start] reusing cached base ${baseDir}`);
      return { baseDir, key, reused: true, summary: entry.summary };
    }
    if ('problem' in entry) log(`[warm start] the cached base ${root} is unusable: ${entry.problem}; rebuilding it`);
  }
  // Built in a private directory, renamed into place when complete.
  removeAbandonedBuilds(root);
  const building = `${root}.building-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    const summary = await buildBase(config, task, key, building, log);
    publish(building, root, key, Boolean(options.force), log);
    log(`[warm start] base saved to ${baseDir} in ${summary.totalSeconds.toFixed(0)}s`);
    return { baseDir, key, reused: false, summary };
  } finally {
    rmSync(building, { recursive: true, force: true });
  }
}

/** Removes the build directories of this entry left by processes that no longer run (killed mid-build). */
function removeAbandonedBuilds(root: string): void {
  const parent = dirname(root);
  if (!existsSync(parent)) return;
  const pattern = new RegExp(`^${basename(root)}\\.(?:building|stale)-(\\d+)-[0-9a-f]+$`);
  for (const name of readdirSync(parent)) {
    const pid = Number(pattern.exec(name)?.[1]);
    if (!Number.isInteger(pid) || processRuns(pid)) continue;
    rmSync(join(parent, name), { recursive: true, force: true });
  }
}

function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Moves a finished build to its cache entry. An intact entry another process published meanwhile
 * wins (runs may be using it) unless `force`; a damaged one is replaced.
 */
function publish(building: string, root: string, key: string, force: boolean, log: (message: string) => void): void {
  if (existsSync(root)) {
    if (!force && 'summary' in inspectCacheEntry(root, key)) {
      log(`[warm start] another process cached this base first; using ${root}`);
      return;
    }
    const stale = `${root}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
    renameSync(root, stale);
    rmSync(stale, { recursive: true, force: true });
  }
  try {
    renameSync(building, root);
  } catch (error) {
    // Another process published between the check and the rename: its entry is as good as ours.
    if (!('summary' in inspectCacheEntry(root, key))) throw error;
    log(`[warm start] another process cached this base first; using ${root}`);
  }
}

/**
 * What a warm start learns from, drawn from `random` exactly as the build draws it: the scripted
 * demonstrations (rows of the training split only) and the corpus texts of the tokenizer and
 * pretraining. The leak check (leak-check.test.ts) reads it to keep evaluation questions out.
 */
export function warmStartMaterial(
  config: TrainConfig,
  task: SearchQaTask,
  random: Random,
): { demos: Demonstration[]; corpus: string[] } {
  const section = searchQaConfigOf(config);
  const settings = section.warmStart;
  const trainRows = random.shuffle([...task.rows(config.data.trainSplit)]);
  const demoRows = trainRows.slice(0, Math.min(trainRows.length, settings.demonstrations));
  const guessPool = new Map<string, string[]>();
  for (const row of trainRows) guessPool.set(row.family, [...(guessPool.get(row.family) ?? []), row.answers[0]!]);
  const demos = demoRows.map((row) =>
    makeDemonstration({
      row,
      kind: chooseKind(settings.demoMix, random),
      tool: task.tool,
      random,
      guessPool: (guessPool.get(row.family) ?? []).filter((answer) => !row.answers.includes(answer)),
      format: section.format,
    }),
  );
  return { demos, corpus: corpusTexts(task.dir, settings.corpusCharacters) };
}

/** Builds a base into `root` (tokenizer, pretraining, SFT) and writes its summary last. */
async function buildBase(
  config: TrainConfig,
  task: SearchQaTask,
  key: string,
  root: string,
  log: (message: string) => void,
): Promise<WarmStartSummary> {
  const started = performance.now();
  const section = searchQaConfigOf(config);
  const settings = section.warmStart;
  const random = new Random(settings.seed);

  // Demonstrations first: their text also trains the tokenizer.
  const { demos, corpus } = warmStartMaterial(config, task, random);
  const kinds: Record<string, number> = {};
  for (const demo of demos) kinds[demo.kind] = (kinds[demo.kind] ?? 0) + 1;

  // 1. Tokenizer.
  const tokenizerStart = performance.now();
  const prompt = (await task.createEnv().reset(demos[0]!.row)).map((message) => message.content);
  const taskTexts = demos.flatMap((demo) => [demo.row.question, ...demo.replies]);
  const trained = trainBpe([...corpus, ...taskTexts, ...prompt], {
    vocabSize: section.model.vocabSize,
    addedTokens: section.format === 'hermes' ? HERMES_FORMAT_TOKENS : FORMAT_TOKENS,
  });
  const tokenizerDir = join(root, 'tokenizer');
  await writeTokenizerFiles(tokenizerDir, trained);
  const tokenizer = await loadTokenizer(tokenizerDir);
  const tokenizerSeconds = (performance.now() - tokenizerStart) / 1000;
  log(`[warm start] tokenizer: ${tokenizer.vocabSize} tokens in ${tokenizerSeconds.toFixed(1)}s`);

  // 2. Pretraining on corpus text.
  const backend = await createLocalBackend({
    tokenizerDir,
    checkpointDirectory: root,
    modelConfig: modelConfigOf(config, tokenizer.vocabSize),
    seed: settings.seed,
    samplerSlots: 8,
  });
  const parameters = backend.model.layout.totalSize;
  log(
    `[warm start] model: ${section.model.size}, ${(parameters / 1e6).toFixed(2)}M ` +
      `parameters; ${demos.length} demonstrations ${JSON.stringify(kinds)}`,
  );
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
        return {
          inputTokens: tokens.slice(0, -1),
          targetTokens: tokens.slice(1),
          weights: tokens.slice(1).map(() => 1),
        };
      }),
    settings.pretrainSteps,
    settings.pretrainLr,
    'pretrain',
    log,
  );
  const pretrainSeconds = (performance.now() - pretrainStart) / 1000;

  // 3. Supervised fine-tuning on the demonstrations, played through the environment.
  const sftStart = performance.now();
  const { datums: sftData, metrics: demonstrationMetrics } = await demonstrationDatums(
    demos,
    task,
    backend,
    config,
    random.fork(),
  );
  const sft = await supervisedSteps(
    backend,
    () => Array.from({ length: settings.sftBatch }, () => sftData[random.int(sftData.length)]!),
    settings.sftSteps,
    settings.sftLr,
    'sft',
    log,
  );
  const sftSeconds = (performance.now() - sftStart) / 1000;

  const baseDir = await backend.save('base');
  await backend.close();
  const summary: WarmStartSummary = {
    key,
    parameters,
    vocabSize: tokenizer.vocabSize,
    pretrain: {
      steps: settings.pretrainSteps,
      firstLoss: pretrain.losses[0] ?? NaN,
      lastLoss: pretrain.losses.at(-1) ?? NaN,
      seconds: pretrainSeconds,
      tokens: pretrain.tokens,
    },
    sft: {
      steps: settings.sftSteps,
      demonstrations: kinds,
      demonstrationMetrics,
      firstLoss: sft.losses[0] ?? NaN,
      lastLoss: sft.losses.at(-1) ?? NaN,
      seconds: sftSeconds,
      tokens: sft.tokens,
    },
    tokenizerSeconds,
    totalSeconds: (performance.now() - started) / 1000,
    files: fingerprint(baseDir),
  };
  writeFileAtomic(join(root, 'warm-start.json'), `${JSON.stringify(summary, null, 2)}\n`);
  return summary;
}
