import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { toHermesMessages } from '../../env/hermes-chat.js';
import { Random } from '../../random.js';
import { resolveConfig } from '../../train/config-load.js';
import { searchQaTaskDefinition } from './definition.js';
import { DEMO_KINDS, makeDemonstration } from './demonstrations.js';
import { ChatHermesFormat, hermesSearchCall, hermesSystemMessage, searchQaToolSpec } from './hermes-env.js';
import { DEMO_PRESET } from './presets.js';
import type { QuestionRow } from './types.js';
import { warmStartKey } from './warm-start.js';
import type { WikiSearchTool } from './wiki-search-tool.js';
import { createWikiSearchTool } from './wiki-search-tool.js';
import type { SearchIndex } from './search-index.js';

const row = { id: 'q1', question: 'What is the capital of France?', answers: ['Paris'] } as QuestionRow;
const tool = createWikiSearchTool({ search: () => [] } as unknown as SearchIndex);
const format = new ChatHermesFormat();
const tools = new Map([[tool.name, tool]]);

describe('the search-QA task in the Hermes format (task.format: hermes)', () => {
  it('leaves the warm-start key of the default XML format as it was, and gives the Hermes format its own', () => {
    const tasks = { tasks: [searchQaTaskDefinition] };
    // A data directory that does not exist: keys without a data fingerprint, whatever this machine has built.
    const dir = join(tmpdir(), 'turnwise-no-data-here');
    const demo = resolveConfig({ ...DEMO_PRESET, task: { ...DEMO_PRESET.task, dir } }, tasks);
    // The keys of the demo's recipe and the default recipe (warm-start recipe 6): the Hermes format did not change them.
    expect(warmStartKey(demo)).toBe('2b4dde2465bc35e0');
    expect(warmStartKey(resolveConfig({ task: { dir } }, tasks))).toBe('e0824dbc90d4617e');
    const hermes = resolveConfig({ ...DEMO_PRESET, task: { ...DEMO_PRESET.task, dir, format: 'hermes' } }, tasks);
    expect(warmStartKey(hermes)).not.toBe(warmStartKey(demo));
  });

  it('writes the system message and a call exactly as the gateway renders them', () => {
    const spec = searchQaToolSpec(tool);
    const [system] = toHermesMessages([{ role: 'system', content: 'PROMPT' }], [spec]);
    expect(hermesSystemMessage(tool).endsWith(system!.content.slice('PROMPT'.length))).toBe(true);
    const call = { name: 'wiki_search', arguments: { query: 'capital "France"' } };
    const [assistant] = toHermesMessages([{ role: 'assistant', content: 'R', toolCalls: [{ id: 'c', ...call }] }]);
    expect(assistant!.content).toBe(`R\n${hermesSearchCall('capital "France"')}`);
    // A turn ends at the end-of-turn token, as a chat completion does.
    expect(format.stop).toEqual([]);
  });

  it('plays every kind of demonstration in the Hermes format: good calls decode, broken ones do not', () => {
    const searchTool = { run: () => ({ text: 'France\nCapital: Paris', shown: [] }) } as unknown as WikiSearchTool;
    for (const kind of DEMO_KINDS) {
      for (let seed = 0; seed < 6; seed++) {
        const demo = makeDemonstration({
          row,
          kind,
          tool: searchTool,
          random: new Random(seed),
          guessPool: ['Lyon'],
          format: 'hermes',
        });
        const raw = format.parseToolCall(demo.replies[0]!);
        expect(demo.replies.join('')).not.toContain('<tool>');
        if (kind === 'good' || kind === 'poorQuery') {
          const decoded = format.decodeToolCall(raw!, tools);
          expect(decoded.ok).toBe(true);
          expect(demo.replies[1]).toMatch(/<answer>.+<\/answer>$/);
        }
        // Broken: bad JSON after the reasoning, or (valid calls) missing reasoning tags or no tags at all.
        if (kind === 'brokenFormat' && raw !== undefined && demo.replies[0]!.startsWith('<reasoning>'))
          expect(format.decodeToolCall(raw, tools).ok).toBe(false);
      }
    }
  });
});
