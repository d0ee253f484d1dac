/**
 * A deterministic test tokenizer: one id per UTF-8 byte (0..255) plus special tokens from 256 up
 * (`<|endoftext|>`, `<|im_start|>`, `<|im_end|>` by default). Special-token strings in the text map
 * to their ids, as in a Hugging Face tokenizer. Decoding joins the bytes, so a cut through a
 * multi-byte character decodes to U+FFFD like any byte-level tokenizer.
 */
import { DataError } from '../errors.js';
import type { Tokenizer } from '../rollout/tokenizer.js';

/** The special tokens of the default ByteTokenizer, in id order from 256. */
export const BYTE_TOKENIZER_SPECIAL_TOKENS = ['<|endoftext|>', '<|im_start|>', '<|im_end|>'] as const;

/** Options of the byte tokenizer. */
export interface ByteTokenizerOptions {
  /** Special tokens, ids 256, 257, ... in this order (default: BYTE_TOKENIZER_SPECIAL_TOKENS). */
  specialTokens?: readonly string[];
  /** The end-of-sequence token (default `<|endoftext|>`). */
  eosToken?: string;
}

/** Byte-level tokenizer with special tokens, for tests. */
export class ByteTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly eosTokenId: number | undefined;
  private readonly specialIds: Map<string, number>;
  private readonly specialTexts: string[];
  private readonly splitter: RegExp | undefined;
  private readonly encoder = new TextEncoder();
  private readonly decoder = new TextDecoder();

  constructor(options: ByteTokenizerOptions = {}) {
    const specials = options.specialTokens ?? BYTE_TOKENIZER_SPECIAL_TOKENS;
    this.specialIds = new Map();
    specials.forEach((token, index) => {
      if (token.length === 0 || this.specialIds.has(token))
        throw new DataError(`ByteTokenizer: special token ${JSON.stringify(token)} is empty or repeated`);
      this.specialIds.set(token, 256 + index);
    });
    this.specialTexts = [...specials];
    this.vocabSize = 256 + specials.length;
    // Longest first, so a special token that contains another wins.
    const alternatives = [...specials]
      .sort((a, b) => b.length - a.length)
      .map((token) => token.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    this.splitter = alternatives.length > 0 ? new RegExp(`(${alternatives.join('|')})`) : undefined;
    const eos = options.eosToken ?? (specials.includes('<|endoftext|>') ? '<|endoftext|>' : undefined);
    this.eosTokenId = eos === undefined ? undefined : this.specialIds.get(eos);
    if (eos !== undefined && this.eosTokenId === undefined)
      throw new DataError(`ByteTokenizer: eosToken ${JSON.stringify(eos)} is not one of the special tokens`);
  }

  encode(text: string): number[] {
    const ids: number[] = [];
    const pieces = this.splitter ? text.split(this.splitter) : [text];
    for (const piece of pieces) {
      if (piece.length === 0) continue;
      const special = this.specialIds.get(piece);
      if (special !== undefined) ids.push(special);
      else for (const byte of this.encoder.encode(piece)) ids.push(byte);
    }
    return ids;
  }

  decode(ids: number[]): string {
    let text = '';
    let bytes: number[] = [];
    const flush = (): void => {
      if (bytes.length > 0) text += this.decoder.decode(Uint8Array.from(bytes));
      bytes = [];
    };
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
        throw new DataError(`ByteTokenizer.decode: id ${id} is outside the vocabulary [0, ${this.vocabSize})`);
      }
      if (id < 256) bytes.push(id);
      else {
        flush();
        text += this.specialTexts[id - 256];
      }
    }
    flush();
    return text;
  }

  tokenId(token: string): number | undefined {
    return this.specialIds.get(token);
  }

  tokenBytes(id: number): Uint8Array {
    return id < 256 ? Uint8Array.of(id) : this.encoder.encode(this.decode([id]));
  }

  isSpecialToken(id: number): boolean {
    return id >= 256 && id < this.vocabSize;
  }
}
