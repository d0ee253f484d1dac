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

// The package's .d.ts files use extensionless relative imports that NodeNext cannot follow, so the
// pre-tokenizer classes are typed here by hand.
const { SplitPreTokenizer } = hfTokenizers as unknown as {
  SplitPreTokenizer: new (config: { type: 'Split'; pattern: { Regex: string }; behavior: 'Isolated'; invert: boolean }) => { pattern: RegExp | null };
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
    throw new ConfigError(`tokenizer vocabSize must be an integer >= ${256 + allAdded.length} (256 bytes + ${allAdded.length} added tokens), got ${options.vocabSize}`);
  }
  if (!Number.isInteger(minFrequency) || minFrequency < 1) throw new ConfigError(`tokenizer minFrequency must be a positive integer, got ${minFrequency}`);

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
    for (let i = 0; i < texts.length; i++) if (Math.floor((i + 1) * fraction) > Math.floor(i * fraction)) yield texts[i] as string;
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
function countWords(texts: Iterable<string>, addedTokens: string[], splitPattern: string): { counts: Map<string, number>; pieces: number; characters: number } {
  const pattern = new SplitPreTokenizer({ type: 'Split', pattern: { Regex: splitPattern }, behavior: 'Isolated', invert: false }).pattern;
  if (pattern === null) throw new ConfigError(`tokenizer splitPattern could not be compiled: ${splitPattern}`);
  const addedSplitter = addedTokens.length === 0 ? null : new RegExp(addedTokens.map(escapeRegExp).sort((a, b) => b.length - a.length).join('|'), 'g');
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

/** Words as byte-symbol sequences in one buffer, with the incremental pair statistics of BPE. */
class WordTable {
  private constructor(
    private readonly symbols: Int32Array, // all words' symbols, word w at [start[w], start[w] + length[w])
    private readonly start: Int32Array,
    private readonly length: Int32Array,
    private readonly frequency: Float64Array,
  ) {}

  static fromCounts(counts: Map<string, number>): WordTable {
    const encoder = new TextEncoder();
    const idOfByte = new Int32Array(256);
    BYTES_IN_VOCAB_ORDER.forEach((byte, id) => (idOfByte[byte] = id));
    const encoded: Uint8Array[] = [];
    const frequency = new Float64Array(counts.size);
    // Sorted words make the pair index (and so the whole run) independent of the texts' order.
    const entries = [...counts.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    let total = 0;
    entries.forEach(([word, count], w) => {
      const bytes = encoder.encode(word);
      encoded.push(bytes);
      frequency[w] = count;
      total += bytes.length;
    });
    const symbols = new Int32Array(total);
    const start = new Int32Array(entries.length);
    const length = new Int32Array(entries.length);
    let offset = 0;
    encoded.forEach((bytes, w) => {
      start[w] = offset;
      length[w] = bytes.length;
      for (const byte of bytes) symbols[offset++] = idOfByte[byte]!;
    });
    return new WordTable(symbols, start, length, frequency);
  }

  /**
   * Merges the most frequent pair until `merge` reports `targetSize` ids or no pair reaches
   * `minFrequency`. `merge(left, right)` names the merged symbol and the vocabulary's new size.
   */
  learnMerges(targetSize: number, idLimit: number, minFrequency: number, merge: (left: number, right: number) => { id: number; vocabSize: number }): void {
    const base = idLimit; // pair key = left * base + right, ids < idLimit
    const pairCount = new Map<number, number>();
    const pairWords = new Map<number, number[]>();
    const { symbols, start, length, frequency } = this;
    const note = (key: number, delta: number, word: number): void => {
      pairCount.set(key, (pairCount.get(key) ?? 0) + delta);
      if (delta > 0) {
        const list = pairWords.get(key);
        if (list === undefined) pairWords.set(key, [word]);
        else if (list[list.length - 1] !== word) list.push(word);
      }
    };
    for (let w = 0; w < start.length; w++) {
      for (let i = start[w]!; i < start[w]! + length[w]! - 1; i++) note(symbols[i]! * base + symbols[i + 1]!, frequency[w]!, w);
    }
    const heap = new PairHeap();
    for (const [key, count] of pairCount) heap.push(count, key);
    const seen = new Int32Array(start.length).fill(-1);
    let vocabSize = 256;
    let round = 0;
    while (vocabSize < targetSize && heap.size > 0) {
      const { count, key } = heap.pop();
      const current = pairCount.get(key) ?? 0;
      if (current !== count) {
        if (current > 0) heap.push(current, key); // stale entry: requeue with the true count
        continue;
      }
      if (count < minFrequency) break;
      const left = Math.floor(key / base);
      const right = key - left * base;
      const result = merge(left, right);
      vocabSize = result.vocabSize;
      const merged = result.id;
      const increased = new Set<number>();
      for (const w of pairWords.get(key) ?? []) {
        if (seen[w] === round) continue;
        seen[w] = round;
        const first = start[w]!;
        const end = first + length[w]!;
        const f = frequency[w]!;
        let out = first;
        for (let r = first; r < end; ) {
          if (r + 1 < end && symbols[r] === left && symbols[r + 1] === right) {
            note(key, -f, w);
            if (out > first) {
              const previous = symbols[out - 1]!;
              note(previous * base + left, -f, w);
              note(previous * base + merged, f, w);
              increased.add(previous * base + merged);
            }
            if (r + 2 < end) {
              const next = symbols[r + 2]!;
              note(right * base + next, -f, w);
              note(merged * base + next, f, w);
              increased.add(merged * base + next);
            }
            symbols[out++] = merged;
            r += 2;
          } else {
            symbols[out++] = symbols[r++]!;
          }
        }
        length[w] = out - first;
      }
      pairCount.delete(key);
      pairWords.delete(key);
      for (const changed of increased) {
        const value = pairCount.get(changed) ?? 0;
        if (value > 0) heap.push(value, changed);
      }
      round++;
    }
  }
}

/** A binary max-heap of (count, pair key); ties pop the smaller key first. */
class PairHeap {
  private counts: number[] = [];
  private keys: number[] = [];

  get size(): number {
    return this.counts.length;
  }

  push(count: number, key: number): void {
    this.counts.push(count);
    this.keys.push(key);
    let i = this.counts.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  pop(): { count: number; key: number } {
    const top = { count: this.counts[0]!, key: this.keys[0]! };
    const lastCount = this.counts.pop()!;
    const lastKey = this.keys.pop()!;
    if (this.counts.length > 0) {
      this.counts[0] = lastCount;
      this.keys[0] = lastKey;
      let i = 0;
      for (;;) {
        const leftChild = 2 * i + 1;
        const rightChild = leftChild + 1;
        let best = i;
        if (leftChild < this.counts.length && this.before(leftChild, best)) best = leftChild;
        if (rightChild < this.counts.length && this.before(rightChild, best)) best = rightChild;
        if (best === i) break;
        this.swap(i, best);
        i = best;
      }
    }
    return top;
  }

  private before(a: number, b: number): boolean {
    return this.counts[a]! > this.counts[b]! || (this.counts[a] === this.counts[b] && this.keys[a]! < this.keys[b]!);
  }

  private swap(a: number, b: number): void {
    [this.counts[a], this.counts[b]] = [this.counts[b]!, this.counts[a]!];
    [this.keys[a], this.keys[b]] = [this.keys[b]!, this.keys[a]!];
  }
}
