import { describe, expect, it } from 'vitest';
import { ToolError } from '../errors.js';
import { mcpResultText } from './mcp-result.js';

describe('mcpResultText', () => {
  it('joins text blocks with newlines', () => {
    expect(
      mcpResultText({
        content: [
          { type: 'text', text: 'first' },
          { type: 'text', text: 'second' },
        ],
      }),
    ).toBe('first\nsecond');
  });

  it('describes every other kind of block instead of dropping it', () => {
    const text = mcpResultText({
      content: [
        { type: 'image', data: 'AAECAwQ=', mimeType: 'image/png' },
        { type: 'audio', data: 'AAAA', mimeType: 'audio/wav' },
        { type: 'resource_link', uri: 'https://example.com/a.pdf', name: 'a.pdf' },
        { type: 'resource', resource: { uri: 'file:///n.md', text: '# Notes' } },
        { type: 'resource', resource: { uri: 'file:///b.bin', mimeType: 'application/zip', blob: 'AAECAwQFBgc=' } },
        { type: 'hologram' } as never,
      ],
    });
    expect(text.split('\n')).toEqual([
      '[image: image/png, 5 bytes]',
      '[audio: audio/wav, 3 bytes]',
      '[resource link: a.pdf <https://example.com/a.pdf>]',
      '[resource <file:///n.md>, text]',
      '# Notes',
      '[resource <file:///b.bin>: application/zip, 8 bytes]',
      '[hologram content]',
    ]);
  });

  it('shows structured content as JSON when there are no content blocks', () => {
    expect(mcpResultText({ content: [], structuredContent: { temperature: 21.5, unit: 'C' } })).toBe(
      '{"temperature":21.5,"unit":"C"}',
    );
    expect(
      mcpResultText({ content: [{ type: 'text', text: '21.5 C' }], structuredContent: { temperature: 21.5 } }),
    ).toBe('21.5 C');
    expect(mcpResultText({ content: [] })).toBe('');
  });

  it('throws an isError result as a ToolError with its text, without a doubled Error: prefix', () => {
    expect(() => mcpResultText({ content: [{ type: 'text', text: 'file not found' }], isError: true })).toThrow(
      new ToolError('file not found'),
    );
    expect(() => mcpResultText({ content: [{ type: 'text', text: 'Error: file not found' }], isError: true })).toThrow(
      new ToolError('file not found'),
    );
    expect(() => mcpResultText({ content: [], isError: true })).toThrow(
      new ToolError('the tool reported an error without a message'),
    );
  });
});
