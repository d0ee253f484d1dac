/**
 * Hugging Face tokenizer files for a trained byte-level BPE: `tokenizer.json` in the layout of
 * Qwen2's (NFC normaliser, Split regex + ByteLevel pre-tokenizer, BPE model with "a b" merges,
 * ByteLevel decoder, added tokens after the BPE ids) and `tokenizer_config.json` with a ChatML
 * `chat_template`, so transformers, tokenizers and `@huggingface/tokenizers` all load them.
 */
import { join } from 'node:path';
import { writeFileAtomic } from '../atomic-write.js';
import type { TrainedBpe } from './bpe-trainer.js';
import { CHATML_TEMPLATE } from '../../rollout/chat-template-renderer.js';

/** ChatML (Qwen2.5's format without its default system message and tool sections). */
export const CHATML_CHAT_TEMPLATE = CHATML_TEMPLATE;

/** Options of `buildTokenizerConfig`. */
export interface TokenizerConfigOptions {
  /** Jinja chat template (default ChatML). */
  chatTemplate?: string;
  /** End-of-sequence token (default `<|im_end|>` when present, else `<|endoftext|>`). */
  eosToken?: string;
  /** Padding token (default `<|endoftext|>` when present). */
  padToken?: string;
  /** `model_max_length` (default 32768). */
  modelMaxLength?: number;
}

const BYTE_LEVEL = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false };

/** The `tokenizer.json` object of a trained model. */
export function buildTokenizerJson(trained: TrainedBpe): Record<string, unknown> {
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: trained.addedTokens.map((token) => ({
      id: token.id,
      content: token.content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: token.special,
    })),
    normalizer: { type: 'NFC' },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: trained.splitPattern }, behavior: 'Isolated', invert: false },
        BYTE_LEVEL,
      ],
    },
    post_processor: BYTE_LEVEL,
    decoder: BYTE_LEVEL,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: Object.fromEntries(trained.vocab.map((token, id) => [token, id])),
      merges: trained.merges.map(([left, right]) => `${left} ${right}`),
    },
  };
}

/** The `tokenizer_config.json` object (Qwen2-style) of a trained model. */
export function buildTokenizerConfig(
  trained: TrainedBpe,
  options: TokenizerConfigOptions = {},
): Record<string, unknown> {
  const contents = new Set(trained.addedTokens.map((token) => token.content));
  const pick = (wanted: string | undefined, ...defaults: string[]): string | null =>
    wanted ?? defaults.find((token) => contents.has(token)) ?? null;
  const eosToken = pick(options.eosToken, '<|im_end|>', '<|endoftext|>');
  const padToken = pick(options.padToken, '<|endoftext|>');
  const special = trained.addedTokens.filter((token) => token.special).map((token) => token.content);
  return {
    add_bos_token: false,
    add_prefix_space: false,
    added_tokens_decoder: Object.fromEntries(
      trained.addedTokens.map((token) => [
        String(token.id),
        {
          content: token.content,
          lstrip: false,
          normalized: false,
          rstrip: false,
          single_word: false,
          special: token.special,
        },
      ]),
    ),
    additional_special_tokens: special.filter((token) => token !== eosToken && token !== padToken),
    bos_token: null,
    chat_template: options.chatTemplate ?? CHATML_CHAT_TEMPLATE,
    clean_up_tokenization_spaces: false,
    eos_token: eosToken,
    errors: 'replace',
    model_max_length: options.modelMaxLength ?? 32768,
    pad_token: padToken,
    split_special_tokens: false,
    tokenizer_class: 'Qwen2Tokenizer',
    unk_token: null,
  };
}

/** The two files' texts by name, e.g. for `writeCheckpoint(dir, { ..., files })`. */
export function tokenizerFiles(trained: TrainedBpe, options: TokenizerConfigOptions = {}): Record<string, string> {
  return {
    'tokenizer.json': `${JSON.stringify(buildTokenizerJson(trained), null, 2)}\n`,
    'tokenizer_config.json': `${JSON.stringify(buildTokenizerConfig(trained, options), null, 2)}\n`,
  };
}

/** Writes `tokenizer.json` and `tokenizer_config.json` into `directory`, each atomically. */
export async function writeTokenizerFiles(
  directory: string,
  trained: TrainedBpe,
  options: TokenizerConfigOptions = {},
): Promise<void> {
  for (const [name, text] of Object.entries(tokenizerFiles(trained, options)))
    await writeFileAtomic(join(directory, name), text);
}
