/**
 * Retrieval statistics per question family with the question text as the query: BM25 gold@k
 * (a gold document among the top k), answer@k (an alias in the best passages of the top k), and
 * whether the answer survives the tool's output budget, for passage output (ours) and for the
 * head of the top-1 document (the paper's whole-article output, cut to the same budget).
 */
import { MatchableText } from './text-match.js';
import type { SearchIndex } from './search-index.js';
import { runWikiSearch, type WikiSearchSettings } from './wiki-search-tool.js';
import type { QuestionRow } from './types.js';

/** One row of the stats table. */
export interface FamilyRetrievalStats {
  family: string;
  questions: number;
  gold1: number;
  gold5: number;
  gold20: number;
  answer1: number;
  answer5: number;
  /** Answer in the tool's output (passages within budget). */
  answerInOutput: number;
  /** Answer in a gold hit of the tool's output (the strict reward's test). */
  goldAnswerInOutput: number;
  /** Answer in the top-1 document's head cut to the same budget. */
  answerInDocumentHead: number;
}

/** Computes the table over the given rows (grouped by family, families in first-seen order). */
export function retrievalStats(
  index: SearchIndex,
  rows: readonly QuestionRow[],
  settings: WikiSearchSettings,
): FamilyRetrievalStats[] {
  const byFamily = new Map<string, QuestionRow[]>();
  for (const row of rows) {
    const list = byFamily.get(row.family) ?? [];
    list.push(row);
    byFamily.set(row.family, list);
  }
  const documentSettings: WikiSearchSettings = { ...settings, unit: 'document', k: 1 };
  return [...byFamily.entries()].map(([family, familyRows]) => {
    const sums = {
      gold1: 0,
      gold5: 0,
      gold20: 0,
      answer1: 0,
      answer5: 0,
      answerInOutput: 0,
      goldAnswerInOutput: 0,
      answerInDocumentHead: 0,
    };
    for (const row of familyRows) {
      const hits = index.search(row.question, { k: 20 });
      const gold = new Set(row.gold);
      const goldTitles = new Set(row.goldTitles ?? []); // imported TriviaQA rows name their pages by title
      const isGold = (hit: { docId: string; title: string }) => gold.has(hit.docId) || goldTitles.has(hit.title);
      const goldRank = hits.findIndex(isGold);
      const answerRank = hits.findIndex((hit) => hasAnswer(`${hit.title}\n${hit.text}`, row.answers));
      if (goldRank === 0) sums.gold1++;
      if (goldRank >= 0 && goldRank < 5) sums.gold5++;
      if (goldRank >= 0) sums.gold20++;
      if (answerRank === 0) sums.answer1++;
      if (answerRank >= 0 && answerRank < 5) sums.answer5++;
      const output = runWikiSearch(index, row.question, settings);
      if (hasAnswer(output.text, row.answers)) sums.answerInOutput++;
      if (output.shown.some((item) => isGold(item.hit) && hasAnswer(item.shown, row.answers)))
        sums.goldAnswerInOutput++;
      if (hasAnswer(runWikiSearch(index, row.question, documentSettings).text, row.answers))
        sums.answerInDocumentHead++;
    }
    const share = (value: number) => Math.round((value / familyRows.length) * 1000) / 1000;
    return {
      family,
      questions: familyRows.length,
      gold1: share(sums.gold1),
      gold5: share(sums.gold5),
      gold20: share(sums.gold20),
      answer1: share(sums.answer1),
      answer5: share(sums.answer5),
      answerInOutput: share(sums.answerInOutput),
      goldAnswerInOutput: share(sums.goldAnswerInOutput),
      answerInDocumentHead: share(sums.answerInDocumentHead),
    };
  });
}

function hasAnswer(text: string, answers: readonly string[]): boolean {
  const matchable = new MatchableText(text);
  return answers.some((answer) => matchable.contains(answer));
}

/** Renders rows as a Markdown table. */
export function markdownTable(rows: ReadonlyArray<Record<string, string | number>>): string {
  if (rows.length === 0) return '(no rows)';
  const columns = Object.keys(rows[0]!);
  const cell = (value: string | number | undefined) =>
    typeof value === 'number' && !Number.isInteger(value) ? value.toFixed(3) : String(value ?? '');
  const lines = [`| ${columns.join(' | ')} |`, `|${columns.map(() => '---').join('|')}|`];
  for (const row of rows) lines.push(`| ${columns.map((column) => cell(row[column])).join(' | ')} |`);
  return lines.join('\n');
}
