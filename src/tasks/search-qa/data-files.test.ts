import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DATA_DIR_ENV, defaultDataDir, parseTier, readJsonLines, toJsonLines, writeFileAtomic } from './data-files.js';

describe('data files', () => {
  it('puts a tier under .turnwise/data of the working directory unless the environment says otherwise', () => {
    expect(defaultDataDir('S', {}, '/work/project')).toBe('/work/project/.turnwise/data/S');
    expect(defaultDataDir('M', { [DATA_DIR_ENV]: '/cache/turnwise' }, '/work/project')).toBe('/cache/turnwise/M');
  });

  it('parses tiers case-insensitively and names the allowed values otherwise', () => {
    expect(parseTier('s')).toBe('S');
    expect(() => parseTier('L')).toThrow(/--tier must be S or M, got "L"/);
  });

  it('writes atomically (no temporary file left) and reads JSON lines back, naming a bad line', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'search-qa-files-'));
    try {
      const file = path.join(dir, 'nested', 'rows.jsonl');
      writeFileAtomic(file, toJsonLines([{ a: 1 }, { b: 'x' }]));
      expect(readdirSync(path.dirname(file))).toEqual(['rows.jsonl']);
      expect(readFileSync(file, 'utf8')).toBe('{"a":1}\n{"b":"x"}\n');
      const rows: unknown[] = [];
      for await (const row of readJsonLines(file)) rows.push(row);
      expect(rows).toEqual([{ a: 1 }, { b: 'x' }]);
      writeFileSync(file, '{"a":1}\n\n{oops\n');
      await expect(
        (async () => {
          for await (const _ of readJsonLines(file));
        })(),
      ).rejects.toThrow(/rows\.jsonl:3: not valid JSON/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
