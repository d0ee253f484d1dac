import { describe, expect, it } from 'vitest';
import { Random } from '../../random.js';
import { type MessagePiece, ToolCallParser } from './tool-call-parser.js';

const tools = new Set(['search', 'calc']);

function parseWhole(text: string, maxCalls?: number): MessagePiece[] {
  const parser = new ToolCallParser(tools, maxCalls);
  return [...parser.push(text), ...parser.finish()];
}

/** Feeds the text in pieces of `size` characters and joins the content. */
function parseInPieces(text: string, size: number): { content: string; calls: unknown[] } {
  const parser = new ToolCallParser(tools);
  const pieces: MessagePiece[] = [];
  for (let at = 0; at < text.length; at += size) pieces.push(...parser.push(text.slice(at, at + size)));
  pieces.push(...parser.finish());
  return summary(pieces);
}

function summary(pieces: MessagePiece[]): { content: string; calls: unknown[] } {
  return {
    content: pieces.map((piece) => ('content' in piece ? piece.content : '')).join(''),
    calls: pieces.flatMap((piece) => ('call' in piece ? [piece.call] : [])),
  };
}

const TWO_CALLS =
  'Let me check.\n<tool_call>\n{"name": "search", "arguments": {"query": "Paris"}}\n' +
  '</tool_call>\n<tool_call>\n{"name": "calc", "arguments": "{\\"x\\": 2}"}\n</tool_call>\n';

describe('ToolCallParser', () => {
  it('parses several calls with their arguments as JSON text and keeps the text around them as content', () => {
    expect(summary(parseWhole(TWO_CALLS))).toEqual({
      content: 'Let me check.',
      calls: [
        { name: 'search', arguments: '{"query":"Paris"}' },
        { name: 'calc', arguments: '{"x":2}' },
      ],
    });
    expect(summary(parseWhole('<tool_call>{"name": "search"}</tool_call>'))).toEqual({
      content: '',
      calls: [{ name: 'search', arguments: '{}' }],
    });
  });

  it('gives the same content and calls whatever the pieces the text arrives in', () => {
    const texts = [
      TWO_CALLS,
      '  lead <tool_ca and <tool_call>{"name": "nope"}</tool_call> tail  ',
      'a <tool_call>{"name": "search", "arguments": {}}',
      'x\n\n<tool_call>bad json</tool_call>\n\ny',
    ];
    for (const text of texts) {
      const whole = summary(parseWhole(text));
      for (const size of [1, 2, 3, 7]) expect(parseInPieces(text, size)).toEqual(whole);
    }
  });

  it('leaves malformed, unknown and unclosed blocks in the content as written', () => {
    expect(summary(parseWhole('<tool_call>{"name": "rm", "arguments": {}}</tool_call>'))).toEqual({
      content: '<tool_call>{"name": "rm", "arguments": {}}</tool_call>',
      calls: [],
    });
    expect(summary(parseWhole('<tool_call>{"name": "search", "arguments": [1]}</tool_call>')).calls).toEqual([]);
    expect(summary(parseWhole('ok <tool_call>{"name": "search"'))).toEqual({
      content: 'ok <tool_call>{"name": "search"',
      calls: [],
    });
    expect(summary(parseWhole('x\n\n<tool_call>bad json</tool_call>\n\ny')).content).toBe(
      'x\n\n<tool_call>bad json</tool_call>\n\ny',
    );
  });

  it('returns only the first call when parallel calls are off, the others as content', () => {
    const result = summary(parseWhole(TWO_CALLS, 1));
    expect(result.calls).toEqual([{ name: 'search', arguments: '{"query":"Paris"}' }]);
    expect(result.content).toContain('<tool_call>\n{"name": "calc"');
  });

  it('holds back what may start a tag, and trailing whitespace, until it is decided', () => {
    const parser = new ToolCallParser(tools);
    expect(parser.push('Hi <tool')).toEqual([{ content: 'Hi' }]);
    expect(parser.push('s> \n')).toEqual([{ content: ' <tools>' }]);
    expect(parser.finish()).toEqual([]);
  });

  it('gives the same content and calls in any pieces, on 3,000 random texts of tag pieces', () => {
    const random = new Random(15);
    const parts = [
      '<tool_call>',
      '</tool_call>',
      '<tool_ca',
      'll>',
      '</tool',
      ' ',
      '\n',
      'x',
      '{"name": "search"}',
      '<',
    ];
    for (let i = 0; i < 3000; i++) {
      let text = '';
      for (let j = random.int(10); j > 0; j--) text += parts[random.int(parts.length)];
      const whole = summary(parseWhole(text));
      for (const size of [1, 2, 5, 11]) expect(parseInPieces(text, size), JSON.stringify(text)).toEqual(whole);
    }
  });

  /** The characters scanned to parse `text` pushed `size` characters at a time. */
  function work(text: string, size: number): number {
    const meter = { steps: 0 };
    const parser = new ToolCallParser(tools, Infinity, meter);
    for (let at = 0; at < text.length; at += size) parser.push(text.slice(at, at + size));
    parser.finish();
    return meter.steps;
  }

  it.each([
    ['an unclosed block of newline-space pairs', (n: number) => `<tool_call>${'\n '.repeat(n / 2)}`],
    ['a run of whitespace after some text', (n: number) => `a${' '.repeat(n)}`],
    ['almost-tags', (n: number) => '<tool_ca'.repeat(n / 8)],
    ['many blocks', (n: number) => '<tool_call>{"name": "search"}</tool_call>'.repeat(n / 40)],
    ['closing tags alone', (n: number) => '</tool_call>'.repeat(n / 12)],
  ])('scans %s streamed a character at a time in linear work', (_what, make) => {
    const n = 40_000;
    for (const size of [1, 1000]) {
      const small = work(make(n), size);
      const large = work(make(4 * n), size);
      // Each character is scanned at most twice, plus a closing tag's length a push.
      expect(small).toBeLessThanOrEqual(2 * n + (12 * n) / size);
      expect(large / small).toBeLessThan(4.2);
    }
  });
});
