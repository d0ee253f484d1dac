/**
 * The training config: one zod schema that is the single source of the type, the defaults and the
 * documentation of every field (unit and default in each `.describe()`). Defaults follow the
 * paper's run (PAPER.md section 5) where that makes sense on a CPU, and say so where they differ.
 * Loading, overrides and error messages live in `config-load.ts`.
 */
import { z } from 'zod';
import { ESTIMATOR_KINDS } from '../advantage/create-estimator.js';

/** Model presets of the embedded engine (Hugging Face `config.json` field names). */
export const MODEL_PRESETS = {
  /** For tests: about 0.1M parameters. */
  tiny: { hidden_size: 32, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 2, intermediate_size: 64 },
  /** The demo's model: about 1M parameters, trains in minutes on 2 cores. */
  small: { hidden_size: 128, num_hidden_layers: 3, num_attention_heads: 4, num_key_value_heads: 4, intermediate_size: 384 },
  /** A larger CPU model: about 4M parameters. */
  base: { hidden_size: 256, num_hidden_layers: 4, num_attention_heads: 4, num_key_value_heads: 4, intermediate_size: 768 },
} as const;

/** The names of the model presets. */
export type ModelSize = keyof typeof MODEL_PRESETS;

/** The advantage estimators a config can name (PAPER.md section 3). */
export const ADVANTAGE_KINDS = ESTIMATOR_KINDS;

const positiveInt = () => z.number().int().min(1);
const nonNegative = () => z.number().min(0);

const modelSchema = z
  .strictObject({
    size: z.enum(['tiny', 'small', 'base']).default('small').describe('model preset of the embedded engine (tiny | small | base); default small'),
    vocabSize: positiveInt().default(1024).describe('byte-level BPE vocabulary trained on the corpus, in tokens; default 1024'),
    contextLength: positiveInt().default(768).describe('longest sequence the model is trained on (prompt + all turns), in tokens; default 768'),
    ropeTheta: z.number().positive().default(10000).describe('RoPE base frequency; default 10000'),
  })
  .describe('the policy model');

const dataSchema = z
  .strictObject({
    tier: z.enum(['S', 'M']).default('M').describe('corpus/question tier of the search-QA task (S = tests, M = default); default M'),
    dir: z.string().default('').describe('directory holding the built corpus, questions and search index; default .turnwise/data/<tier> (or $TURNWISE_DATA_DIR/<tier>)'),
    trainSplit: z.string().default('train').describe('question split the RL loop samples from; default train'),
    evalSplit: z.string().default('dev').describe('question split evaluated during and after training; default dev'),
  })
  .describe('the task data');

const taskSchema = z
  .strictObject({
    searchTopK: positiveInt().default(1).describe('documents returned per wiki_search call (paper: 1); default 1'),
    resultCharBudget: positiveInt().default(200).describe('characters of search output shown to the model (paper: whole article; small on CPU); default 200'),
    maxToolCalls: positiveInt().default(2).describe('assistant messages with a tool call before the episode ends (paper: 2); default 2'),
    systemPrompt: z.enum(['paper', 'short']).default('short').describe("system prompt: the paper's, or a compact one with the same instructions for small models (paper | short); default short"),
  })
  .describe('the search-QA environment');

const rlSchema = z
  .strictObject({
    steps: positiveInt().default(40).describe('optimiser steps of the RL run (paper: 300); default 40'),
    groupSize: z.number().int().min(2).default(8).describe('rollouts per question G (paper: 21); default 8'),
    questionsPerStep: positiveInt().default(8).describe('questions sampled per generation round (paper: 16); default 8'),
    mu: positiveInt().default(2).describe('optimiser steps taken on each generated batch (paper: 2); default 2'),
    temperature: z.number().positive().default(0.9).describe('sampling temperature; logprobs use it too (paper: 0.9); default 0.9'),
    topK: z.number().int().min(0).default(50).describe('top-k sampling, 0 = off (paper: 50); default 50'),
    topP: z.number().gt(0).max(1).default(1).describe('nucleus sampling mass, 1 = off (paper: 1); default 1'),
    maxCompletionTokens: positiveInt().default(160).describe('token budget over all completion turns, tool output included (paper: 1024); default 160'),
    concurrency: positiveInt().default(64).describe('rollouts in flight at once (the sampler batches them); default 64'),
  })
  .describe('reinforcement learning');

const advantageSchema = z
  .strictObject({
    kind: z.enum(ADVANTAGE_KINDS).default('mt-grpo').describe(`advantage estimator (${ADVANTAGE_KINDS.join(' | ')}); default mt-grpo`),
    lambda: nonNegative().default(1).describe('weight of the normalised turn reward on turn-1 tokens in MT-GRPO (paper: 1); default 1'),
    alpha: z.number().min(0).max(1).default(1).describe('discount of later turn rewards in K-turn MT-GRPO (mt-grpo-k only); default 1'),
    reward: z.enum(['outcome', 'merged']).default('merged').describe('scalar reward of rloo / dr-grpo (outcome | merged); default merged'),
  })
  .describe('advantage estimation');

const lossSchema = z
  .strictObject({
    clipEpsilon: z.number().gt(0).lt(1).default(0.2).describe('PPO ratio clip epsilon, symmetric (paper: 0.2); default 0.2'),
    klBeta: nonNegative().default(0).describe('coefficient of the k3 KL to the base policy, 0 = off (paper: 0); default 0'),
    normalization: z.enum(['token-mean', 'sequence-mean']).default('token-mean').describe('loss reduction (token-mean | sequence-mean; paper: token-mean); default token-mean'),
  })
  .describe('the policy-gradient loss');

const optimSchema = z
  .strictObject({
    lr: z.number().positive().default(2e-4).describe('peak AdamW learning rate (paper: 1e-6 for a 7B model); default 2e-4'),
    warmupSteps: z.number().int().min(0).default(5).describe('optimiser steps of linear learning-rate warm-up, then constant (paper: 20); default 5'),
    beta1: z.number().min(0).lt(1).default(0.9).describe('AdamW beta1 (paper: 0.9); default 0.9'),
    beta2: z.number().min(0).lt(1).default(0.99).describe('AdamW beta2 (paper: 0.99); default 0.99'),
    eps: z.number().positive().default(1e-8).describe('AdamW epsilon; default 1e-8'),
    weightDecay: nonNegative().default(0).describe('decoupled weight decay (paper: 0); default 0'),
    gradClip: nonNegative().default(1).describe('global gradient-norm clip, 0 = off (paper: 0.1); default 1'),
  })
  .describe('the optimiser');

const warmStartSchema = z
  .strictObject({
    seed: z.number().int().min(0).default(0).describe('seed of the warm start (shared by every RL seed, so runs start from one base); default 0'),
    corpusCharacters: positiveInt().default(2_000_000).describe('characters of corpus text for the tokenizer and pretraining; default 2000000'),
    demonstrations: positiveInt().default(1500).describe('scripted demonstrations played for SFT; default 1500'),
    pretrainSteps: z.number().int().min(0).default(300).describe('language-model steps on the corpus text; default 300'),
    pretrainBatch: positiveInt().default(16).describe('sequences per pretraining step; default 16'),
    pretrainSeqLength: positiveInt().default(128).describe('tokens per pretraining sequence; default 128'),
    pretrainCopyShare: z.number().min(0).max(1).default(0.5).describe('share of pretraining windows that are an excerpt followed by itself (teaches copying from context); default 0.5'),
    pretrainLr: z.number().positive().default(2e-3).describe('pretraining learning rate; default 2e-3'),
    sftSteps: z.number().int().min(0).default(300).describe('supervised steps on scripted tool-use demonstrations; default 300'),
    sftBatch: positiveInt().default(16).describe('demonstrations per SFT step; default 16'),
    sftLr: z.number().positive().default(1e-3).describe('SFT learning rate; default 1e-3'),
    demoMix: z
      .strictObject({
        good: nonNegative().default(0.35).describe('share of demonstrations that search well and answer from the result; default 0.35'),
        poorQuery: nonNegative().default(0.3).describe('share that search with a poor query; default 0.3'),
        noSearch: nonNegative().default(0.2).describe('share that answer without searching; default 0.2'),
        brokenFormat: nonNegative().default(0.15).describe('share whose format is broken (missing tags, bad JSON); default 0.15'),
      })
      .prefault({})
      .describe('mix of imperfect demonstrations (weights, normalised)'),
    cacheDir: z.string().default('.turnwise/bases').describe('where warm-started bases are cached by config hash; default .turnwise/bases'),
  })
  .describe('the warm start that stands in for a pretrained base model');

const checkpointSchema = z
  .strictObject({
    every: z.number().int().min(0).default(10).describe('optimiser steps between checkpoints, 0 = only at the end; default 10'),
  })
  .describe('checkpoints');

const logSchema = z
  .strictObject({
    trajectoriesEvery: z.number().int().min(0).default(5).describe('generation rounds between sampled-trajectory logs, 0 = never; default 5'),
    trajectoriesCount: positiveInt().default(4).describe('trajectories written per log; default 4'),
    printEvery: positiveInt().default(1).describe('optimiser steps between plain progress lines (non-TTY); default 1'),
  })
  .describe('logging');

const evalSchema = z
  .strictObject({
    questions: positiveInt().default(200).describe('questions per evaluated split (a fixed random subset, the same for every model); default 200'),
    samples: positiveInt().default(1).describe('sampled completions per question in sampled mode (paper: 1); default 1'),
  })
  .describe('evaluation');

const TINKER_ONLY = '(tinker only)';

/**
 * Backend settings that change how the service is reached, not what is trained: a resumed run may
 * change them (`turnwise train --resume RUN --backend.baseUrl=...`), and the config hash leaves them out.
 */
export const BACKEND_CONNECTION_KEYS = ['baseUrl', 'apiKeyEnv', 'requestTimeoutSeconds', 'retryAttempts', 'heartbeatSeconds'] as const;

const backendSchema = z
  .strictObject({
    kind: z
      .enum(['local', 'tinker'])
      .default('local')
      .describe(
        'where the policy trains (local | tinker): local = the embedded CPU engine, starting from the warm-started base (warmStart.*, model.*); ' +
          'tinker = a Tinker-protocol service (hosted Tinker, a SkyRL server, turnwise serve) training a LoRA of backend.baseModel, which is the starting policy: ' +
          'the warm start is skipped and warmStart.* and model.* are not used; default local',
      ),
    baseUrl: z.string().default('').describe(`server root URL, e.g. http://127.0.0.1:8000 (required for tinker; no credentials in it) ${TINKER_ONLY}; default ""`),
    apiKeyEnv: z
      .string()
      .regex(/^([A-Za-z_][A-Za-z0-9_]*)?$/, 'expected an environment variable NAME (letters, digits, _), not the key itself')
      .default('TINKER_API_KEY')
      .describe(`NAME of the environment variable holding the API key, sent as X-API-Key (the key itself is never written to config.json); "" = send no key ${TINKER_ONLY}; default TINKER_API_KEY`),
    baseModel: z.string().default('').describe(`base model the service trains a LoRA of, e.g. Qwen/Qwen3-8B (required for tinker) ${TINKER_ONLY}; default ""`),
    loraRank: positiveInt().default(32).describe(`LoRA rank of the training client ${TINKER_ONLY}; default 32`),
    capabilities: z
      .enum(['auto', 'hosted', 'skyrl', 'turnwise'])
      .default('auto')
      .describe(`server family whose protocol differences the client respects (auto = detect from client/config | hosted | skyrl | turnwise) ${TINKER_ONLY}; default auto`),
    tokenizerDir: z
      .string()
      .default('')
      .describe(`directory with the base model's tokenizer.json and tokenizer_config.json (its chat_template renders conversations; required for tinker) ${TINKER_ONLY}; default ""`),
    requestTimeoutSeconds: z.number().positive().default(60).describe(`timeout of one HTTP attempt, in seconds ${TINKER_ONLY}; default 60`),
    retryAttempts: positiveInt().default(10).describe(`attempts per request on connection errors, 408, 409, 429 and 5xx, the first included ${TINKER_ONLY}; default 10`),
    heartbeatSeconds: z.number().positive().default(10).describe(`seconds between session heartbeats (sessions expire after 300 s without one) ${TINKER_ONLY}; default 10`),
  })
  .superRefine((backend, context) => {
    if (backend.kind !== 'tinker') return;
    const required: [keyof typeof backend, string][] = [
      ['baseUrl', 'the service URL, e.g. --backend.baseUrl=http://127.0.0.1:8000'],
      ['baseModel', 'the base model, e.g. --backend.baseModel=Qwen/Qwen3-8B'],
      ['tokenizerDir', "a directory with the base model's tokenizer.json and tokenizer_config.json, e.g. --backend.tokenizerDir=models/qwen3-8b"],
    ];
    for (const [key, example] of required) {
      if (backend[key] === '') context.addIssue({ code: 'custom', path: [key], message: `backend.kind is tinker, which needs ${example}` });
    }
    if (backend.baseUrl !== '') {
      let url: URL | undefined;
      try {
        url = new URL(backend.baseUrl);
      } catch {
        url = undefined;
      }
      if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
        context.addIssue({ code: 'custom', path: ['baseUrl'], message: 'expected an http:// or https:// URL' });
      } else if (url.username !== '' || url.password !== '') {
        context.addIssue({ code: 'custom', path: ['baseUrl'], message: 'the URL must not carry credentials (they would be written to config.json); put the key in the environment variable named by backend.apiKeyEnv' });
      }
    }
  })
  .describe('the backend that holds, trains and samples the policy');

/** The whole training config. */
export const trainConfigSchema = z
  .strictObject({
    name: z.string().min(1).default('run').describe('run name, used in logs and reports; default run'),
    runDir: z.string().default('').describe('directory of this run (config, metrics, checkpoints); default runs/<name>-seed<seed>'),
    seed: z.number().int().min(0).max(0xffffffff).default(0).describe('seed of every random draw of the run; default 0'),
    backend: backendSchema.prefault({}),
    model: modelSchema.prefault({}),
    data: dataSchema.prefault({}),
    task: taskSchema.prefault({}),
    rl: rlSchema.prefault({}),
    advantage: advantageSchema.prefault({}),
    loss: lossSchema.prefault({}),
    optim: optimSchema.prefault({}),
    warmStart: warmStartSchema.prefault({}),
    checkpoint: checkpointSchema.prefault({}),
    log: logSchema.prefault({}),
    eval: evalSchema.prefault({}),
  })
  .superRefine((config, context) => {
    // What a remote base model cannot do, named by the field that asks for it.
    if (config.backend?.kind !== 'tinker') return;
    if (typeof config.loss?.klBeta === 'number' && config.loss.klBeta > 0) {
      context.addIssue({ code: 'custom', path: ['loss', 'klBeta'], message: 'the KL term needs a frozen reference policy, which backend.kind=tinker does not provide; set --loss.klBeta=0' });
    }
    const capabilities = config.backend.capabilities;
    if ((capabilities === 'hosted' || capabilities === 'skyrl') && typeof config.rl?.temperature === 'number' && config.rl.temperature !== 1) {
      context.addIssue({
        code: 'custom',
        path: ['rl', 'temperature'],
        message: `rl.temperature is ${config.rl.temperature}, but a ${capabilities} Tinker server computes training logprobs at temperature 1, so sampling must use it too; set --rl.temperature=1`,
      });
    }
  })
  .describe('turnwise training config');

/** A fully resolved training config (every default filled in). */
export type TrainConfig = z.output<typeof trainConfigSchema>;
/** A partial config as written in a file (every field optional). */
export type TrainConfigInput = z.input<typeof trainConfigSchema>;

/** The estimator config (`createEstimator` input) named by a training config. */
export function estimatorConfigOf(config: TrainConfig): Record<string, unknown> {
  const { kind, lambda, alpha, reward } = config.advantage;
  if (kind === 'mt-grpo') return { kind, lambda };
  if (kind === 'mt-grpo-k') return { kind, alpha };
  if (kind === 'rloo' || kind === 'dr-grpo') return { kind, reward };
  return { kind };
}

/** The run directory of a config: `runDir` when set, else `runs/<name>-seed<seed>`. */
export function resolveRunDir(config: TrainConfig): string {
  return config.runDir !== '' ? config.runDir : `runs/${config.name}-seed${config.seed}`;
}
