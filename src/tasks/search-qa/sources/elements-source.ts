/**
 * Reads the chemical elements of `node-periodic-table` (package MIT; the summaries are Wikipedia
 * text under CC BY-SA, attributed in the generated data's notices): one document per element,
 * starting with a "Symbol / Atomic number / Discovered by" header, then its Wikipedia summary.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DataError } from '../../../errors.js';
import type { CorpusDocument } from '../types.js';
import { packageRoot, SOURCE_PACKAGES } from './package-files.js';

/** The element facts the question templates use. */
export interface ElementRecord {
  name: string;
  symbol: string;
  number: number;
  /** The discoverer field as published (a person, "A and B", a date such as "5000 BC", or absent). */
  discoveredBy?: string;
  namedBy?: string;
  category?: string;
  /** Row of the periodic table. */
  period?: number;
  summary: string;
  /** Wikipedia article the summary is taken from. */
  sourceUrl?: string;
}

interface RawElement {
  name?: unknown;
  symbol?: unknown;
  number?: unknown;
  discovered_by?: unknown;
  named_by?: unknown;
  category?: unknown;
  summary?: unknown;
  source?: unknown;
  phase?: unknown;
  atomic_mass?: unknown;
  period?: unknown;
}

/** Reads the elements, merged by atomic number (the package lists 119 records), in number order. */
export function readElements(): { documents: CorpusDocument[]; elements: ElementRecord[] } {
  const root = packageRoot(SOURCE_PACKAGES.elements.name, SOURCE_PACKAGES.elements.version);
  const raw = JSON.parse(readFileSync(path.join(root, 'elements.json'), 'utf8')) as unknown;
  if (!Array.isArray(raw)) throw new DataError('node-periodic-table elements.json: expected an array of elements');
  const byNumber = new Map<number, { record: ElementRecord; raw: RawElement }>();
  for (const item of raw as RawElement[]) {
    if (typeof item.name !== 'string' || typeof item.symbol !== 'string' || typeof item.number !== 'number') continue;
    if (byNumber.has(item.number)) continue; // first record of a number wins
    const text = (value: unknown) => (typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined);
    byNumber.set(item.number, {
      raw: item,
      record: {
        name: item.name,
        symbol: item.symbol,
        number: item.number,
        discoveredBy: text(item.discovered_by),
        namedBy: text(item.named_by),
        category: text(item.category),
        period: typeof item.period === 'number' ? item.period : undefined,
        summary: text(item.summary) ?? '',
        sourceUrl: text(item.source),
      },
    });
  }
  const entries = [...byNumber.values()].sort((a, b) => a.record.number - b.record.number);
  const documents = entries.map(({ record, raw: item }) => {
    const header = [`Symbol: ${record.symbol}`, `Atomic number: ${record.number}`];
    if (record.discoveredBy) header.push(`Discovered by: ${record.discoveredBy}`);
    if (record.namedBy) header.push(`Named by: ${record.namedBy}`);
    if (record.category) header.push(`Category: ${record.category}`);
    if (typeof item.phase === 'string') header.push(`Phase at room temperature: ${item.phase}`);
    if (typeof item.atomic_mass === 'number') header.push(`Atomic mass: ${item.atomic_mass}`);
    if (typeof item.period === 'number') header.push(`Period: ${item.period}`);
    return {
      id: `elements:${record.number}`,
      title: `${record.name} (chemical element)`,
      text: `${header.join('\n')}\n${record.summary}`,
      source: 'elements',
    };
  });
  return { documents, elements: entries.map((entry) => entry.record) };
}
