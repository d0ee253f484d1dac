import { describe, expect, it } from 'vitest';
import { splitPassages } from './passages.js';

const words = (n: number, prefix = 'w') => Array.from({ length: n }, (_, i) => `${prefix}${i}`).join(' ');

describe('splitPassages', () => {
  it('keeps a short document as one passage', () => {
    expect(splitPassages('one line\nanother line')).toEqual(['one line\nanother line']);
  });

  it('groups lines up to the target and keeps every word in order', () => {
    const lines = Array.from({ length: 30 }, (_, i) => words(12, `l${i}x`));
    const passages = splitPassages(lines.join('\n'), { targetWords: 50, maxWords: 80 });
    expect(passages.length).toBeGreaterThan(5);
    for (const passage of passages) expect(passage.split(/\s+/).length).toBeLessThanOrEqual(80);
    expect(passages.join(' ').split(/\s+/)).toEqual(lines.join(' ').split(/\s+/));
  });

  it('cuts a single very long line into windows', () => {
    const passages = splitPassages(words(350), { targetWords: 100, maxWords: 150 });
    expect(passages.map((passage) => passage.split(' ').length)).toEqual([100, 100, 100, 50]);
  });

  it('joins a short last window or tail to the passage before it', () => {
    expect(
      splitPassages(words(330), { targetWords: 100, maxWords: 150 }).map((passage) => passage.split(' ').length),
    ).toEqual([100, 100, 130]);
    const passages = splitPassages(`${words(100)}\nshort tail`, { targetWords: 100, maxWords: 150 });
    expect(passages).toEqual([`${words(100)}\nshort tail`]);
  });
});
