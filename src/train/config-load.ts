/**
 * Loading the training config: a JSON, YAML or TypeScript file, then dotted command-line overrides
 * (`--rl.groupSize=8 --advantage.kind=mt-grpo`), validated once by the schema. Every failure is a
 * ConfigError naming the key, the value and what is allowed. Also the resolved-config file written
 * next to every run and the config hash that keys cached bases.
 */
import { createHash } from 'node:crypto';
import { readFileSync, existsSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import YAML from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../errors.js';
import { BACKEND_CONNECTION_KEYS, trainConfigSchema, type TrainConfig } from './config.js';
import { writeFileAtomicSync as writeFileAtomic } from '../engine/atomic-write.js';
import { tsxApiUrl } from '../typescript-import.js';

type Json = Record<string, unknown>;

/** Reads a config file (`.json`, `.yaml`/`.yml`, or `.ts`/`.js`/`.mjs` with a default export). */
export async function readConfigFile(path: string): Promise<Json> {
  if (!existsSync(path)) throw new ConfigError(`config file ${JSON.stringify(path)} does not exist`);
  const extension = extname(path).toLowerCase();
  let value: unknown;
  try {
    if (extension === '.json') value = JSON.parse(readFileSync(path, 'utf8'));
    else if (extension === '.yaml' || extension === '.yml') value = YAML.parse(readFileSync(path, 'utf8'));
    else if (['.ts', '.mts', '.js', '.mjs'].includes(extension)) {
      const url = pathToFileURL(resolve(path)).href;
      const module = (await import(url).catch(async (error: unknown) => {
        // compiled turnwise on plain Node: a TypeScript config goes through tsx
        if ((error as { code?: unknown }).code !== 'ERR_UNKNOWN_FILE_EXTENSION') throw error;
        const tsx = (await import(tsxApiUrl(`config file ${JSON.stringify(path)}`, [resolve(path), import.meta.url]))) as { tsImport(specifier: string, parentURL: string): Promise<unknown> };
        return tsx.tsImport(url, import.meta.url);
      })) as { default?: unknown };
      value = module.default;
    } else {
      throw new ConfigError(`config file ${JSON.stringify(path)}: unsupported extension ${JSON.stringify(extension)}; expected .json, .yaml, .yml, .ts, .js or .mjs`);
    }
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`config file ${JSON.stringify(path)} could not be parsed: ${(error as Error).message}`);
  }
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError(`config file ${JSON.stringify(path)} must hold an object at the top level, got ${describeValue(value)}`);
  }
  return value as Json;
}

/** Unwraps default/prefault/optional wrappers down to the schema that holds the value. */
function unwrap(schema: z.ZodType): z.ZodType {
  let current: any = schema;
  while (current?._zod?.def?.innerType !== undefined) current = current._zod.def.innerType;
  return current as z.ZodType;
}

/** The schema of the field at `path`, or undefined when no such field exists. */
export function schemaAt(path: string[]): z.ZodType | undefined {
  let current: any = unwrap(trainConfigSchema);
  for (const key of path) {
    const shape = current?._zod?.def?.shape as Record<string, z.ZodType> | undefined;
    if (shape === undefined || !(key in shape)) return undefined;
    current = unwrap(shape[key]!);
  }
  return current as z.ZodType;
}

function allowedKeys(path: string[]): string[] {
  const schema: any = schemaAt(path);
  const shape = schema?._zod?.def?.shape as Record<string, unknown> | undefined;
  return shape ? Object.keys(shape) : [];
}

function describeValue(value: unknown): string {
  if (value === undefined) return '(missing)';
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** Parses one override's text into the type its field expects. */
function parseOverrideValue(path: string[], text: string): unknown {
  const type = (schemaAt(path) as any)?._zod?.def?.type as string | undefined;
  if (type === 'string' || type === 'enum') return text;
  if (text === 'true') return true;
  if (text === 'false') return false;
  if (text.trim() !== '' && Number.isFinite(Number(text))) return Number(text);
  if (/^[[{]/.test(text.trim())) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}

/**
 * Applies dotted overrides (`rl.groupSize=8`, with or without leading `--`) to a config object,
 * returning a new object. An unknown key fails naming the allowed keys at that level.
 */
export function applyOverrides(config: Json, overrides: string[]): Json {
  const result = structuredClone(config);
  for (const raw of overrides) {
    const text = raw.replace(/^--/, '');
    const equals = text.indexOf('=');
    if (equals <= 0) throw new ConfigError(`override ${JSON.stringify(raw)} must look like --key.path=value`);
    const path = text.slice(0, equals).split('.');
    for (let depth = 0; depth < path.length; depth++) {
      if (schemaAt(path.slice(0, depth + 1)) === undefined) {
        const parent = path.slice(0, depth);
        throw new ConfigError(
          `unknown config key ${JSON.stringify(path.slice(0, depth + 1).join('.'))} in override ${JSON.stringify(raw)}; ` +
            `allowed keys${parent.length ? ` under ${parent.join('.')}` : ''}: ${allowedKeys(parent).join(', ')}`,
        );
      }
    }
    let target: Json = result;
    for (const key of path.slice(0, -1)) {
      const next = target[key];
      if (next === undefined || next === null || typeof next !== 'object') target[key] = {};
      target = target[key] as Json;
    }
    target[path[path.length - 1]!] = parseOverrideValue(path, text.slice(equals + 1));
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

/** Validates a config object and fills defaults; throws a ConfigError listing every bad key. */
export function resolveConfig(input: unknown): TrainConfig {
  input = withBackendObject(input);
  const parsed = trainConfigSchema.safeParse(input ?? {});
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((issue) => {
    const path = issue.path.map(String);
    if (issue.code === 'unrecognized_keys') {
      const keys = issue.keys.map((key) => [...path, key].join('.'));
      return `unknown config key${keys.length > 1 ? 's' : ''} ${keys.map((k) => JSON.stringify(k)).join(', ')}; allowed keys${path.length ? ` under ${path.join('.')}` : ''}: ${allowedKeys(path).join(', ')}`;
    }
    const description = (schemaAt(path) as any)?.description ?? (schemaAt(path) as any)?._zod?.parent?.description;
    const key = path.join('.') || '(root)';
    return `config key ${JSON.stringify(key)}: got ${describeValue(valueAt(input, issue.path))}; ${issue.message}${description ? ` (${description})` : ''}`;
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
export async function loadConfig(options: { file?: string; overrides?: string[]; base?: Json }): Promise<TrainConfig> {
  let config: Json = structuredClone(options.base ?? {});
  if (options.file !== undefined) config = deepMerge(config, await readConfigFile(options.file));
  config = applyOverrides(config, options.overrides ?? []);
  return resolveConfig(config);
}

/** Merges `overlay` into `base` recursively (objects merge, everything else replaces). */
export function deepMerge(base: Json, overlay: Json): Json {
  const result: Json = { ...base };
  for (const [key, value] of Object.entries(overlay)) {
    const existing = result[key];
    if (value !== null && typeof value === 'object' && !Array.isArray(value) && existing !== null && typeof existing === 'object' && !Array.isArray(existing)) {
      result[key] = deepMerge(existing as Json, value as Json);
    } else result[key] = value;
  }
  return result;
}

/** A stable short hash of a JSON value (keys sorted), for cache keys. */
export function configHash(value: unknown): string {
  return createHash('sha256').update(stableStringify(hashedForm(value))).digest('hex').slice(0, 16);
}

const withoutConnection = (backend: Json): Json => Object.fromEntries(Object.entries(backend).filter(([key]) => !(BACKEND_CONNECTION_KEYS as readonly string[]).includes(key)));
const DEFAULT_LOCAL_BACKEND = stableStringify(withoutConnection(trainConfigSchema.shape.backend.parse(undefined)));

/**
 * What is hashed of a training config: its backend section without the connection settings (a
 * resumed run may reach its service differently), and `backend: "local"` when that section is
 * the default local one, as configs hashed before the section existed, so their runs still resume.
 */
function hashedForm(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const config = value as Json;
  if (!('rl' in config) || config.backend === null || typeof config.backend !== 'object') return value;
  const backend = withoutConnection(config.backend as Json);
  return { ...config, backend: stableStringify(backend) === DEFAULT_LOCAL_BACKEND ? 'local' : backend };
}

function stableStringify(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  const entries = Object.entries(value as Json).sort(([a], [b]) => (a < b ? -1 : 1));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(',')}}`;
}

/** Writes the resolved config as `config.json` in the run directory (atomically). */
export function writeResolvedConfig(runDir: string, config: TrainConfig): string {
  const path = `${runDir}/config.json`;
  writeFileAtomic(path, `${JSON.stringify(config, null, 2)}\n`);
  return path;
}

/** Reads the resolved config a run wrote, validating it again. */
export function readRunConfig(runDir: string): TrainConfig {
  const path = `${runDir}/config.json`;
  if (!existsSync(path)) throw new ConfigError(`run directory ${JSON.stringify(runDir)} has no config.json; is it a turnwise run?`);
  return resolveConfig(JSON.parse(readFileSync(path, 'utf8')));
}

/** Lists every field of the schema with its description, for `--help`. */
export function describeConfig(): string[] {
  const lines: string[] = [];
  const walk = (schema: any, prefix: string[]) => {
    const shape = schema?._zod?.def?.shape as Record<string, any> | undefined;
    if (!shape) return;
    for (const [key, child] of Object.entries(shape)) {
      const inner = unwrap(child);
      const path = [...prefix, key];
      if ((inner as any)._zod?.def?.shape) walk(inner, path);
      else lines.push(`  --${path.join('.')}=...  ${child.description ?? (inner as any).description ?? ''}`);
    }
  };
  walk(unwrap(trainConfigSchema), []);
  return lines;
}
