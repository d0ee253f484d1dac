import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from './errors.js';
import { isTypeScriptFile, tsxApiUrl } from './typescript-import.js';

describe('TypeScript modules handed to turnwise', () => {
  it('recognises .ts, .mts and .cts paths only', () => {
    expect(['a.ts', 'dir/b.mts', 'C.CTS'].map(isTypeScriptFile)).toEqual([true, true, true]);
    expect(['a.js', 'b.mjs', 'c.json', 'd.tsx', 'ts'].map(isTypeScriptFile)).toEqual([
      false,
      false,
      false,
      false,
      false,
    ]);
  });

  it("finds tsx's ESM API from the first base that has it, and it offers register and tsImport", async () => {
    const empty = mkdtempSync(join(tmpdir(), 'turnwise-no-tsx-'));
    try {
      const url = tsxApiUrl('config.ts', [join(empty, 'config.ts'), import.meta.url]);
      expect(url).toMatch(/^file:.*\/node_modules\/tsx\/.*\.mjs$/);
      const api = (await import(url)) as Record<string, unknown>;
      expect(typeof api.register).toBe('function');
      expect(typeof api.tsImport).toBe('function');
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('says to install tsx when no base can resolve it', () => {
    const empty = mkdtempSync(join(tmpdir(), 'turnwise-no-tsx-'));
    try {
      const call = () => tsxApiUrl('config file "c.ts"', [join(empty, 'c.ts')]);
      expect(call).toThrow(ConfigError);
      expect(call).toThrow(
        new RegExp(
          /^config file "c\.ts" is TypeScript, which Node v\d+\.\d+\.\d+ cannot import by itself: /.source +
            /install tsx in your project \(npm install --save-dev tsx\)/.source,
        ),
      );
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
