import { describe, expect, it } from 'vitest';
import { ChatTemplateRenderer } from '../rollout/chat-template-renderer.js';
import { ByteTokenizer } from '../testing/byte-tokenizer.js';
import { QWEN25_CHAT_TEMPLATE } from '../testing/qwen25-chat-template.js';
import type { Message, ToolSpec } from '../types.js';
import { hermesToolCallText, pythonJson, toHermesMessages } from './hermes-chat.js';

const tokenizer = new ByteTokenizer();
const tools: ToolSpec[] = [
  {
    name: 'wiki_search',
    description: 'Search Wikipedia.',
    parameters: { type: 'object', properties: { query: { type: 'string' } }, required: ['query'] },
  },
  {
    name: 'calculator',
    description: 'Evaluate "x + y".',
    parameters: { type: 'object', properties: { expression: { type: 'string' } } },
  },
];
const history: Message[] = [
  { role: 'system', content: 'Be brief.' },
  { role: 'user', content: 'Capital of France, and 2+2?' },
  {
    role: 'assistant',
    content: 'Two lookups.',
    toolCalls: [
      { id: 'call_1', name: 'wiki_search', arguments: { query: 'capital of France' } },
      { id: 'call_2', name: 'calculator', arguments: { expression: '2+2', nested: { list: [1, 'é"'] } } },
    ],
  },
  { role: 'tool', content: 'Paris is the capital.', toolCallId: 'call_1' },
  { role: 'tool', content: '4', toolCallId: 'call_2' },
  { role: 'assistant', content: '', toolCalls: [{ name: 'wiki_search', arguments: { query: 'Paris' } }] },
  { role: 'tool', content: 'Paris: a city.', toolCallId: 'x' },
];

describe('toHermesMessages', () => {
  it('renders through a plain ChatML template to exactly the text of Qwen2.5 template with native tools', () => {
    const native = new ChatTemplateRenderer({ tokenizer, template: QWEN25_CHAT_TEMPLATE });
    const plain = new ChatTemplateRenderer({ tokenizer });
    expect(native.rendersTools).toBe(true);
    expect(plain.rendersTools).toBe(false);
    const expected = tokenizer.decode(native.renderPrompt(history, { tools }));
    expect(expected).toContain(
      '<|im_start|>user\n<tool_response>\nParis is the capital.\n' +
        '</tool_response>\n<tool_response>\n4\n</tool_response><|im_end|>',
    );
    expect(tokenizer.decode(plain.renderPrompt(toHermesMessages(history, tools)))).toBe(expected);
  });

  it('adds a system message for the tools when there is none, and leaves tool-free conversations alone', () => {
    const converted = toHermesMessages([{ role: 'user', content: 'hi' }], tools);
    expect(converted[0]!.role).toBe('system');
    expect(converted[0]!.content.startsWith('# Tools\n\nYou may call one or more functions')).toBe(true);
    expect(converted[0]!.content).toContain(
      '{"type": "function", "function": {"name": "wiki_search", ' +
        '"description": "Search Wikipedia.", "parameters": {"type": "object"',
    );
    const plain: Message[] = [
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: 'hello' },
    ];
    expect(toHermesMessages(plain)).toEqual(plain);
  });

  it('writes JSON as the tojson filter does', () => {
    expect(pythonJson({ a: [1, 'x, "y": z'], b: { c: null }, d: undefined })).toBe(
      '{"a": [1, "x, \\"y\\": z"], "b": {"c": null}}',
    );
    expect(hermesToolCallText({ name: 'f', arguments: {} })).toBe(
      '<tool_call>\n{"name": "f", "arguments": {}}\n</tool_call>',
    );
  });
});
