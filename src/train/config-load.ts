/**
 * Loading the training config: a JSON, YAML or TypeScript file, then dotted command-line overrides
 * (`--rl.groupSize=8 --advantage.kind=mt-grpo`), validated once by the schema. Every failure is a
 * ConfigError naming the key, the value and what is allowed. The `task` section is validated by the
 * named task's own schema when the caller passes the task definitions it knows (`tasks`). Also the
 * resolved-config file written next to every run (and the upgrade of a run written by an older
 * turnwise), and the config hash that keys cached bases and guards resume.
 */
import { createHash } from 'node:crypto';
import { readFileSync, existsSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import YAML from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../errors.js';
import { BACKEND_CONNECTION_KEYS, backendConfigSchema } from '../backends/backend-config.js';
import { writeFileAtomicSync as writeFileAtomic } from '../engine/atomic-write.js';
import { trainConfigSchema, trainConfigSchemaWith, type TrainConfig } from './config.js';
import type { AnyTaskDefinition } from './task.js';
import { importUserModule } from '../typescript-import.js';

type Json = Record<string, unknown>;

/** The task definitions a config may name; without them the `task` section passes unvalidated. */
export interface ConfigTasks {
  tasks?: readonly AnyTaskDefinition[];
}

/** The task name a config object asks for (default search-qa, the bundled task). */
function taskNameOf(config: unknown): string {
  const task = config !== null && typeof config === 'object' ? (config as Json).task : undefined;
  const name = task !== null && typeof task === 'object' ? (task as Json).name : undefined;
  return typeof name === 'string' ? name : 'search-qa';
}

/** The schema of a config that names `taskName`: with that task's own section when it is known. */
export function configSchemaFor(taskName: string, options: ConfigTasks = {}): z.ZodType {
  if (options.tasks === undefined) return trainConfigSchema;
  const definition = options.tasks.find((candidate) => candidate.name === taskName);
  if (definition === undefined) {
    throw new ConfigError(
      `config key "task.name": got ${JSON.stringify(taskName)}; ` +
        `expected one of ${options.tasks.map((task) => JSON.stringify(task.name)).join(', ')}`,
    );
  }
  return trainConfigSchemaWith(definition.configSchema);
}

/** Reads a config file (`.json`, `.yaml`/`.yml`, or `.ts`/`.js`/`.mjs` with a default export). */
export async function readConfigFile(path: string): Promise<Json> {
  if (!existsSync(path)) throw new ConfigError(`config file ${JSON.stringify(path)} does not exist`);
  const extension = extname(path).toLowerCase();
  let value: unknown;
  try {
    if (extension === '.json') value = JSON.parse(readFileSync(path, 'utf8'));
    else if (extension === '.yaml' || extension === '.yml') value = YAML.parse(readFileSync(path, 'utf8'));
    else if (['.ts', '.mts', '.js', '.mjs'].includes(extension)) {
      const module = await importUserModule(resolve(path), `config file ${JSON.stringify(path)}`);
      value = module.default;
    } else {
      throw new ConfigError(
        `config file ${JSON.stringify(path)}: unsupported extension ` +
          `${JSON.stringify(extension)}; expected .json, .yaml, .yml, .ts, .js or .mjs`,
      );
    }
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`config file ${JSON.stringify(path)} could not be parsed: ${(error as Error).message}`);
  }
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError(
      `config file ${JSON.stringify(path)} must hold an object at the top level, got ${describeValue(value)}`,
    );
  }
  return value as Json;
}

/** Unwraps default/prefault/optional wrappers down to the schema that holds the value. */
function unwrap(schema: z.ZodType): z.ZodType {
  let current: any = schema;
  while (current?._zod?.def?.innerType !== undefined) current = current._zod.def.innerType;
  return current as z.ZodType;
}

/** The object shapes of a schema: its own, or each option's for a union (the advantage section). */
function shapesOf(schema: any): Record<string, z.ZodType>[] {
  const options = schema?._zod?.def?.options as unknown[] | undefined;
  if (Array.isArray(options)) return options.flatMap((option) => shapesOf(unwrap(option as z.ZodType)));
  const shape = schema?._zod?.def?.shape as Record<string, z.ZodType> | undefined;
  return shape ? [shape] : [];
}

/** True for a union discriminated by `kind` (switching `kind` starts the section afresh). */
function isKindUnion(schema: any): boolean {
  return schema?._zod?.def?.type === 'union' && schema?._zod?.def?.discriminator === 'kind';
}

/** The schema of the field at `path` in `root`, or undefined when no such field exists. */
export function schemaAt(path: string[], root: z.ZodType = trainConfigSchema): z.ZodType | undefined {
  let current: any = unwrap(root);
  for (const key of path) {
    const shape = shapesOf(current).find((candidate) => key in candidate);
    if (shape === undefined) return undefined;
    current = unwrap(shape[key]!);
  }
  return current as z.ZodType;
}

function allowedKeys(path: string[], root: z.ZodType): string[] {
  return [...new Set(shapesOf(schemaAt(path, root)).flatMap((shape) => Object.keys(shape)))];
}

function describeValue(value: unknown): string {
  if (value === undefined) return '(missing)';
  // JSON writes NaN and the infinities (YAML's .nan, .inf) as null.
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

const DECIMAL_NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Parses one override's text into the type its field expects. */
function parseOverrideValue(path: string[], text: string, root: z.ZodType): unknown {
  const type = (schemaAt(path, root) as any)?._zod?.def?.type as string | undefined;
  if (type === 'string' || type === 'enum' || type === 'literal') return text;
  if (text === 'true') return true;
  if (text === 'false') return false;
  // Decimal numbers only: Number() would also read 0x10, 0b1, 0o7 and surrounding spaces.
  if (DECIMAL_NUMBER.test(text)) return Number(text);
  if (/^[[{]/.test(text.trim())) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}

/** One `--key.path=value` override, split. */
function parseOverride(raw: string): { path: string[]; value: string } {
  const text = raw.replace(/^--/, '');
  const equals = text.indexOf('=');
  if (equals <= 0) throw new ConfigError(`override ${JSON.stringify(raw)} must look like --key.path=value`);
  return { path: text.slice(0, equals).split('.'), value: text.slice(equals + 1) };
}

/**
 * Applies dotted overrides (`rl.groupSize=8`, with or without leading `--`) to a config object,
 * returning a new object. An unknown key fails naming the allowed keys at that level. `task.name`
 * is applied first (it chooses the schema of the other `task.*` keys), then every `kind` of a
 * section with variants (`--advantage.kind=rloo` starts that section afresh, dropping the options
 * of the previous kind), then the rest in order.
 */
export function applyOverrides(config: Json, overrides: string[], options: ConfigTasks = {}): Json {
  const result = structuredClone(config);
  const parsed = overrides.map((raw) => ({ raw, ...parseOverride(raw) }));
  const rank = ({ path }: { path: string[] }) =>
    path.join('.') === 'task.name' ? 0 : path[path.length - 1] === 'kind' || path.join('.') === 'backend' ? 1 : 2;
  const ordered = parsed
    .map((entry, index) => ({ entry, index }))
    .sort((a, b) => rank(a.entry) - rank(b.entry) || a.index - b.index);
  let root: z.ZodType | undefined;
  for (const { entry } of ordered) {
    const { raw, path } = entry;
    if (path.length === 1 && path[0] === 'backend') {
      // The `--backend=tinker` shorthand: the kind, keeping the section's other keys.
      const section = result.backend;
      result.backend = { ...(section !== null && typeof section === 'object' ? section : {}), kind: entry.value };
      continue;
    }
    if (path.join('.') === 'task.name') root = configSchemaFor(entry.value, options);
    else root ??= configSchemaFor(taskNameOf(result), options);
    for (let depth = 0; depth < path.length; depth++) {
      if (schemaAt(path.slice(0, depth + 1), root) === undefined) {
        const parent = path.slice(0, depth);
        throw new ConfigError(
          `unknown config key ${JSON.stringify(path.slice(0, depth + 1).join('.'))} ` +
            `in override ${JSON.stringify(raw)}; ` +
            `allowed keys${parent.length ? ` under ${parent.join('.')}` : ''}: ${allowedKeys(parent, root).join(', ')}`,
        );
      }
    }
    let target: Json = result;
    for (const key of path.slice(0, -1)) {
      const next = target[key];
      if (next === undefined || next === null || typeof next !== 'object' || Array.isArray(next)) target[key] = {};
      target = target[key] as Json;
    }
    const key = path[path.length - 1]!;
    const value = parseOverrideValue(path, entry.value, root);
    if (key === 'kind' && isKindUnion(schemaAt(path.slice(0, -1), root)) && target.kind !== value) {
      for (const other of Object.keys(target)) delete target[other];
    }
    if (path.join('.') === 'task.name' && target.name !== undefined && target.name !== value) {
      for (const other of Object.keys(target)) delete target[other];
    }
    target[key] = value;
  }
  return result;
}

function valueAt(config: unknown, path: PropertyKey[]): unknown {
  let current: unknown = config;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

/**
 * Validates a config object and fills defaults; throws a ConfigError listing every bad key. With
 * `tasks`, the `task` section is validated by the named task's schema.
 */
export function resolveConfig(input: unknown, options: ConfigTasks = {}): TrainConfig {
  input = withBackendObject(input);
  const schema = configSchemaFor(taskNameOf(input), options);
  const parsed = schema.safeParse(input ?? {});
  if (parsed.success) return parsed.data as TrainConfig;
  const lines = parsed.error.issues.map((issue) => {
    const path = issue.path.map(String);
    if (issue.code === 'unrecognized_keys') {
      const keys = issue.keys.map((key) => [...path, key].join('.'));
      return (
        `unknown config key${keys.length > 1 ? 's' : ''} ${keys.map((k) => JSON.stringify(k)).join(', ')}; ` +
        `allowed keys${path.length ? ` under ${path.join('.')}` : ''}: ${allowedKeys(path, schema).join(', ')}`
      );
    }
    const parent = schemaAt(path.slice(0, -1), schema) as any;
    if (path[path.length - 1] === 'kind' && isKindUnion(parent)) {
      const kinds = (parent._zod.def.options as any[]).map((option) =>
        JSON.stringify((unwrap(option) as any)._zod.def.shape.kind._zod.def.values[0]),
      );
      return (
        `config key ${JSON.stringify(path.join('.'))}: ` +
        `got ${describeValue(valueAt(input, issue.path))}; expected one of ${kinds.join('|')}`
      );
    }
    const description =
      (schemaAt(path, schema) as any)?.description ?? (schemaAt(path, schema) as any)?._zod?.parent?.description;
    const key = path.join('.') || '(root)';
    return (
      `config key ${JSON.stringify(key)}: got ${describeValue(valueAt(input, issue.path))}; ` +
      `${issue.message}${description ? ` (${description})` : ''}`
    );
  });
  throw new ConfigError(`invalid config:\n  ${lines.join('\n  ')}`);
}

/**
 * `backend: "local"` (the form of configs written before the backend section, and the shorthand
 * `--backend=tinker`) becomes `backend: { kind: ... }`.
 */
function withBackendObject(input: unknown): unknown {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return input;
  const backend = (input as Json).backend;
  return typeof backend === 'string' ? { ...(input as Json), backend: { kind: backend } } : input;
}

/** Loads a config: the file (if any), then the overrides, then validation. */
export async function loadConfig(
  options: { file?: string; overrides?: string[]; base?: Json } & ConfigTasks,
): Promise<TrainConfig> {
  let config: Json = structuredClone(options.base ?? {});
  if (options.file !== undefined) config = deepMerge(config, await readConfigFile(options.file));
  config = applyOverrides(config, options.overrides ?? [], options);
  if (options.file !== undefined && config.runDir === '.')
    throw new ConfigError(
      `config file ${JSON.stringify(options.file)} has runDir "." (a run's own config.json, where "." is that run); ` +
        'give --runDir=DIR for a new run, or continue that run with --resume DIR',
    );
  return resolveConfig(config, options);
}

/** Merges `overlay` into `base` recursively (objects merge, everything else replaces). */
export function deepMerge(base: Json, overlay: Json): Json {
  const result: Json = { ...base };
  for (const [key, value] of Object.entries(overlay)) {
    const existing = result[key];
    if (
      value !== null &&
      typeof value === 'object' &&
      !Array.isArray(value) &&
      existing !== null &&
      typeof existing === 'object' &&
      !Array.isArray(existing)
    ) {
      result[key] = deepMerge(existing as Json, value as Json);
    } else result[key] = value;
  }
  return result;
}

/** A stable short hash of a JSON value (keys sorted), for cache keys. */
export function configHash(value: unknown): string {
  return hashOf(hashedForm(value));
}

/** The hash of a config as turnwise computed it before `runDir` was left out (checkpoints of older runs). */
function legacyConfigHash(value: unknown, runDir: unknown): string {
  const withRunDir = value !== null && typeof value === 'object' ? { ...(value as Json), runDir } : value;
  return hashOf(hashedForm(withRunDir, true));
}

function hashOf(value: unknown): string {
  return createHash('sha256').update(stableStringify(value)).digest('hex').slice(0, 16);
}

const withoutConnection = (backend: Json): Json =>
  Object.fromEntries(
    Object.entries(backend).filter(([key]) => !(BACKEND_CONNECTION_KEYS as readonly string[]).includes(key)),
  );
const DEFAULT_LOCAL_BACKEND = stableStringify(withoutConnection(backendConfigSchema.parse({})));

/**
 * What is hashed of a training config: its backend section without the connection settings (a
 * resumed run may reach its service differently), no `taskModule` (where the task's code lives may
 * move; its config section is hashed), and `backend: "local"` when that section is
 * the default local one, as configs hashed before the section existed, so their runs still resume.
 */
function hashedForm(value: unknown, keepRunDir = false): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const { taskModule: _where, runDir, ...rest } = value as Json;
  // Where the run lives is not what it is (a run resumes wherever it was moved).
  const config: Json = keepRunDir && runDir !== undefined ? { ...rest, runDir } : rest;
  if (!('rl' in config)) return value;
  // rl.maxStaleness at its default 0 is hashed as before the field existed, so those runs resume.
  const { maxStaleness, ...rl } = (config.rl ?? {}) as Json;
  if (maxStaleness === 0) config.rl = rl;
  if (config.backend === null || typeof config.backend !== 'object') return config;
  const backend = withoutConnection(config.backend as Json);
  return { ...config, backend: stableStringify(backend) === DEFAULT_LOCAL_BACKEND ? 'local' : backend };
}

function stableStringify(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  const entries = Object.entries(value as Json).sort(([a], [b]) => (a < b ? -1 : 1));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(',')}}`;
}

/**
 * Writes the resolved config as `config.json` in the run directory (atomically), with `runDir`
 * "." (the run is where its config is). A config.json equal but for `runDir` is left as it is, so
 * a run written by an older turnwise keeps the file its checkpoints' hashes were made from.
 */
export function writeResolvedConfig(runDir: string, config: TrainConfig): string {
  const path = `${runDir}/config.json`;
  const text = `${JSON.stringify({ ...config, runDir: '.' }, null, 2)}\n`;
  if (existsSync(path)) {
    try {
      const { runDir: _old, ...existing } = JSON.parse(readFileSync(path, 'utf8')) as Json;
      const { runDir: _new, ...wanted } = JSON.parse(text) as Json;
      if (stableStringify(existing) === stableStringify(wanted)) return path;
    } catch {
      // An unreadable config.json is replaced.
    }
  }
  writeFileAtomic(path, text);
  return path;
}

/** Where the config of a run written by an older turnwise is kept once the run's config is upgraded. */
export const LEGACY_CONFIG_FILE = 'config.v1.json';

/**
 * Reads the resolved config a run wrote, validating it again. A config written by an older turnwise
 * is upgraded by the first task definition that recognises it (`upgradeConfig`); its original is
 * kept beside it as `config.v1.json` (never overwritten), whose hash `runConfigHashes` still
 * accepts, so the run's existing checkpoints resume.
 */
export function readRunConfig(runDir: string, options: ConfigTasks = {}): TrainConfig {
  const path = `${runDir}/config.json`;
  if (!existsSync(path))
    throw new ConfigError(`run directory ${JSON.stringify(runDir)} has no config.json; is it a turnwise run?`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigError(
      `${path} is not valid JSON (${(error as Error).message}); restore it from the run's backup or start a new run`,
    );
  }
  // The run is the directory given, wherever it was moved or copied (its recorded runDir is history).
  for (const task of options.tasks ?? []) {
    const upgraded = task.upgradeConfig?.(raw);
    if (upgraded === undefined) continue;
    const backup = `${runDir}/${LEGACY_CONFIG_FILE}`;
    if (!existsSync(backup)) writeFileAtomic(backup, readFileSync(path, 'utf8'));
    return { ...resolveConfig(upgraded, options), runDir };
  }
  return { ...resolveConfig(raw, options), runDir };
}

/**
 * The config hashes a run's checkpoints may carry: the current config's, and that of the original
 * config of a run upgraded from an older turnwise (`config.v1.json`), whose checkpoints were made
 * before the upgrade.
 */
export function runConfigHashes(runDir: string, config: TrainConfig): string[] {
  const hashes = [configHash(config)];
  // Checkpoints made before runDir left the hash carry the hash with the runDir recorded then.
  const recorded = (file: string): Json | undefined => {
    try {
      return JSON.parse(readFileSync(`${runDir}/${file}`, 'utf8')) as Json;
    } catch {
      return undefined; // missing or unreadable: accepts nothing more
    }
  };
  const current = recorded('config.json');
  if (current !== undefined) hashes.push(legacyConfigHash(config, current.runDir ?? ''));
  const backup = recorded(LEGACY_CONFIG_FILE);
  if (backup !== undefined) hashes.push(configHash(backup), legacyConfigHash(backup, backup.runDir ?? ''));
  return hashes;
}

/**
 * Lists every field of the schema with its description, for `--help`: the generic fields, each
 * estimator's options (under the kind they belong to), and each known task's own section.
 */
export function describeConfig(options: ConfigTasks = {}): string[] {
  const lines: string[] = [];
  const walk = (schema: any, prefix: string[], note = '', description = '') => {
    const union = schema?._zod?.def?.options as any[] | undefined;
    if (Array.isArray(union)) {
      const kinds = union.map((option) => unwrap(option) as any);
      lines.push(
        `  --${[...prefix, 'kind'].join('.')}=...  ${description} ` +
          `(${kinds.map((option) => option._zod.def.shape.kind._zod.def.values[0]).join(' | ')})`,
      );
      for (const option of kinds) {
        const kind = option._zod.def.shape.kind._zod.def.values[0];
        const { kind: _kind, ...rest } = option._zod.def.shape;
        walk({ _zod: { def: { shape: rest } } }, prefix, ` [${prefix.join('.')}.kind=${kind}]`);
      }
      return;
    }
    const shape = schema?._zod?.def?.shape as Record<string, any> | undefined;
    if (!shape) return;
    for (const [key, child] of Object.entries(shape)) {
      const inner = unwrap(child) as any;
      const path = [...prefix, key];
      if (inner._zod?.def?.shape || Array.isArray(inner._zod?.def?.options))
        walk(inner, path, note, child.description ?? inner.description ?? '');
      else lines.push(`  --${path.join('.')}=...  ${child.description ?? inner.description ?? ''}${note}`);
    }
  };
  const generic = unwrap(trainConfigSchema) as any;
  const { task: _task, ...shape } = generic._zod.def.shape;
  walk({ _zod: { def: { shape } } }, []);
  for (const task of options.tasks ?? []) {
    lines.push('', `task ${task.name}: ${task.summary}`);
    walk(unwrap(task.configSchema), ['task']);
  }
  return lines;
}
