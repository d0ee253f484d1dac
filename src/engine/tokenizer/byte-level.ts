/**
 * The byte-level alphabet of GPT-2 / Qwen tokenizers: each of the 256 byte values maps to one
 * printable unicode character (printable Latin-1 bytes map to themselves, the others to U+0100 and
 * up, so a space becomes `Ġ` and a newline `Ċ`). A token is the concatenation of its bytes' characters.
 * Also the Qwen2 pre-tokenizer regex, which splits text into the pieces BPE merges never cross.
 */

/** The Qwen2 pre-tokenizer pattern (Oniguruma syntax, as stored in tokenizer.json): contractions,
 * letter runs with one leading non-letter, single digits, punctuation runs, newlines, spaces. */
export const QWEN2_SPLIT_PATTERN =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}|" +
  ' ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+';

/** Byte values in GPT-2 vocabulary order: the printable bytes first, then the rest (id = position). */
export const BYTES_IN_VOCAB_ORDER: readonly number[] = (() => {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const rest: number[] = [];
  for (let b = 0; b < 256; b++) if (!printable.includes(b)) rest.push(b);
  return [...printable, ...rest];
})();

/** Unicode character of each byte value (index = byte). */
export const BYTE_TO_CHAR: readonly string[] = (() => {
  const chars = new Array<string>(256);
  let shifted = 0;
  for (const b of BYTES_IN_VOCAB_ORDER) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    chars[b] = String.fromCharCode(printable ? b : 256 + shifted++);
  }
  return chars;
})();

/** Byte value of each alphabet character. */
export const CHAR_TO_BYTE: ReadonlyMap<string, number> = new Map(BYTE_TO_CHAR.map((char, byte) => [char, byte]));

const encoder = new TextEncoder();

/** The byte-level string of `text` (its UTF-8 bytes mapped to alphabet characters). */
export function toByteLevel(text: string): string {
  let out = '';
  for (const byte of encoder.encode(text)) out += BYTE_TO_CHAR[byte]!;
  return out;
}

/** The text of a byte-level string (invalid UTF-8 decodes to U+FFFD); throws on a non-alphabet char. */
export function fromByteLevel(token: string): string {
  const bytes = new Uint8Array(token.length);
  for (let i = 0; i < token.length; i++) {
    const byte = CHAR_TO_BYTE.get(token[i]!);
    if (byte === undefined) throw new RangeError(`"${token[i]}" is not a byte-level character`);
    bytes[i] = byte;
  }
  return new TextDecoder().decode(bytes);
}
