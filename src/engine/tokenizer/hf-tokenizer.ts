/**
 * The engine's Tokenizer: any Hugging Face `tokenizer.json` (+ optional `tokenizer_config.json`)
 * loaded through `@huggingface/tokenizers`, the same code path as a real model's tokenizer. Encoding
 * never adds special tokens (special-token strings in the text still map to their ids); decoding
 * keeps special tokens verbatim and does not "clean up" spaces, so decode(encode(text)) == text for
 * NFC text with byte-level tokenizers.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Tokenizer as HfTokenizersTokenizer } from '@huggingface/tokenizers';
import { CheckpointError, DataError } from '../../errors.js';
import type { Tokenizer } from '../../rollout/tokenizer.js';
import { BYTE_TO_CHAR, CHAR_TO_BYTE } from './byte-level.js';

/** A Hugging Face tokenizer behind the turnwise Tokenizer contract. */
export class HfTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly eosTokenId: number | undefined;
  /** The `chat_template` of tokenizer_config.json, when it has one. */
  readonly chatTemplate: string | undefined;
  private readonly inner: HfTokenizersTokenizer;
  private readonly sources: { tokenizer: unknown; config: unknown };
  private readonly known: Uint8Array; // known[id] = 1 when id is in the vocabulary
  /** Added tokens by id: their text and whether they are special. */
  private readonly added = new Map<number, { content: string; special: boolean }>();
  /** True when the decoder maps byte-level alphabet characters back to bytes (GPT-2, Qwen, Llama 3). */
  private readonly byteLevel: boolean;

  /** Builds a tokenizer from parsed `tokenizer.json` and `tokenizer_config.json` objects. */
  constructor(tokenizerJson: unknown, tokenizerConfig: unknown = {}, source = 'tokenizer.json') {
    if (!isObject(tokenizerJson) || !isObject(tokenizerJson.model))
      throw new CheckpointError(`${source}: expected an object with a "model" field`);
    if (!isObject(tokenizerConfig)) throw new CheckpointError(`${source}: tokenizer_config must be a JSON object`);
    const json = {
      added_tokens: [],
      normalizer: null,
      pre_tokenizer: null,
      post_processor: null,
      decoder: null,
      ...tokenizerJson,
    };
    checkByteLevelAlphabet(json, source);
    try {
      this.inner = new HfTokenizersTokenizer(json, tokenizerConfig);
    } catch (error) {
      throw new CheckpointError(`${source}: @huggingface/tokenizers cannot load it: ${(error as Error).message}`);
    }
    replaceWordCache(this.inner);
    const vocab = this.inner.get_vocab(true);
    let maxId = -1;
    for (const id of vocab.values()) maxId = Math.max(maxId, id);
    this.vocabSize = maxId + 1;
    this.known = new Uint8Array(this.vocabSize);
    for (const id of vocab.values()) this.known[id] = 1;
    const eos = tokenContent(tokenizerConfig.eos_token);
    this.eosTokenId = eos !== undefined ? this.inner.token_to_id(eos) : this.inner.token_to_id('<|endoftext|>');
    this.chatTemplate = typeof tokenizerConfig.chat_template === 'string' ? tokenizerConfig.chat_template : undefined;
    this.sources = { tokenizer: tokenizerJson, config: tokenizerConfig };
    const addedTokens: unknown[] = Array.isArray(json.added_tokens) ? json.added_tokens : [];
    for (const token of addedTokens) {
      if (isObject(token) && typeof token.id === 'number' && typeof token.content === 'string')
        this.added.set(token.id, { content: token.content, special: token.special === true });
    }
    this.byteLevel = hasByteLevelDecoder(json.decoder);
  }

  /** The `tokenizer.json` and `tokenizer_config.json` texts it was built from, to save beside a checkpoint. */
  toFiles(): Record<string, string> {
    return {
      'tokenizer.json': `${JSON.stringify(this.sources.tokenizer)}\n`,
      'tokenizer_config.json': `${JSON.stringify(this.sources.config, null, 2)}\n`,
    };
  }

  /** Token ids of `text`, without BOS/EOS; special-token strings map to their ids. */
  encode(text: string): number[] {
    const { ids, tokens } = this.inner.encode(text, { add_special_tokens: false }) as {
      ids: Array<number | undefined>;
      tokens: string[];
    };
    const bad = ids.findIndex((id) => typeof id !== 'number');
    if (bad >= 0)
      throw new DataError(
        `tokenizer has no id for piece ${JSON.stringify(tokens[bad])} of the text (no unk_token and no byte fallback)`,
      );
    return ids as number[];
  }

  /** Text of `ids`, special tokens included verbatim, spaces untouched. */
  decode(ids: number[]): string {
    if (ids.length === 0) return '';
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize || this.known[id] === 0) {
        throw new DataError(`token id ${id} is not in the tokenizer's vocabulary (size ${this.vocabSize})`);
      }
    }
    return this.inner.decode(ids, { skip_special_tokens: false, clean_up_tokenization_spaces: false });
  }

  /** Id of a token string (special or not), or undefined. */
  tokenId(token: string): number | undefined {
    return this.inner.token_to_id(token);
  }

  /**
   * The raw bytes of one token: an added token's UTF-8 text; a byte-level BPE token's characters
   * mapped back to bytes (possibly part of a UTF-8 character); a SentencePiece byte-fallback
   * token `<0xNN>` its byte; any other token the UTF-8 of its decoded text.
   */
  tokenBytes(id: number): Uint8Array {
    const added = this.added.get(id);
    if (added) return new TextEncoder().encode(added.content);
    const piece = this.inner.id_to_token(id) as string | undefined;
    if (piece === undefined)
      throw new DataError(`token id ${id} is not in the tokenizer's vocabulary (size ${this.vocabSize})`);
    if (this.byteLevel) {
      const bytes = Array.from(piece, (char) => CHAR_TO_BYTE.get(char));
      if (bytes.every((byte) => byte !== undefined)) return Uint8Array.from(bytes as number[]);
    }
    const fallback = /^<0x([0-9A-Fa-f]{2})>$/.exec(piece);
    if (fallback) return Uint8Array.of(Number.parseInt(fallback[1]!, 16));
    return new TextEncoder().encode(this.decode([id]));
  }

  /** True for added tokens marked `special` in tokenizer.json. */
  isSpecialToken(id: number): boolean {
    return this.added.get(id)?.special ?? false;
  }

  /** Token string of an id, or undefined. */
  idToToken(id: number): string | undefined {
    return this.inner.id_to_token(id);
  }

  /** Reads `tokenizer.json` and, when present, `tokenizer_config.json` from a directory. */
  static async load(directory: string): Promise<HfTokenizer> {
    const tokenizerPath = join(directory, 'tokenizer.json');
    const tokenizerJson = await readJson(tokenizerPath, true);
    const config = (await readJson(join(directory, 'tokenizer_config.json'), false)) ?? {};
    return new HfTokenizer(tokenizerJson, config, tokenizerPath);
  }
}

/** Loads the tokenizer files in `directory` (a checkpoint or a model folder). */
export function loadTokenizer(directory: string): Promise<HfTokenizer> {
  return HfTokenizer.load(directory);
}

async function readJson(path: string, required: boolean): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf-8');
  } catch (error) {
    if (!required && (error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CheckpointError(`cannot read ${path}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new CheckpointError(`${path} is not valid JSON: ${(error as Error).message}`);
  }
}

/**
 * The library memoises BPE per word in an LRU cache whose get() deletes and re-inserts into a Map,
 * which dominated encoding time (about 20 us a lookup). A plain bounded Map (cleared when full) is a
 * drop-in replacement: the cache only memoises a pure function, so the tokens are unchanged.
 */
function replaceWordCache(inner: HfTokenizersTokenizer): void {
  const model = (inner as unknown as { model?: { cache?: unknown } }).model;
  if (
    model === undefined ||
    !isObject(model.cache) ||
    typeof model.cache.get !== 'function' ||
    typeof model.cache.put !== 'function'
  )
    return;
  const entries = new Map<string, unknown>();
  model.cache = {
    get: (key: string) => entries.get(key),
    put: (key: string, value: unknown) => {
      if (entries.size >= WORD_CACHE_ENTRIES) entries.clear();
      entries.set(key, value);
    },
    clear: () => entries.clear(),
  };
}

const WORD_CACHE_ENTRIES = 200_000;

/** A byte-level BPE must hold all 256 byte characters, or the library silently drops unknown pieces. */
function checkByteLevelAlphabet(json: Record<string, unknown>, source: string): void {
  const model = json.model as Record<string, unknown>;
  const decoder = json.decoder;
  if (
    model.type !== 'BPE' ||
    model.byte_fallback === true ||
    !isObject(decoder) ||
    decoder.type !== 'ByteLevel' ||
    !isObject(model.vocab)
  )
    return;
  const vocab = model.vocab;
  const missing = BYTE_TO_CHAR.filter((char) => !(char in vocab));
  if (missing.length > 0) {
    throw new CheckpointError(
      `${source}: the byte-level BPE vocabulary lacks ${missing.length} of the 256 byte characters (${missing
        .slice(0, 8)
        .map((char) => JSON.stringify(char))
        .join(', ')}...); text with those bytes could not be encoded`,
    );
  }
}

function hasByteLevelDecoder(decoder: unknown): boolean {
  if (!isObject(decoder)) return false;
  if (decoder.type === 'ByteLevel') return true;
  return decoder.type === 'Sequence' && Array.isArray(decoder.decoders) && decoder.decoders.some(hasByteLevelDecoder);
}

function tokenContent(token: unknown): string | undefined {
  if (typeof token === 'string') return token;
  if (isObject(token) && typeof token.content === 'string') return token.content;
  return undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
