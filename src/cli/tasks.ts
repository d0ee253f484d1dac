/**
 * The tasks the `turnwise` commands can train and evaluate (`task.name` in a config): the bundled
 * search-QA task, plus a task of the user's own given as a module (`--task ./my-task.ts`, recorded
 * in the run's config as `taskModule`, so `--resume`, `eval` and `credit` of that run load it
 * again). A command loads configs with these definitions, so each task's own section is validated
 * by its own schema, and opens the task a config names through `taskOf`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError, errorMessage } from '../errors.js';
import { searchQaTaskDefinition } from '../tasks/search-qa/definition.js';
import type { TrainConfig } from '../train/config.js';
import type { AnyTaskDefinition } from '../train/task.js';
import { importUserModule } from '../typescript-import.js';

/** The bundled tasks. */
export const TASKS: readonly AnyTaskDefinition[] = [searchQaTaskDefinition];

/** The tasks a command knows: the bundled ones and the task of `module` (a path; '' = none). */
export interface KnownTasks {
  tasks: readonly AnyTaskDefinition[];
  /** The module's own task, when one was given. */
  own?: AnyTaskDefinition;
  /** The module's absolute path ('' when none). */
  module: string;
}

function isTaskDefinition(value: unknown): value is AnyTaskDefinition {
  if (value === null || typeof value !== 'object') return false;
  const candidate = value as Partial<AnyTaskDefinition>;
  return (
    typeof candidate.name === 'string' &&
    candidate.name !== '' &&
    typeof candidate.open === 'function' &&
    typeof (candidate.configSchema as { safeParse?: unknown } | undefined)?.safeParse === 'function'
  );
}

/** Loads the TaskDefinition a module exports (as `default` or `task`). */
export async function loadTaskModule(path: string): Promise<AnyTaskDefinition> {
  const absolute = resolve(path);
  if (!existsSync(absolute)) throw new ConfigError(`--task ${path}: no such file`);
  let module: Record<string, unknown>;
  try {
    module = await importUserModule(absolute, `--task ${path}`);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`--task ${path} could not be loaded: ${errorMessage(error).split('\n')[0]}`);
  }
  const definition = [module.default, module.task].find(isTaskDefinition);
  if (definition === undefined) {
    throw new ConfigError(
      `--task ${path} exports no TaskDefinition; expected \`export default\` (or ` +
        `\`export const task\`) with name, configSchema (a zod schema) and open(config)`,
    );
  }
  if (TASKS.some((task) => task.name === definition.name))
    throw new ConfigError(
      `--task ${path}: its name ${JSON.stringify(definition.name)} is a bundled task's; give it another`,
    );
  return definition;
}

/** The tasks of a command given `--task FILE` (or none). */
export async function knownTasks(module: string | undefined): Promise<KnownTasks> {
  if (module === undefined || module === '') return { tasks: TASKS, module: '' };
  const own = await loadTaskModule(module);
  return { tasks: [...TASKS, own], own, module: resolve(module) };
}

/** The tasks a run directory's config needs: the bundled ones and the module it recorded. */
export async function runTasks(runDir: string): Promise<KnownTasks> {
  let module = '';
  try {
    const raw = JSON.parse(readFileSync(join(runDir, 'config.json'), 'utf8')) as { taskModule?: unknown };
    if (typeof raw.taskModule === 'string') module = raw.taskModule;
  } catch {
    // readRunConfig reports a missing or broken config.json with its own message.
  }
  return knownTasks(module);
}

/** Config overrides that select a module's task: its path and, unless given, its name. */
export function taskOverrides(known: KnownTasks, overrides: string[]): string[] {
  if (known.own === undefined) return overrides;
  const named = overrides.some((override) => override.replace(/^--/, '').startsWith('task.name='));
  return [`--taskModule=${known.module}`, ...(named ? [] : [`--task.name=${known.own.name}`]), ...overrides];
}

/** The definition of the task a resolved config names. */
export function taskOf(config: TrainConfig, tasks: readonly AnyTaskDefinition[] = TASKS): AnyTaskDefinition {
  const definition = tasks.find((task) => task.name === config.task.name);
  if (definition === undefined)
    throw new ConfigError(
      `config key "task.name": got ${JSON.stringify(config.task.name)}; ` +
        `expected one of ${tasks.map((task) => JSON.stringify(task.name)).join(', ')}`,
    );
  return definition;
}
