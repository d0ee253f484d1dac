/**
 * File layout and I/O of a search-QA data directory: `corpus.jsonl`, `questions.jsonl`,
 * `manifest.json`, the licence notices and the cached `index.sqlite`. Files are written atomically
 * (temporary file, then rename) so an interrupted build never leaves a half-written file behind.
 */
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { ConfigError, DataError } from '../../errors.js';
import type { Tier } from './types.js';

/** File names inside a data directory. */
export const DATA_FILES = {
  corpus: 'corpus.jsonl',
  questions: 'questions.jsonl',
  manifest: 'manifest.json',
  notices: 'NOTICES.md',
  index: 'index.sqlite',
} as const;

/** The environment variable that overrides the data root (the tier is appended as a subfolder). */
export const DATA_DIR_ENV = 'TURNWISE_DATA_DIR';

/**
 * The default data directory of a tier: `$TURNWISE_DATA_DIR/<tier>`
 * or `.turnwise/data/<tier>` under the working directory.
 */
export function defaultDataDir(tier: Tier, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string {
  const root = env[DATA_DIR_ENV] ?? path.join(cwd, '.turnwise', 'data');
  return path.resolve(root, tier);
}

/** Parses a tier name given by a user. */
export function parseTier(value: string): Tier {
  const upper = value.toUpperCase();
  if (upper !== 'S' && upper !== 'M') throw new ConfigError(`--tier must be S or M, got ${JSON.stringify(value)}`);
  return upper;
}

/** Writes a file atomically (temp file, fsync, rename), shared with the engine and the trainer. */
export { writeFileAtomicSync as writeFileAtomic } from '../../engine/atomic-write.js';

/** Serialises records as JSON lines. */
export function toJsonLines(records: readonly unknown[]): string {
  return records.map((record) => JSON.stringify(record)).join('\n') + (records.length > 0 ? '\n' : '');
}

/** Streams the JSON records of a JSONL file, one per non-empty line, naming the line on a parse error. */
export async function* readJsonLines(filePath: string): AsyncGenerator<unknown> {
  const lines = createInterface({ input: createReadStream(filePath, { encoding: 'utf8' }), crlfDelay: Infinity });
  let lineNumber = 0;
  for await (const line of lines) {
    lineNumber += 1;
    if (line.trim() === '') continue;
    try {
      yield JSON.parse(line) as unknown;
    } catch (error) {
      throw new DataError(
        `${filePath}:${lineNumber}: not valid JSON (${(error as Error).message}); expected one JSON object per line`,
      );
    }
  }
}
