import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSearchQaData, type SearchQaManifest } from './build-data.js';
import { loadSearchQaDataset } from './dataset.js';
import { HELD_OUT_FAMILIES } from './splits.js';
import type { QuestionRow } from './types.js';

let dir: string;
let manifest: SearchQaManifest;
let rows: QuestionRow[];

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'search-qa-tier-m-'));
  manifest = buildSearchQaData({ tier: 'M', dir });
  rows = loadSearchQaDataset(dir);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('buildSearchQaData (tier M)', () => {
  it('builds about 85k documents and 8k questions', () => {
    expect(manifest.documents).toBeGreaterThan(80_000);
    expect(manifest.documents).toBeLessThan(90_000);
    expect(rows.length).toBeGreaterThan(7000);
    expect(rows.length).toBeLessThan(9000);
  });

  it('meets the answer-in-gold target in every family', () => {
    for (const family of manifest.families) expect(family.answerInGold, family.family).toBeGreaterThanOrEqual(0.98);
  });

  it('keeps splits entity-disjoint, held-out families in test, and every split populated', () => {
    const splitByEntity = new Map<string, string>();
    for (const row of rows) {
      expect(splitByEntity.get(row.entity) ?? row.split, row.entity).toBe(row.split);
      splitByEntity.set(row.entity, row.split);
      if (HELD_OUT_FAMILIES.has(row.family)) expect(row.split).toBe('test');
    }
    for (const split of ['train', 'dev', 'test'] as const)
      expect(rows.filter((row) => row.split === split).length).toBeGreaterThan(500);
    for (const family of HELD_OUT_FAMILIES)
      expect(rows.filter((row) => row.family === family).length, family).toBeGreaterThan(25);
  });
});
