/**
 * Splitting a command line into the command's own flags and dotted config overrides: every
 * `--a.b=value` (a key with a dot, or a top-level config key given as `--key=value`) is an override;
 * the rest goes to the command's parser.
 */
import { statSync } from 'node:fs';
import { ConfigError } from '../errors.js';
import { schemaAt } from '../train/config-load.js';

/** Separates config overrides (`--rl.groupSize=8`, `--seed=3`) from the command's own arguments. */
export function splitOverrides(args: string[], ownFlags: string[]): { overrides: string[]; rest: string[] } {
  const overrides: string[] = [];
  const rest: string[] = [];
  for (const arg of args) {
    const match = /^--([A-Za-z][\w.]*)=/.exec(arg);
    if (match && !ownFlags.includes(match[1]!) && (match[1]!.includes('.') || schemaAt([match[1]!]) !== undefined))
      overrides.push(arg);
    else rest.push(arg);
  }
  return { overrides, rest };
}

/** Refuses an output directory option (`--out`) that names something other than a directory. */
export function checkOutputDirectory(path: string, option: string): void {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (stat !== undefined && !stat.isDirectory())
    throw new ConfigError(`${option} ${JSON.stringify(path)} is a file; expected a directory (new or existing)`);
}
