import { describe, expect, it } from 'vitest';
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
