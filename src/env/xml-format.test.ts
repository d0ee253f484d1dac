import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTool, type Tool } from './tool.js';
import { XmlFormat, formatToolDescriptions } from './xml-format.js';

const wikiSearch = defineTool({
  name: 'wiki_search',
  description: 'Searches Wikipedia and returns the top matching article content.',
  parameters: z.object({ query: z.string() }),
  execute: ({ query }) => `article about ${query}`,
});

// The reference system prompt after formatting (paper-digest 5.2), character for character.
const PAPER_PROMPT = `You have access to the following tools to help solve problems:

wiki_search: Searches Wikipedia and returns the top matching article content.

Arguments:
  - query: 

Follow these steps exactly once:
1. Think through your reasoning inside <reasoning> tags
2. Use a tool by writing a JSON command inside <tool> tags with:
   - "name": the tool to use
   - "args": the arguments for the tool
3. You will see the tool's output inside <result> tags
4. Think through the tool's output inside <reasoning> tags
5. Based on your reasoning, provide your final answer inside <answer> tags

Important:
- Use the tool exactly once - \
DO NOT attempt to call the tool again even if the first search doesn't give helpful results
- You must work with both your prior knowledge and whatever information the single tool call provides
- If the tool doesn't return useful information, rely on your prior knowledge to answer
- Tools expect specific JSON input formats. Follow the examples carefully
- Do not make up tools or arguments that aren't listed
- After getting the tool result, analyze it in a reasoning step before giving your answer
- Your answer should match the expected ground-truth
`;

const tools = new Map<string, Tool>([['wiki_search', wikiSearch]]);
const format = new XmlFormat();

describe('XmlFormat system prompt', () => {
  it('reproduces the paper prompt exactly, with the trailing space of an undescribed argument', () => {
    expect(format.systemPrompt([wikiSearch])).toBe(PAPER_PROMPT);
  });

  it('lists described arguments and defaults as the reference formatter does', () => {
    const calc = defineTool({
      name: 'calc',
      description: 'Evaluates arithmetic.',
      parameters: z.object({
        expression: z.string().describe('An expression like 2+2'),
        digits: z.number().default(4).describe('Digits to keep'),
      }),
      execute: () => '4',
    });
    expect(formatToolDescriptions([calc, wikiSearch])).toBe(
      'calc: Evaluates arithmetic.\n\nArguments:\n' +
        '  - expression: An expression like 2+2\n  - digits: Digits to keep (default: 4)' +
        '\n\nwiki_search: Searches Wikipedia and returns the top matching article content.\n\nArguments:\n  - query: ',
    );
  });

  it('uses the paper stop strings', () => {
    expect(format.stop).toEqual(['</tool>', '</answer>']);
  });
});

describe('XmlFormat tool-call decoding (reference call_tool order and messages)', () => {
  it('decodes name and args', () => {
    expect(format.decodeToolCall('{"name": "wiki_search", "args": {"query": "x"}}', tools)).toEqual({
      ok: true,
      call: { name: 'wiki_search', arguments: { query: 'x' } },
    });
  });

  it('defaults missing args to an empty object', () => {
    expect(format.decodeToolCall('{"name": "wiki_search"}', tools)).toEqual({
      ok: true,
      call: { name: 'wiki_search', arguments: {} },
    });
  });

  it.each([
    ['{"name": "wiki_search", "args": ', 'Error: Invalid JSON format'],
    ['["wiki_search"]', 'Error: Tool command must be a JSON object'],
    ['"wiki_search"', 'Error: Tool command must be a JSON object'],
    ['{"args": {"query": "x"}}', "Error: Tool command must specify 'name'"],
    ['{"name": "", "args": {}}', "Error: Tool command must specify 'name'"],
    ['{"name": "google", "args": {"query": "x"}}', "Error: Unknown tool 'google'"],
    ['{"name": "wiki_search", "args": "x"}', 'Error: wiki_search() argument after ** must be a mapping, not str'],
  ])('rejects %s with %s', (raw, error) => {
    expect(format.decodeToolCall(raw, tools)).toEqual({ ok: false, error });
  });
});

describe('XmlFormat messages', () => {
  it('wraps results in <result> on their own lines, as a user message', () => {
    expect(format.formatResult('text')).toEqual({ role: 'user', content: '<result>\ntext\n</result>' });
    expect(format.parseResult('<result>\ntext\n</result>')).toBe('text');
  });

  it('sends errors without a <result> tag', () => {
    expect(format.formatError('Error: x')).toEqual({ role: 'user', content: 'Error: x' });
    expect(format.parseResult('Error: x')).toBeUndefined();
  });
});
