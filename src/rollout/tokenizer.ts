/**
 * The tokenizer contract every policy and backend exposes: text to token ids and back. The engine
 * implements it with a Hugging Face `tokenizer.json` loaded through `@huggingface/tokenizers`;
 * tests may use any implementation.
 */

/** Converts between text and token ids. `encode` never adds special tokens (BOS/EOS) by itself. */
export interface Tokenizer {
  /** Number of ids, special tokens included. */
  readonly vocabSize: number;
  /** End-of-sequence id, when the vocabulary has one. */
  readonly eosTokenId: number | undefined;
  /** Token ids of `text`; special-token strings in `text` (like `<|im_end|>`) map to their ids. */
  encode(text: string): number[];
  /** Text of `ids`, special tokens included verbatim. */
  decode(ids: number[]): string;
  /** Id of a special token such as `<|im_end|>`, or undefined when the vocabulary lacks it. */
  tokenId(token: string): number | undefined;
  /**
   * The raw bytes of one token (a byte-level BPE token may hold part of a UTF-8 character, which
   * `decode` shows as U+FFFD). Optional; without it, callers fall back to the UTF-8 of `decode([id])`.
   */
  tokenBytes?(id: number): Uint8Array;
  /** True for special tokens (`<|im_start|>`, `<|im_end|>`, ...) that text output leaves out. Optional. */
  isSpecialToken?(id: number): boolean;
}
