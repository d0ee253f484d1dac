import { describe, expect, it } from 'vitest';
import { Random } from '../random.js';
import { countOccurrences, parseTag, parseTags } from './xml-tags.js';

describe('parseTag', () => {
  it('returns the first match, stripped, across newlines', () => {
    expect(parseTag('<answer>\n  Paris \n</answer> <answer>Rome</answer>', 'answer')).toBe('Paris');
  });

  it('keeps the inner whitespace-trimmed group when strip is false (the regex already trims)', () => {
    expect(parseTag('<answer>  a b  </answer>', 'answer', false)).toBe('a b');
  });

  it('returns undefined for an unclosed or missing tag', () => {
    expect(parseTag('<answer>Paris', 'answer')).toBeUndefined();
    expect(parseTag('no tags', 'tool')).toBeUndefined();
  });

  it('matches an empty tag as an empty string (a parseable tag)', () => {
    expect(parseTag('<tool></tool>', 'tool')).toBe('');
  });

  it('is lazy: the first closing tag ends the match', () => {
    expect(parseTag('<tool>a</tool>b</tool>', 'tool')).toBe('a');
  });
});

describe('parseTags', () => {
  it('returns every match in order, each read like parseTag', () => {
    expect(parseTags('<t> a </t>x<t>\nb\n</t><t></t>', 't')).toEqual(['a', 'b', '']);
    expect(parseTags('<t>open', 't')).toEqual([]);
    expect(parseTag('<t>1</t><t>2</t>', 't')).toBe('1');
  });
});

describe('countOccurrences', () => {
  it('counts non-overlapping occurrences like Python str.count', () => {
    expect(countOccurrences('<a><a></a>', '<a>')).toBe(2);
    expect(countOccurrences('aaaa', 'aa')).toBe(2);
    expect(countOccurrences('', '<a>')).toBe(0);
  });
});

describe('the tag parser on every input', () => {
  // The reference regex, kept here only to check the scans against it on small inputs.
  const referenceFirst = (text: string) => /<t>\s*(.*?)\s*<\/t>/s.exec(text)?.[1];
  const referenceAll = (text: string) => Array.from(text.matchAll(/<t>\s*(.*?)\s*<\/t>/gs), (match) => match[1]);

  it('reads what the reference regex reads, on 20,000 random texts of tag pieces and whitespace', () => {
    const random = new Random(15);
    const pieces = ['<t>', '</t>', '<', '>', '/', 't', ' ', '\n', '\t', '\u00a0', '\u2028', 'a', 'b c', '<t', '/t>'];
    for (let i = 0; i < 20_000; i++) {
      const length = random.int(12);
      let text = '';
      for (let j = 0; j < length; j++) text += pieces[random.int(pieces.length)];
      expect(parseTag(text, 't'), JSON.stringify(text)).toBe(referenceFirst(text));
      expect(parseTag(text, 't', false), JSON.stringify(text)).toBe(referenceFirst(text));
      expect(parseTags(text, 't'), JSON.stringify(text)).toEqual(referenceAll(text));
    }
  });

  const n = 200_000;
  it.each([
    ['an unclosed tag and a run of spaces', `<tool>${' '.repeat(n)}`],
    ['an unclosed answer and newline-space pairs', `<answer>${'\n '.repeat(n / 2)}`],
    ['an unclosed tool_call and newline-space pairs', `<tool_call>${'\n '.repeat(n / 2)}x`],
    ['many opening tags and no closing one', '<tool>'.repeat(n / 6)],
    ['many closing tags and no opening one', '</tool>'.repeat(n / 7)],
    ['almost-tags', '<tool'.repeat(n / 5)],
    ['many short tags', '<tool> </tool>'.repeat(n / 14)],
  ])('reads %s in at most two steps a character', (_what, text) => {
    for (const tag of ['tool', 'answer', 'tool_call']) {
      const meter = { steps: 0 };
      parseTag(text, tag, true, meter);
      expect(meter.steps).toBeLessThanOrEqual(2 * text.length + 16);
      const all = { steps: 0 };
      parseTags(text, tag, true, all);
      expect(all.steps).toBeLessThanOrEqual(2 * text.length + 16);
      const count = { steps: 0 };
      countOccurrences(text, `<${tag}>`, count);
      expect(count.steps).toBeLessThanOrEqual(text.length);
    }
  });
});
