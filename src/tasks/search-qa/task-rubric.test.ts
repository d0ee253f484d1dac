import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { XmlFormat } from '../../env/xml-format.js';
import type { Message, ToolCall, Trajectory, Turn } from '../../types.js';
import { DATA_FILES, toJsonLines } from './data-files.js';
import { openSearchIndex, type SearchIndex } from './search-index.js';
import { createSearchQaRubric } from './task-rubric.js';
import { normalizeAliases } from './text-match.js';
import type { CorpusDocument, QuestionRow } from './types.js';
import { createWikiSearchTool, type WikiSearchTool } from './wiki-search-tool.js';

const CORPUS: CorpusDocument[] = [
  {
    id: 'elements:1',
    title: 'Hydrogen (chemical element)',
    source: 'elements',
    text: 'Symbol: H\nAtomic number: 1\nHydrogen is the lightest element.',
  },
  {
    id: 'elements:2',
    title: 'Helium (chemical element)',
    source: 'elements',
    text: 'Symbol: He\nAtomic number: 2\nHelium is a noble gas.',
  },
];

const format = new XmlFormat();
let dir: string;
let index: SearchIndex;
let tool: WikiSearchTool;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'search-qa-rubric-'));
  writeFileSync(path.join(dir, DATA_FILES.corpus), toJsonLines(CORPUS));
  index = await openSearchIndex(dir);
  tool = createWikiSearchTool(index);
});

afterAll(() => {
  index.close();
  rmSync(dir, { recursive: true, force: true });
});

function row(answers: string[], gold: string[]): QuestionRow {
  return {
    id: 'q',
    question: 'What is the chemical symbol of hydrogen?',
    answers,
    normalizedAnswers: normalizeAliases(answers),
    family: 'element_symbol',
    template: '',
    source: 'elements',
    entity: 'Hydrogen',
    gold,
    split: 'train',
  };
}

// A two-turn episode: a search with `query` whose result is `shown` (default: the real tool output), then `answer`.
function episode(query: string, answer: string, shown = tool.run(query).text): Trajectory {
  const call: ToolCall = { name: 'wiki_search', arguments: { query } };
  const first: Message = {
    role: 'assistant',
    content:
      `<reasoning>look it up</reasoning>\n` +
      `<tool>${JSON.stringify({ name: 'wiki_search', args: { query } })}</tool>`,
  };
  const reply = format.formatResult(shown);
  const second: Message = { role: 'assistant', content: `<reasoning>found it</reasoning>\n<answer>${answer}</answer>` };
  const span = { start: 0, end: 0 };
  const turns: Turn[] = [
    {
      index: 0,
      assistant: first,
      sampled: span,
      toolCalls: [call],
      env: reply,
      envSpan: span,
      isToolResult: true,
      toolFailed: false,
      truncated: false,
    },
    {
      index: 1,
      assistant: second,
      sampled: span,
      toolCalls: [],
      isToolResult: false,
      toolFailed: false,
      truncated: false,
    },
  ];
  return {
    rowId: 'q',
    groupIndex: 0,
    messages: [first, reply, second],
    tokens: [],
    promptLength: 0,
    trainable: [],
    logprobs: [],
    turns,
    turnRewards: [],
    outcomeReward: 0,
    rewardComponents: {},
    stopReason: 'answered',
    errors: [],
  };
}

describe('createSearchQaRubric', () => {
  it(
    'gives the paper search reward for an accidental one-letter match, ' + 'the gold reward only for the gold document',
    async () => {
      const hydrogen = row(['H'], ['elements:1']);
      const paper = createSearchQaRubric();
      const gold = createSearchQaRubric({ tool, searchAnswer: 'gold' });

      const wrongDocument = episode('helium noble gas', 'He');
      await paper.score(wrongDocument, hydrogen);
      expect(wrongDocument.rewardComponents.search_answer).toBe(0.5); // "h" is a substring of "helium"
      await gold.score(wrongDocument, hydrogen);
      expect(wrongDocument.rewardComponents.search_answer_gold).toBe(0);

      const rightDocument = episode('hydrogen symbol', 'H');
      await gold.score(rightDocument, hydrogen);
      expect(rightDocument.rewardComponents.search_answer_gold).toBe(0.5);
      expect(rightDocument.turnRewards[0]).toBeCloseTo(0.2 + 0.5);
      expect(rightDocument.rewardComponents.exact_match).toBe(1);
    },
  );

  it('records an error instead of a silent 0 when the result cannot be reproduced by the tool', async () => {
    const gold = createSearchQaRubric({ tool, searchAnswer: 'gold' });
    const tampered = episode('hydrogen symbol', 'H', 'Hydrogen (chemical element)\nSymbol: H');
    await gold.score(tampered, row(['H'], ['elements:1']));
    expect(tampered.errors.join('\n')).toMatch(/search_answer_gold.*same wiki_search tool/);
    expect(tampered.rewardComponents.search_answer_gold).toBeUndefined();
  });

  it('scores exact match paper-exact against normalised aliases, or normalised on both sides', async () => {
    const beatles = row(['The Beatles'], []);
    const paper = episode('hydrogen', 'The Beatles');
    await createSearchQaRubric().score(paper, beatles);
    expect(paper.rewardComponents.exact_match).toBe(0); // "the beatles" != normalised alias "beatles"
    const normalized = episode('hydrogen', 'the beatles!');
    await createSearchQaRubric({ exactMatch: 'normalized' }).score(normalized, beatles);
    expect(normalized.rewardComponents.exact_match_normalized).toBe(1);
  });

  it('refuses the gold variant without the tool', () => {
    expect(() => createSearchQaRubric({ searchAnswer: 'gold' })).toThrow(/needs options.tool/);
  });
});
