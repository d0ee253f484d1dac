/**
 * The `task` section of the search-QA task (`task.name: search-qa`): the data tier and directory,
 * the environment (search results, tool budget, system prompt), and the warm start that stands in
 * for a pretrained base on the embedded engine (`task.model`, `task.warmStart`). One zod schema is
 * the single source of the type, defaults and documentation, as for the rest of the config.
 */
import { z } from 'zod';
import { ConfigError } from '../../errors.js';
import type { TrainConfig } from '../../train/config.js';

const positiveInt = () => z.number().int().min(1);
const nonNegative = () => z.number().min(0);

/** Model presets of the warm-started engine model (Hugging Face `config.json` field names). */
export const MODEL_PRESETS = {
  /** For tests: about 0.1M parameters. */
  tiny: {
    hidden_size: 32,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    num_key_value_heads: 2,
    intermediate_size: 64,
  },
  /** The demo's model: about 1M parameters, trains in minutes on 2 cores. */
  small: {
    hidden_size: 128,
    num_hidden_layers: 3,
    num_attention_heads: 4,
    num_key_value_heads: 4,
    intermediate_size: 384,
  },
  /** A larger CPU model: about 4M parameters. */
  base: {
    hidden_size: 256,
    num_hidden_layers: 4,
    num_attention_heads: 4,
    num_key_value_heads: 4,
    intermediate_size: 768,
  },
} as const;

/** The names of the model presets. */
export type ModelSize = keyof typeof MODEL_PRESETS;

const modelSchema = z
  .strictObject({
    size: z
      .enum(['tiny', 'small', 'base'])
      .default('small')
      .describe('model preset of the embedded engine (tiny | small | base); default small'),
    vocabSize: positiveInt()
      .default(1024)
      .describe('byte-level BPE vocabulary trained on the corpus, in tokens; default 1024'),
    contextLength: positiveInt()
      .max(32_768)
      .default(768)
      .describe('longest sequence the model is trained on (prompt + all turns), in tokens, at most 32768; default 768'),
    ropeTheta: z.number().positive().default(10000).describe('RoPE base frequency; default 10000'),
  })
  .describe('the policy model');

const warmStartSchema = z
  .strictObject({
    seed: z
      .number()
      .int()
      .min(0)
      .default(0)
      .describe('seed of the warm start (shared by every RL seed, so runs start from one base); default 0'),
    corpusCharacters: positiveInt()
      .default(2_000_000)
      .describe('characters of corpus text for the tokenizer and pretraining; default 2000000'),
    demonstrations: positiveInt().default(1500).describe('scripted demonstrations played for SFT; default 1500'),
    pretrainSteps: z
      .number()
      .int()
      .min(0)
      .default(300)
      .describe('language-model steps on the corpus text; default 300'),
    pretrainBatch: positiveInt().default(16).describe('sequences per pretraining step; default 16'),
    pretrainSeqLength: positiveInt().default(128).describe('tokens per pretraining sequence; default 128'),
    pretrainCopyShare: z
      .number()
      .min(0)
      .max(1)
      .default(0.5)
      .describe(
        'share of pretraining windows that are an excerpt followed ' +
          'by itself (teaches copying from context); default 0.5',
      ),
    pretrainLr: z.number().positive().default(2e-3).describe('pretraining learning rate; default 2e-3'),
    sftSteps: z
      .number()
      .int()
      .min(0)
      .default(300)
      .describe('supervised steps on scripted tool-use demonstrations; default 300'),
    sftBatch: positiveInt().default(16).describe('demonstrations per SFT step; default 16'),
    sftLr: z.number().positive().default(1e-3).describe('SFT learning rate; default 1e-3'),
    demoMix: z
      .strictObject({
        good: nonNegative()
          .default(0.35)
          .describe('share of demonstrations that search well and answer from the result; default 0.35'),
        poorQuery: nonNegative().default(0.3).describe('share that search with a poor query; default 0.3'),
        noSearch: nonNegative().default(0.2).describe('share that answer without searching; default 0.2'),
        brokenFormat: nonNegative()
          .default(0.15)
          .describe('share whose format is broken (missing tags, bad JSON); default 0.15'),
      })
      .prefault({})
      .describe('mix of imperfect demonstrations (weights, normalised)'),
    cacheDir: z
      .string()
      .default('.turnwise/bases')
      .describe('where warm-started bases are cached by a hash of their recipe and data; default .turnwise/bases'),
  })
  .describe('the warm start that stands in for a pretrained base model');

/** Schema of the search-QA task section. */
export const searchQaConfigSchema = z
  .strictObject({
    name: z.literal('search-qa').default('search-qa').describe('the task: search-qa; default search-qa'),
    tier: z
      .enum(['S', 'M'])
      .default('M')
      .describe('corpus/question tier of the search-QA task (S = tests, M = default); default M'),
    dir: z
      .string()
      .default('')
      .describe(
        'directory holding the built corpus, questions and search index; ' +
          'default .turnwise/data/<tier> (or $TURNWISE_DATA_DIR/<tier>)',
      ),
    searchTopK: positiveInt().default(1).describe('documents returned per wiki_search call (paper: 1); default 1'),
    resultCharBudget: positiveInt()
      .default(200)
      .describe('characters of search output shown to the model (paper: whole article; small on CPU); default 200'),
    resultWindow: z
      .enum(['start', 'query'])
      .default('start')
      .describe(
        'where a search result that does not fit resultCharBudget is shown from: its first line, or the line ' +
          'that best matches the query, as a search engine snippet is (start | query); default start',
      ),
    maxToolCalls: positiveInt()
      .default(2)
      .describe('assistant messages with a tool call before the episode ends (paper: 2); default 2'),
    systemPrompt: z
      .enum(['paper', 'short'])
      .default('short')
      .describe(
        "system prompt: the paper's, or a compact one with the same " +
          'instructions for small models (paper | short); default short',
      ),
    format: z
      .enum(['xml', 'hermes'])
      .default('xml')
      .describe(
        "how the model calls tools: the paper's XML (<tool>, <result>) or Qwen/Hermes <tool_call> as " +
          "the OpenAI-compatible gateway renders them, for agents of one's own (xml | hermes); default xml",
      ),
    trainingPhrasings: z
      .enum(['template', 'varied'])
      .default('template')
      .describe(
        'wording of the training questions: each kind in its one template wording, or varied over four ' +
          'wordings per kind (none of them a held-out phrasing) (template | varied); default template',
      ),
    trainRowsPerFamily: z
      .number()
      .int()
      .min(0)
      .default(0)
      .describe(
        'training questions kept per question family (the demonstrations and RL draw from them), so that no ' +
          'one kind sets the habits of the policy; 0 keeps them all; default 0',
      ),
    model: modelSchema.prefault({}),
    warmStart: warmStartSchema.prefault({}),
  })
  .describe("the search-QA task (the paper's search agent over a local encyclopedia)");

/** A resolved search-QA task section. */
export type SearchQaConfig = z.output<typeof searchQaConfigSchema>;

/** The search-QA section of a training config, validated (a ConfigError naming the bad key otherwise). */
export function searchQaConfigOf(config: TrainConfig): SearchQaConfig {
  const parsed = searchQaConfigSchema.safeParse(config.task);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(`config key "task.${issue.path.join('.')}": ${issue.message} (the search-QA task section)`);
  }
  return parsed.data;
}
