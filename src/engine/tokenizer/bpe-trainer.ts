/**
 * A deterministic byte-level BPE trainer (the algorithm of Hugging Face `tokenizers`' BpeTrainer).
 * Text is split on the added tokens, NFC-normalised and pre-tokenised with the Qwen2 split regex
 * (through `@huggingface/tokenizers`' own Split pre-tokenizer, so training and encoding cut text the
 * same way); each distinct piece becomes a word of byte symbols with its frequency. Merges are then
 * learnt greedily: the most frequent adjacent pair (ties: the pair of smaller ids) becomes a new
 * symbol, with pair counts updated incrementally through a pair -> words index and a lazy max-heap.
 *
 * Ids: 0..255 are the byte alphabet in GPT-2 order, then one id per merge, then the added tokens
 * (special tokens first), so the vocabulary holds exactly `vocabSize` ids when the text has enough
 * pairs occurring at least `minFrequency` times.
 */
import * as hfTokenizers from '@huggingface/tokenizers';
import { ConfigError } from '../../errors.js';
import { BYTE_TO_CHAR, BYTES_IN_VOCAB_ORDER, QWEN2_SPLIT_PATTERN } from './byte-level.js';
import { WordTable } from './bpe-word-table.js';

// The package's .d.ts files use extensionless relative imports that NodeNext cannot follow, so the
// pre-tokenizer classes are typed here by hand.
const { SplitPreTokenizer } = hfTokenizers as unknown as {
  SplitPreTokenizer: new (config: {
    type: 'Split';
    pattern: { Regex: string };
    behavior: 'Isolated';
    invert: boolean;
  }) => { pattern: RegExp | null };
};

/** The special tokens of a ChatML tokenizer, in id order. */
export const CHATML_SPECIAL_TOKENS = ['<|endoftext|>', '<|im_start|>', '<|im_end|>'] as const;

/** Options of `trainBpe`. */
export interface BpeTrainerOptions {
  /** Total ids: 256 bytes + merges + added tokens. */
  vocabSize: number;
  /** Special tokens (atomic, `special: true`); default `CHATML_SPECIAL_TOKENS`. */
  specialTokens?: readonly string[];
  /** Other atomic tokens such as task tags (`<tool>`), `special: false` so they are ordinary text. */
  addedTokens?: readonly string[];
  /** A pair must occur at least this often to be merged (default 2). */
  minFrequency?: number;
  /** Pre-tokenizer regex in Oniguruma syntax (default the Qwen2 pattern). */
  splitPattern?: string;
  /**
   * Train on about this many characters: from an array, evenly spaced texts are kept (a deterministic
   * sample of the whole corpus); from any other iterable, the first texts up to the limit.
   */
  maxCharacters?: number;
}

/** One added token of the vocabulary. */
export interface AddedTokenSpec {
  id: number;
  content: string;
  special: boolean;
}

/** A trained byte-level BPE model. */
export interface TrainedBpe {
  /** Byte-level token string of each BPE id (added tokens excluded). */
  vocab: string[];
  /** Merges in rank order, as pairs of byte-level token strings. */
  merges: Array<[string, string]>;
  /** Added tokens with their ids (after the BPE ids). */
  addedTokens: AddedTokenSpec[];
  /** The pre-tokenizer regex used. */
  splitPattern: string;
  /** Distinct pre-tokenised words, pieces, UTF-16 code units read, and the seconds of each phase. */
  stats: { words: number; pieces: number; characters: number; countSeconds: number; mergeSeconds: number };
}

/** Trains a byte-level BPE model on `texts` (documents or chunks; pieces never span two texts). */
export function trainBpe(texts: Iterable<string>, options: BpeTrainerOptions): TrainedBpe {
  const specials = [...(options.specialTokens ?? CHATML_SPECIAL_TOKENS)];
  const added = [...(options.addedTokens ?? [])];
  const allAdded = [...specials, ...added];
  const minFrequency = options.minFrequency ?? 2;
  const splitPattern = options.splitPattern ?? QWEN2_SPLIT_PATTERN;
  if (new Set(allAdded).size !== allAdded.length || allAdded.some((token) => token.length === 0)) {
    throw new ConfigError(`tokenizer added tokens must be distinct and non-empty, got ${JSON.stringify(allAdded)}`);
  }
  if (!Number.isInteger(options.vocabSize) || options.vocabSize < 256 + allAdded.length) {
    throw new ConfigError(
      `tokenizer vocabSize must be an integer >= ${256 + allAdded.length} ` +
        `(256 bytes + ${allAdded.length} added tokens), got ${options.vocabSize}`,
    );
  }
  if (!Number.isInteger(minFrequency) || minFrequency < 1)
    throw new ConfigError(`tokenizer minFrequency must be a positive integer, got ${minFrequency}`);

  const countStart = performance.now();
  const counted = countWords(sampleTexts(texts, options.maxCharacters), allAdded, splitPattern);
  const mergeStart = performance.now();
  const words = WordTable.fromCounts(counted.counts);
  const bpeSize = options.vocabSize - allAdded.length;
  const vocab = BYTES_IN_VOCAB_ORDER.map((byte) => BYTE_TO_CHAR[byte]!);
  const idOfToken = new Map(vocab.map((token, id) => [token, id]));
  const merges: Array<[string, string]> = [];
  words.learnMerges(bpeSize, options.vocabSize, minFrequency, (left, right) => {
    const token = vocab[left]! + vocab[right]!;
    merges.push([vocab[left]!, vocab[right]!]);
    let id = idOfToken.get(token);
    if (id === undefined) {
      id = vocab.length;
      vocab.push(token);
      idOfToken.set(token, id);
    }
    return { id, vocabSize: vocab.length };
  });
  const addedTokens = allAdded.map((content, i) => ({ id: vocab.length + i, content, special: i < specials.length }));
  const stats = {
    words: counted.counts.size,
    pieces: counted.pieces,
    characters: counted.characters,
    countSeconds: (mergeStart - countStart) / 1000,
    mergeSeconds: (performance.now() - mergeStart) / 1000,
  };
  return { vocab, merges, addedTokens, splitPattern, stats };
}

/** The texts to train on under a `maxCharacters` budget (see BpeTrainerOptions). */
export function* sampleTexts(texts: Iterable<string>, maxCharacters: number | undefined): Generator<string> {
  if (maxCharacters === undefined) return yield* texts;
  if (!(maxCharacters > 0)) throw new ConfigError(`tokenizer maxCharacters must be positive, got ${maxCharacters}`);
  if (Array.isArray(texts)) {
    const total = texts.reduce((sum: number, text: string) => sum + text.length, 0);
    const fraction = Math.min(1, maxCharacters / Math.max(total, 1));
    // Keep text i when the running quota floor(i * fraction) steps up: evenly spaced, deterministic.
    for (let i = 0; i < texts.length; i++)
      if (Math.floor((i + 1) * fraction) > Math.floor(i * fraction)) yield texts[i] as string;
    return;
  }
  let used = 0;
  for (const text of texts) {
    if (used >= maxCharacters) return;
    used += text.length;
    yield text;
  }
}

/** Counts the pre-tokenised pieces of `texts`, skipping the added tokens. */
function countWords(
  texts: Iterable<string>,
  addedTokens: string[],
  splitPattern: string,
): { counts: Map<string, number>; pieces: number; characters: number } {
  const pattern = new SplitPreTokenizer({
    type: 'Split',
    pattern: { Regex: splitPattern },
    behavior: 'Isolated',
    invert: false,
  }).pattern;
  if (pattern === null) throw new ConfigError(`tokenizer splitPattern could not be compiled: ${splitPattern}`);
  const addedSplitter =
    addedTokens.length === 0
      ? null
      : new RegExp(
          addedTokens
            .map(escapeRegExp)
            .sort((a, b) => b.length - a.length)
            .join('|'),
          'g',
        );
  const counts = new Map<string, number>();
  let pieces = 0;
  let characters = 0;
  const countPiece = (piece: string): void => {
    counts.set(piece, (counts.get(piece) ?? 0) + 1);
    pieces++;
  };
  for (const text of texts) {
    characters += text.length;
    const sections = addedSplitter === null ? [text] : text.split(addedSplitter);
    for (const section of sections) {
      if (section.length === 0) continue;
      const normalized = section.normalize('NFC');
      let previous = 0;
      for (const match of normalized.matchAll(pattern)) {
        if (previous < match.index) countPiece(normalized.slice(previous, match.index));
        if (match[0].length > 0) countPiece(match[0]);
        previous = match.index + match[0].length;
      }
      if (previous < normalized.length) countPiece(normalized.slice(previous));
    }
  }
  return { counts, pieces, characters };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
