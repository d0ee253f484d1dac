/**
 * The text a model sees for an MCP `tools/call` result: text blocks as written, every other block
 * described in one bracketed line (images, audio and binary resources by type and size, resource
 * links by name and URI; embedded text resources with their text), joined by newlines. A result
 * with no content shows its `structuredContent` as JSON. An `isError` result throws a ToolError, so
 * the tool runner turns it into the `Error: ...` result.
 */
import type { CallToolResult, ContentBlock } from '@modelcontextprotocol/sdk/types.js';
import { ToolError } from '../errors.js';

/** The result's text for the model; throws a ToolError carrying that text when `isError` is set. */
export function mcpResultText(result: Pick<CallToolResult, 'content' | 'structuredContent' | 'isError'>): string {
  const blocks = result.content ?? [];
  let text = blocks.map(describeBlock).join('\n');
  if (blocks.length === 0 && result.structuredContent !== undefined) text = JSON.stringify(result.structuredContent);
  if (result.isError === true) {
    // Servers often write "Error: ..." themselves; the runner adds the prefix once.
    const message = text.replace(/^\s*Error:\s*/, '').trim();
    throw new ToolError(message.length > 0 ? message : 'the tool reported an error without a message');
  }
  return text;
}

function describeBlock(block: ContentBlock): string {
  switch (block.type) {
    case 'text':
      return block.text;
    case 'image':
    case 'audio':
      return `[${block.type}: ${block.mimeType}, ${base64Bytes(block.data)} bytes]`;
    case 'resource_link': {
      const details = [block.mimeType, block.description].filter((detail) => detail !== undefined && detail.length > 0);
      return `[resource link: ${block.name} <${block.uri}>${details.length > 0 ? ` (${details.join('; ')})` : ''}]`;
    }
    case 'resource': {
      const resource = block.resource;
      const type = resource.mimeType ?? ('text' in resource ? 'text' : 'binary');
      if ('text' in resource && typeof resource.text === 'string')
        return `[resource <${resource.uri}>, ${type}]\n${resource.text}`;
      const blob = 'blob' in resource && typeof resource.blob === 'string' ? resource.blob : '';
      return `[resource <${resource.uri}>: ${type}, ${base64Bytes(blob)} bytes]`;
    }
    default:
      return `[${String((block as { type?: unknown }).type)} content]`;
  }
}

/** Decoded size of base64 data. */
function base64Bytes(data: string): number {
  const length = data.replace(/\s/g, '').length;
  const padding = data.endsWith('==') ? 2 : data.endsWith('=') ? 1 : 0;
  return Math.max(0, Math.floor((length * 3) / 4) - padding);
}
