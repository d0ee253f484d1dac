import { Tokenizer as HfTokenizersTokenizer } from '@huggingface/tokenizers';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../errors.js';
import { Random } from '../../random.js';
import { BYTE_TO_CHAR, BYTES_IN_VOCAB_ORDER, toByteLevel } from './byte-level.js';
import { sampleTexts, trainBpe } from './bpe-trainer.js';
import { buildTokenizerConfig, buildTokenizerJson } from './tokenizer-files.js';

/** Textbook BPE recomputing every pair count from scratch each step (ties: smaller ids first). */
function naiveMerges(words: Map<string, number>, merges: number): Array<[string, string]> {
  const idOf = new Map(BYTES_IN_VOCAB_ORDER.map((byte, id) => [BYTE_TO_CHAR[byte]!, id]));
  const vocab = BYTES_IN_VOCAB_ORDER.map((byte) => BYTE_TO_CHAR[byte]!);
  const sequences = [...words].map(([word, count]) => ({
    symbols: [...toByteLevel(word)].map((char) => idOf.get(char)!),
    count,
  }));
  const learnt: Array<[string, string]> = [];
  for (let step = 0; step < merges; step++) {
    const counts = new Map<string, number>();
    for (const { symbols, count } of sequences) {
      for (let i = 0; i + 1 < symbols.length; i++) {
        const key = `${symbols[i]},${symbols[i + 1]}`;
        counts.set(key, (counts.get(key) ?? 0) + count);
      }
    }
    let best: [number, number] | undefined;
    let bestCount = 0;
    for (const [key, count] of counts) {
      const [a, b] = key.split(',').map(Number) as [number, number];
      if (
        count > bestCount ||
        (count === bestCount && best !== undefined && (a < best[0] || (a === best[0] && b < best[1])))
      ) {
        best = [a, b];
        bestCount = count;
      }
    }
    if (best === undefined || bestCount < 2) break;
    const token = vocab[best[0]]! + vocab[best[1]]!;
    learnt.push([vocab[best[0]]!, vocab[best[1]]!]);
    let id = idOf.get(token);
    if (id === undefined) {
      id = vocab.length;
      vocab.push(token);
      idOf.set(token, id);
    }
    for (const sequence of sequences) {
      const out: number[] = [];
      for (let i = 0; i < sequence.symbols.length; i++) {
        if (i + 1 < sequence.symbols.length && sequence.symbols[i] === best[0] && sequence.symbols[i + 1] === best[1]) {
          out.push(id);
          i++;
        } else out.push(sequence.symbols[i]!);
      }
      sequence.symbols = out;
    }
  }
  return learnt;
}

function randomCorpus(seed: number, documents: number): string[] {
  const random = new Random(seed);
  const syllables = [
    'ka',
    'ra',
    'a',
    'aa',
    'n',
    'ing',
    'the',
    'é',
    '世',
    '界',
    '🙂',
    '0',
    '42',
    "'s",
    ' ',
    '  ',
    '\n',
    '.',
    ',',
    '!!',
  ];
  return Array.from({ length: documents }, () =>
    Array.from({ length: 30 }, () => syllables[random.int(syllables.length)]).join(''),
  );
}

describe('trainBpe', () => {
  it('merges the most frequent pair first and breaks ties by the smaller ids', () => {
    // pieces "aaab", " aaab", " ab": (a,a) 4, (a,b) 3, (Ġ,a) 2 -> aa; then (a,b) 3 -> ab; then (aa,ab) 2.
    expect(trainBpe(['aaab aaab ab'], { vocabSize: 1000 }).merges).toEqual([
      ['a', 'a'],
      ['a', 'b'],
      ['aa', 'ab'],
    ]);
    // pieces "ab", " ab", " cd", " cd": (a,b), (c,d) and (Ġ,c) all 2; ids a=64 < c=66 < Ġ=220.
    expect(trainBpe(['ab ab cd cd'], { vocabSize: 1000 }).merges).toEqual([
      ['a', 'b'],
      ['c', 'd'],
      ['Ġ', 'cd'],
    ]);
  });

  it('learns exactly the merges of a from-scratch reference on a random corpus', () => {
    const texts = randomCorpus(3, 60);
    const trained = trainBpe(texts, { vocabSize: 256 + 3 + 120, minFrequency: 2 });
    // The same pieces the trainer saw: count them with the library's regex through a one-piece-per-word pass.
    const pieces = new Map<string, number>();
    const splitter = new HfTokenizersTokenizer(
      {
        model: { type: 'BPE', vocab: {}, merges: [] },
        added_tokens: [],
        normalizer: null,
        pre_tokenizer: buildTokenizerJson(trained).pre_tokenizer,
        post_processor: null,
        decoder: null,
      },
      {},
    );
    for (const text of texts)
      for (const piece of splitter.pre_tokenizer!(text.normalize('NFC')))
        pieces.set(piece, (pieces.get(piece) ?? 0) + 1);
    const byText = new Map<string, number>();
    for (const [piece, count] of pieces) {
      const bytes = Uint8Array.from([...piece].map((char) => BYTE_TO_CHAR.indexOf(char)));
      byText.set(new TextDecoder().decode(bytes), count);
    }
    expect(trained.merges.length).toBe(120);
    expect(trained.merges).toEqual(naiveMerges(byText, 120));
  });

  it('is deterministic and independent of the order of the texts', () => {
    const texts = randomCorpus(11, 80);
    const first = trainBpe(texts, { vocabSize: 400 });
    const again = trainBpe(texts, { vocabSize: 400 });
    const reversed = trainBpe([...texts].reverse(), { vocabSize: 400 });
    expect(again.merges).toEqual(first.merges);
    expect(reversed.merges).toEqual(first.merges);
    expect(reversed.vocab).toEqual(first.vocab);
  });

  it('produces exactly vocabSize ids, added tokens last with special ones first', () => {
    const trained = trainBpe(randomCorpus(5, 100), { vocabSize: 300, addedTokens: ['<tool>', '</tool>'] });
    expect(trained.vocab.length + trained.addedTokens.length).toBe(300);
    expect(trained.addedTokens).toEqual([
      { id: 295, content: '<|endoftext|>', special: true },
      { id: 296, content: '<|im_start|>', special: true },
      { id: 297, content: '<|im_end|>', special: true },
      { id: 298, content: '<tool>', special: false },
      { id: 299, content: '</tool>', special: false },
    ]);
  });

  it('stops early rather than merge pairs rarer than minFrequency', () => {
    const trained = trainBpe(['abcdef'], { vocabSize: 1000, minFrequency: 2 });
    expect(trained.merges).toEqual([]);
    expect(trained.vocab.length).toBe(256);
  });

  it('never learns merges across or inside added tokens', () => {
    const text = '<|im_start|>user<|im_end|>'.repeat(50);
    const trained = trainBpe([text], { vocabSize: 300 });
    expect(trained.vocab.slice(256).some((token) => token.includes('|') || token.includes('<'))).toBe(false);
    expect(trained.vocab).toContain('user');
  });

  it('samples evenly spaced texts of an array, or a prefix of an iterable, under maxCharacters', () => {
    const texts = Array.from({ length: 100 }, (_, i) => `doc${i} `.padEnd(10, 'x'));
    const sampled = [...sampleTexts(texts, 250)];
    expect(sampled).toHaveLength(25);
    expect(sampled[0]).toBe(texts[3]);
    expect(sampled[24]).toBe(texts[99]);
    expect([...sampleTexts(texts.values(), 25)]).toEqual(texts.slice(0, 3));
    expect([...sampleTexts(texts, 1e9)]).toEqual(texts);
    const corpus = randomCorpus(9, 200);
    const subset = [...sampleTexts(corpus, 2000)];
    expect(trainBpe(corpus, { vocabSize: 320, maxCharacters: 2000 }).merges).toEqual(
      trainBpe(subset, { vocabSize: 320 }).merges,
    );
  });

  it('rejects a vocabSize too small for the bytes and added tokens, and duplicate added tokens', () => {
    expect(() => trainBpe(['x'], { vocabSize: 258 })).toThrow(ConfigError);
    expect(() => trainBpe(['x'], { vocabSize: 258 })).toThrow(/>= 259/);
    expect(() => trainBpe(['x'], { vocabSize: 500, addedTokens: ['<|im_end|>'] })).toThrow(/distinct/);
  });

  it('writes a tokenizer.json that @huggingface/tokenizers loads and encodes with the learnt merges', () => {
    const texts = Array.from({ length: 40 }, () => 'the tokenizer tokenizes tokens. ');
    const trained = trainBpe(texts, { vocabSize: 300 });
    const tokenizer = new HfTokenizersTokenizer(buildTokenizerJson(trained), buildTokenizerConfig(trained));
    expect(tokenizer.tokenize(' tokenizes')).toEqual(['Ġtokenizes']);
    expect(tokenizer.encode('<|im_end|>', { add_special_tokens: false }).ids).toEqual([trained.addedTokens[2]!.id]);
    expect(tokenizer.token_to_id('Ġtokenizes')).toBe(trained.vocab.indexOf('Ġtokenizes'));
  });
});
