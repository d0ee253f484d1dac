/**
 * A run directory is the identity of a run: every path a run stores about itself is relative to the
 * file that stores it (so a moved or copied run is resumed and evaluated where it now is, and writes
 * nothing outside itself), and a directory that already holds a run is never reused without an
 * explicit `--overwrite`. Paths written by an older turnwise were absolute; they still load, and
 * the run's own copy of the file they name wins over the original location.
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { basename, isAbsolute, join, relative, resolve } from 'node:path';
import { ConfigError } from '../errors.js';

/** The entries turnwise writes into a run directory (all of them, and nothing else, go on `--overwrite`). */
export const RUN_ENTRIES = [
  'config.json',
  'config.v1.json',
  'base.txt',
  'latest.json',
  'metrics.jsonl',
  'trajectories.jsonl',
  'checkpoints',
  'reference',
  'eval',
  'eval-scratch',
  'credit-scratch',
] as const;

/** The entries of a run found in `dir` (empty for a missing or unused directory). */
export function runEntries(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const present = new Set(readdirSync(dir));
  return RUN_ENTRIES.filter((entry) => present.has(entry));
}

/**
 * Refuses a directory that already holds a run unless `overwrite`; with it, removes the run's
 * entries (only those, see `RUN_ENTRIES`) so nothing of the old run is mistaken for the new one.
 */
export function claimRunDir(dir: string, options: { overwrite?: boolean; what: string; instead: string }): void {
  const found = runEntries(dir);
  if (found.length === 0) return;
  if (!options.overwrite)
    throw new ConfigError(
      `${options.what} ${JSON.stringify(dir)} already holds a run (${found.join(', ')}); ` +
        `${options.instead}, or give --overwrite to replace it`,
    );
  for (const entry of found) rmSync(join(dir, entry), { recursive: true, force: true });
}

/** True for a path of a remote service (`tinker://...`), which is stored and loaded as it is. */
const isServicePath = (path: string) => /^[a-z][\w+.-]*:\/\//i.test(path);

/**
 * The form in which a file at `folder` inside the run `runDir` stores `path`: relative to `folder`
 * when `path` lies inside the run, else as given (a base elsewhere, a service path).
 */
export function storedPath(path: string, folder: string, runDir: string): string {
  if (isServicePath(path)) return path;
  const inRun = relative(resolve(runDir), resolve(path));
  if (inRun === '' || inRun.startsWith('..') || isAbsolute(inRun)) return path;
  return relative(resolve(folder), resolve(path));
}

/**
 * A path stored by a file at `folder`, for use: a relative one joined to `folder`; an absolute one
 * (written before paths were relative) is replaced by the run's own entry of that name in
 * `ownFolder` when there is one, since the run may have moved or been copied since.
 */
export function loadedPath(stored: string, folder: string, ownFolder = folder): string {
  if (isServicePath(stored)) return stored;
  if (!isAbsolute(stored)) return join(folder, stored);
  const own = join(ownFolder, basename(stored));
  return existsSync(own) ? own : stored;
}
