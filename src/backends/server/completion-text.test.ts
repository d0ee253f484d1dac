import { describe, expect, it } from 'vitest';
import { ByteTokenizer } from '../../testing/byte-tokenizer.js';
import { CompletionText } from './completion-text.js';

const tokenizer = new ByteTokenizer();
const hidden = (token: number) => tokenizer.isSpecialToken(token);

function run(
  text: string,
  options: { stop?: string[]; keepStop?: boolean; hide?: boolean } = {},
): { pieces: string[]; whole: string } {
  const completion = new CompletionText({
    tokenizer,
    stop: options.stop ?? [],
    keepStop: options.keepStop ?? false,
    isHidden: options.hide === false ? () => false : hidden,
  });
  const pieces = tokenizer.encode(text).map((token) => completion.push(token));
  pieces.push(completion.finish());
  return { pieces, whole: pieces.join('') };
}

describe('CompletionText', () => {
  it('releases whole UTF-8 characters only, never the bytes of U+FFFD', () => {
    const { pieces, whole } = run('é🙂x');
    expect(whole).toBe('é🙂x');
    expect(pieces.join('|')).toBe('|é||||🙂|x|');
    expect(pieces.every((piece) => !piece.includes('\uFFFD'))).toBe(true);
  });

  it('leaves special tokens out unless asked to keep them', () => {
    expect(run('hi<|im_end|>').whole).toBe('hi');
    expect(run('<|im_start|>a<|im_end|>', { hide: false }).whole).toBe('<|im_start|>a<|im_end|>');
  });

  it('holds back a possible stop string and cuts the text at the first one, keeping it when asked', () => {
    const { pieces, whole } = run('abc\nEND tail', { stop: ['\nEND', 'tail'] });
    expect(whole).toBe('abc');
    expect(pieces.slice(0, 4)).toEqual(['a', 'b', 'c', '']);
    expect(run('abc\nEND tail', { stop: ['tail', '\nEND'], keepStop: true }).whole).toBe('abc\nEND');
    expect(run('ab\nEx', { stop: ['\nEND'] }).whole).toBe('ab\nEx');
  });
});
