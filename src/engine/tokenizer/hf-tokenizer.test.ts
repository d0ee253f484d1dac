import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Template } from '@huggingface/jinja';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckpointError, DataError } from '../../errors.js';
import { trainBpe } from './bpe-trainer.js';
import { HfTokenizer, loadTokenizer } from './hf-tokenizer.js';
import { buildTokenizerConfig, buildTokenizerJson, writeTokenizerFiles } from './tokenizer-files.js';

const QWEN2_FIXTURE = fileURLToPath(new URL('../__fixtures__/qwen2-tokenizer/', import.meta.url));

const ROUND_TRIP_TEXTS = [
  'Hello the world',
  '  leading and trailing spaces  ',
  'tabs\tand\r\nwindows newlines\n\n\nthree blank lines',
  'unicode: café, naïve, 世界你好, Привет, emoji 🙂👍🏽, math ∑∫√',
  "contractions: it's, we'll, THEY'RE, don't",
  'numbers 1234567890 and 3.14159',
  '<|im_start|>user\nQuestion: who?<|im_end|>\n<|im_start|>assistant\n',
  'tags <tool>{"name": "wiki_search"}</tool> and <answer>x</answer>',
  '',
  ' ',
  '\u00a0non-breaking\u2003em space',
];

let directory: string;
let trained: HfTokenizer;
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'tokenizer-'));
  const corpus = Array.from(
    { length: 30 },
    (_, i) => `The question ${i}: who wrote the book? <tool>search</tool> It's a tokenizer test, café ${i * 7}.\n`,
  );
  await writeTokenizerFiles(directory, trainBpe(corpus, { vocabSize: 300, addedTokens: ['<tool>', '</tool>'] }));
  trained = await loadTokenizer(directory);
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe('HfTokenizer on a trained tokenizer', () => {
  it('round-trips unicode, whitespace and special tokens through encode and decode', () => {
    for (const text of ROUND_TRIP_TEXTS) expect(trained.decode(trained.encode(text))).toBe(text);
  });

  it('maps special and added token strings to single ids and decodes them verbatim', () => {
    const imEnd = trained.tokenId('<|im_end|>')!;
    const tool = trained.tokenId('<tool>')!;
    expect(trained.encode('<|im_end|>')).toEqual([imEnd]);
    expect(trained.encode('a<tool>b')).toContain(tool);
    expect(trained.decode([imEnd, tool])).toBe('<|im_end|><tool>');
    expect(trained.eosTokenId).toBe(imEnd);
    expect(trained.vocabSize).toBe(300);
  });

  it('gives the same ids when a text is encoded again from the word cache', () => {
    const text = ROUND_TRIP_TEXTS.join(' ');
    const first = trained.encode(text);
    expect(trained.encode(text)).toEqual(first);
    expect(first.length).toBeGreaterThan(20);
  });

  it('gives back its files, which load into an identical tokenizer', () => {
    const files = trained.toFiles();
    const copy = new HfTokenizer(JSON.parse(files['tokenizer.json']!), JSON.parse(files['tokenizer_config.json']!));
    const text = ROUND_TRIP_TEXTS.join('|');
    expect(copy.encode(text)).toEqual(trained.encode(text));
    expect(copy.chatTemplate).toBe(trained.chatTemplate);
  });

  it('never adds special tokens by itself', () => {
    const ids = trained.encode('hello');
    expect(ids).not.toContain(trained.tokenId('<|endoftext|>'));
    expect(trained.decode(ids)).toBe('hello');
  });

  it('compresses text it was trained on into few tokens', () => {
    const line = "The question 3: who wrote the book? It's a tokenizer test";
    expect(trained.encode(line).length).toBeLessThan(line.length / 2);
  });

  it('NFC-normalises input, as Qwen2 tokenizers do', () => {
    expect(trained.decode(trained.encode('cafe\u0301'))).toBe('caf\u00e9');
  });

  it('rejects ids outside the vocabulary with a DataError', () => {
    expect(() => trained.decode([300])).toThrow(DataError);
    expect(() => trained.decode([1.5])).toThrow(/token id 1.5/);
    expect(trained.decode([])).toBe('');
  });

  it('gives each token its raw bytes, a cut UTF-8 character included, and marks only special tokens special', () => {
    const text = 'café 世界 🙂 <|im_end|>';
    const ids = trained.encode(text);
    const bytes = ids.flatMap((id) => [...trained.tokenBytes(id)]);
    expect(Buffer.from(bytes).toString('utf8')).toBe(text);
    const partial = ids.filter((id) => trained.decode([id]).includes('\uFFFD'));
    expect(partial.length).toBeGreaterThan(0);
    for (const id of partial) expect(trained.tokenBytes(id)).not.toEqual(new TextEncoder().encode('\uFFFD'));
    expect(ids.filter((id) => trained.isSpecialToken(id)).map((id) => trained.decode([id]))).toEqual(['<|im_end|>']);
    expect(trained.isSpecialToken(trained.tokenId('<tool>')!)).toBe(false);
  });

  it('ships a ChatML chat template that renders with @huggingface/jinja', async () => {
    const template = new Template(trained.chatTemplate!);
    const text = template.render({ messages: [{ role: 'user', content: 'hi' }], add_generation_prompt: true });
    expect(text).toBe('<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n');
    expect(trained.decode(trained.encode(text))).toBe(text);
    const config = JSON.parse(await readFile(join(directory, 'tokenizer_config.json'), 'utf-8'));
    expect(config.eos_token).toBe('<|im_end|>');
    expect(config.added_tokens_decoder['299'].content).toBe('</tool>');
  });
});

describe('HfTokenizer on a Qwen2-format tokenizer.json', () => {
  it('encodes with the merges in rank order and the Qwen2 split regex', async () => {
    const tokenizer = await loadTokenizer(QWEN2_FIXTURE);
    const ids = tokenizer.encode('Hello the world');
    expect(ids.map((id) => tokenizer.idToToken(id))).toEqual(['Hello', 'Ġthe', 'Ġworld']);
    expect(tokenizer.encode('<|im_start|>user\n你好<|im_end|>').map((id) => tokenizer.idToToken(id))).toEqual([
      '<|im_start|>',
      'u',
      's',
      'er',
      'Ċ',
      'ä½ł',
      'å¥½',
      '<|im_end|>',
    ]);
    expect(tokenizer.encode('\n\n')).toEqual([tokenizer.tokenId('ĊĊ')]);
  });

  it('exposes the real ids of Qwen2 special tokens, the EOS and the vocabulary size', async () => {
    const tokenizer = await loadTokenizer(QWEN2_FIXTURE);
    expect(tokenizer.tokenId('<|endoftext|>')).toBe(151643);
    expect(tokenizer.tokenId('<|im_end|>')).toBe(151645);
    expect(tokenizer.eosTokenId).toBe(151645);
    expect(tokenizer.vocabSize).toBe(151646);
    expect(() => tokenizer.decode([5000])).toThrow(/token id 5000 is not in the tokenizer's vocabulary/);
    for (const text of ROUND_TRIP_TEXTS) expect(tokenizer.decode(tokenizer.encode(text))).toBe(text);
  });

  it('falls back to <|endoftext|> as EOS without a tokenizer_config.json', async () => {
    const json = JSON.parse(await readFile(join(QWEN2_FIXTURE, 'tokenizer.json'), 'utf-8'));
    const tokenizer = new HfTokenizer(json);
    expect(tokenizer.eosTokenId).toBe(151643);
    expect(tokenizer.chatTemplate).toBeUndefined();
  });
});

describe('loading bad tokenizer files', () => {
  it('reports a missing directory, broken JSON and an unloadable model as CheckpointErrors', async () => {
    await expect(loadTokenizer(join(directory, 'nope'))).rejects.toThrow(/cannot read .*tokenizer.json/);
    const bad = await mkdtemp(join(tmpdir(), 'tokenizer-bad-'));
    try {
      await writeFile(join(bad, 'tokenizer.json'), '{"model": ');
      await expect(loadTokenizer(bad)).rejects.toThrow(/tokenizer.json is not valid JSON/);
      await writeFile(join(bad, 'tokenizer.json'), JSON.stringify({ model: { type: 'Mystery' } }));
      await expect(loadTokenizer(bad)).rejects.toThrow(CheckpointError);
      await expect(loadTokenizer(bad)).rejects.toThrow(/cannot load it: Unknown TokenizerModel type: Mystery/);
      expect(() => new HfTokenizer([1, 2])).toThrow(/expected an object with a "model" field/);
    } finally {
      await rm(bad, { recursive: true, force: true });
    }
  });

  it('refuses a byte-level BPE whose vocabulary lacks byte characters', () => {
    const trainedBpe = trainBpe(['abc abc'], { vocabSize: 300 });
    const json = buildTokenizerJson(trainedBpe);
    delete (json.model as { vocab: Record<string, number> }).vocab['z'];
    expect(() => new HfTokenizer(json, buildTokenizerConfig(trainedBpe))).toThrow(
      /lacks 1 of the 256 byte characters \("z"/,
    );
  });
});
