import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ConfigError } from '../errors.js';
import { command } from './data.js';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'tasks', 'search-qa', '__fixtures__');
let dir: string;

async function run(...args: string[]): Promise<{ code: number | void; output: string }> {
  const lines: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((...parts: unknown[]) => void lines.push(parts.join(' ')));
  try {
    return { code: await command.run(args), output: lines.join('\n') };
  } finally {
    spy.mockRestore();
  }
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'cli-data-'));
  // A real-format data directory: KILT articles as the index, TriviaQA questions beside them.
  await run('import-kilt', path.join(fixtures, 'kilt-wikipedia-sample.jsonl'), '--out', dir);
  await run('import-triviaqa', path.join(fixtures, 'triviaqa-rc-sample.json'), '--out', dir);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('turnwise data', () => {
  it('imports TriviaQA questions next to a KILT index', () => {
    const rows = readFileSync(path.join(dir, 'questions.jsonl'), 'utf8').trim().split('\n');
    expect(rows).toHaveLength(3);
    expect(JSON.parse(rows[0]!).split).toBe('dev');
  });

  it('search prints ranked titles with ids and snippets, and the raw tool output on request', async () => {
    const ranked = await run('search', 'stage name David Seville', '--dir', dir, '-k', '2');
    expect(ranked.output).toMatch(
      /^1\. Ross Bagdasarian {2}\[kilt:1200, passage 0, bm25 [\d.]+\]\n {3}Ross Bagdasarian Sr\./,
    );
    const raw = await run('search', '--raw', 'David Seville', '--dir', dir, '-k', '1');
    expect(raw.output.startsWith('Ross Bagdasarian\nRoss Bagdasarian Sr.')).toBe(true);
    expect((await run('search', '"()"', '--dir', dir)).output).toContain('No relevant content found.');
  });

  it('stats prints counts per split and family and the retrieval table', async () => {
    const { output } = await run('stats', '--dir', dir);
    expect(output).toMatch(/\| triviaqa \| 0 \| 3 \| 0 \| 3 \| - \|/);
    expect(output).toMatch(/\| family \| n \| gold@1 \|/);
    const json = JSON.parse((await run('stats', '--dir', dir, '--json')).output) as {
      retrieval: Array<{ family: string; gold20: number }>;
    };
    expect(json.retrieval[0]!.family).toBe('triviaqa');
    expect(json.retrieval[0]!.gold20).toBeGreaterThan(0.5);
  });

  it('rejects bad flags and values with a ConfigError naming them', async () => {
    await expect(run('build', '--tier', 'X')).rejects.toThrow(/--tier must be S or M, got "X"/);
    await expect(run('search', 'q', '--dir', dir, '-k', '0')).rejects.toThrow(/-k must be a positive integer/);
    await expect(run('stats', '--bogus')).rejects.toThrow(ConfigError);
    await expect(run('frobnicate')).rejects.toThrow(/unknown subcommand "frobnicate"/);
  });
});
