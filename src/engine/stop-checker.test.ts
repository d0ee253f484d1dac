import { describe, expect, it } from 'vitest';
import { Random } from '../random.js';
import type { Tokenizer } from '../rollout/tokenizer.js';
import { ByteTokenizer } from '../testing/byte-tokenizer.js';
import { StopChecker } from './stop-checker.js';

/** A tokenizer whose tokens are whole strings, several of them parts of the stop strings. */
function pieceTokenizer(pieces: string[]): Tokenizer {
  return {
    vocabSize: pieces.length,
    eosTokenId: undefined,
    encode: () => [],
    decode: (ids) => ids.map((id) => pieces[id]!).join(''),
    tokenId: () => undefined,
  };
}

/** The first step at which the whole decoded text holds a stop string (the definition), or -1. */
function firstStopByFullText(tokenizer: Tokenizer, stops: string[], ids: number[]): number {
  for (let n = 1; n <= ids.length; n++) {
    const text = tokenizer.decode(ids.slice(0, n));
    if (stops.some((stop) => text.includes(stop))) return n - 1;
  }
  return -1;
}

function firstStopByChecker(checker: StopChecker, ids: number[]): number {
  for (let n = 1; n <= ids.length; n++) if (checker.isStop(ids.slice(0, n))) return n - 1;
  return -1;
}

describe('StopChecker', () => {
  it('stops at the same token as decoding the whole text, for random streams of stop-string pieces', () => {
    const pieces = ['<', '/', 'ans', 'wer', '>', 'x', 'er>', ' ', 'é', '</', 'answer', 'search>', '>>', 'q'];
    const tokenizer = pieceTokenizer(pieces);
    const random = new Random(7);
    const stops = ['</answer>', '</search>'];
    let stopped = 0;
    for (let trial = 0; trial < 400; trial++) {
      const ids = Array.from({ length: 40 }, () => random.int(pieces.length));
      const expected = firstStopByFullText(tokenizer, stops, ids);
      expect(firstStopByChecker(new StopChecker(tokenizer, stops, undefined), ids)).toBe(expected);
      if (expected >= 0) stopped++;
    }
    expect(stopped).toBeGreaterThan(20); // the streams do reach the stop strings
  });

  it('decodes the window for stop strings ending in a non-ASCII character', () => {
    const tokenizer = new ByteTokenizer();
    const stops = ['fin é'];
    const ids = tokenizer.encode('le mot fin é et plus');
    const expected = firstStopByFullText(tokenizer, stops, ids);
    expect(expected).toBeGreaterThan(0);
    expect(firstStopByChecker(new StopChecker(tokenizer, stops, undefined), ids)).toBe(expected);
  });

  it('stops on a stop token id and never on an empty stop string', () => {
    const tokenizer = new ByteTokenizer();
    const ids = tokenizer.encode('abc');
    const checker = new StopChecker(tokenizer, [''], [ids[1]!]);
    expect(firstStopByChecker(checker, ids)).toBe(1);
    expect(firstStopByChecker(new StopChecker(tokenizer, [''], undefined), ids)).toBe(-1);
  });
});
