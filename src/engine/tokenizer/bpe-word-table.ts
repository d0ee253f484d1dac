/**
 * The merge-learning core of the BPE trainer: every distinct word as a sequence of symbol ids in one
 * Int32Array, pair counts weighted by word frequency, an index from each pair to the words holding
 * it, and a lazy max-heap of pairs. A merge rewrites only the words that hold the pair and adjusts
 * the counts of the neighbouring pairs, as Hugging Face `tokenizers`' BpeTrainer does.
 */
import { BYTES_IN_VOCAB_ORDER } from './byte-level.js';

/** Words as byte-symbol sequences in one buffer, with the incremental pair statistics of BPE. */
export class WordTable {
  private constructor(
    private readonly symbols: Int32Array, // all words' symbols, word w at [start[w], start[w] + length[w])
    private readonly start: Int32Array,
    private readonly length: Int32Array,
    private readonly frequency: Float64Array,
  ) {}

  static fromCounts(counts: Map<string, number>): WordTable {
    const encoder = new TextEncoder();
    const idOfByte = new Int32Array(256);
    BYTES_IN_VOCAB_ORDER.forEach((byte, id) => {
      idOfByte[byte] = id;
    });
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
  learnMerges(
    targetSize: number,
    idLimit: number,
    minFrequency: number,
    merge: (left: number, right: number) => { id: number; vocabSize: number },
  ): void {
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
      for (let i = start[w]!; i < start[w]! + length[w]! - 1; i++)
        note(symbols[i]! * base + symbols[i + 1]!, frequency[w]!, w);
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
