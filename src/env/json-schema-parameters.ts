/**
 * Tool arguments described by a JSON Schema instead of zod: the form in which MCP servers (and
 * OpenAI function specs) hand over their tools. The schema is kept exactly as given, so prompts
 * show the model what the server wrote, and arguments are validated against it with Ajv: draft
 * 2020-12 unless the schema's `$schema` names draft 2019-09 or draft-07/06/04 (what older servers
 * write), formats checked, nothing coerced or defaulted (the server applies its own defaults).
 *
 * Why not zod 4's `z.fromJSONSchema`: it is marked semi-experimental, it throws on valid schemas
 * (`not`, `if`/`then`/`else`, `dependentRequired`, `unevaluatedProperties`, remote `$ref`), and
 * the prompt would then show zod's re-rendering of the schema rather than the schema as given.
 */
import { createRequire } from 'node:module';
import type { Ajv, ErrorObject, Options as AjvOptions } from 'ajv';
import type { Ajv2019 } from 'ajv/dist/2019.js';
import type { Ajv2020 } from 'ajv/dist/2020.js';
import type addFormatsModule from 'ajv-formats';
import { ConfigError, errorMessage } from '../errors.js';

/** A tool's arguments as a JSON Schema (the `parameters` of a `Tool`, beside zod schemas). */
export interface JsonSchemaParameters<Args = Record<string, unknown>> {
  readonly kind: 'json-schema';
  /** The schema exactly as given; prompts show it as is. */
  readonly schema: Readonly<Record<string, unknown>>;
  /** Validates arguments; each problem is one short text (`query: must be string`). */
  validate(args: Record<string, unknown>): { ok: true; value: Args } | { ok: false; problems: string[] };
}

/** Options of `jsonSchemaParameters`. */
export interface JsonSchemaParametersOptions {
  /** What the schema belongs to, for error messages (default `JSON Schema parameters`). */
  label?: string;
}

// Problems listed in one `Error:` result at most; the rest are counted.
const MAX_PROBLEMS = 5;
const AJV_OPTIONS: AjvOptions = { strict: false, allErrors: true, addUsedSchema: false, logger: false };
type Dialect = 'draft-2020-12' | 'draft-2019-09' | 'draft-07';
const validators = new Map<Dialect, Ajv>();
// Ajv (CommonJS) is loaded on first use, so that tools with zod schemas never pay for it.
const require = createRequire(import.meta.url);

function validatorFor(dialect: Dialect): Ajv {
  let ajv = validators.get(dialect);
  if (ajv === undefined) {
    if (dialect === 'draft-2020-12')
      ajv = new (require('ajv/dist/2020') as { Ajv2020: typeof Ajv2020 }).Ajv2020(AJV_OPTIONS);
    else if (dialect === 'draft-2019-09')
      ajv = new (require('ajv/dist/2019') as { Ajv2019: typeof Ajv2019 }).Ajv2019(AJV_OPTIONS);
    else ajv = new (require('ajv') as { Ajv: typeof Ajv }).Ajv(AJV_OPTIONS);
    (require('ajv-formats') as typeof addFormatsModule).default(ajv);
    validators.set(dialect, ajv);
  }
  return ajv;
}

function dialectOf(metaSchema: unknown, label: string): Dialect {
  if (metaSchema === undefined || (typeof metaSchema === 'string' && metaSchema.includes('2020-12')))
    return 'draft-2020-12';
  if (typeof metaSchema === 'string' && metaSchema.includes('2019-09')) return 'draft-2019-09';
  if (typeof metaSchema === 'string' && /draft-0[4-7]/.test(metaSchema)) return 'draft-07';
  throw new ConfigError(
    `${label}: unsupported $schema ${JSON.stringify(metaSchema)}; expected draft 2020-12, 2019-09 or draft-07/06/04`,
  );
}

/**
 * Wraps a JSON Schema of tool arguments; throws a ConfigError naming the problem if it is not a valid object schema.
 */
export function jsonSchemaParameters<Args = Record<string, unknown>>(
  schema: unknown,
  options: JsonSchemaParametersOptions = {},
): JsonSchemaParameters<Args> {
  const label = options.label ?? 'JSON Schema parameters';
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
    throw new ConfigError(`${label}: the schema must be a JSON object, got ${JSON.stringify(schema)?.slice(0, 100)}`);
  }
  const given = schema as Record<string, unknown>;
  if (given['type'] !== 'object') {
    throw new ConfigError(
      `${label}: tool arguments need a schema of type "object", got type ${JSON.stringify(given['type'])}`,
    );
  }
  // The dialect picks the validator, which then checks the schema against its own meta-schema.
  const { $schema: metaSchema, ...body } = given;
  const ajv = validatorFor(dialectOf(metaSchema, label));
  let compiled: ReturnType<Ajv['compile']>;
  try {
    compiled = ajv.compile(body);
  } catch (error) {
    throw new ConfigError(`${label}: invalid JSON Schema (${errorMessage(error)})`);
  }
  return {
    kind: 'json-schema',
    schema: given,
    validate(args) {
      if (compiled(args)) return { ok: true, value: args as Args };
      return { ok: false, problems: describeProblems(compiled.errors ?? []) };
    },
  };
}

/** True when a tool's `parameters` are a JSON Schema rather than a zod schema. */
export function isJsonSchemaParameters(parameters: unknown): parameters is JsonSchemaParameters<unknown> {
  return (
    typeof parameters === 'object' && parameters !== null && (parameters as { kind?: unknown }).kind === 'json-schema'
  );
}

/** Ajv's errors as short texts with dotted argument paths, as zod issues are shown. */
function describeProblems(errors: ErrorObject[]): string[] {
  const problems = new Set<string>();
  for (const error of errors) {
    // `if` only reports that the `then`/`else` branch failed; that branch's own errors say how.
    if (error.keyword === 'if') continue;
    const path = error.instancePath.split('/').slice(1).map(unescapePointer);
    const params = error.params as Record<string, unknown>;
    if (error.keyword === 'required') {
      problems.add(`${pathText([...path, String(params['missingProperty'])])}: required argument is missing`);
    } else if (error.keyword === 'additionalProperties' || error.keyword === 'unevaluatedProperties') {
      const name = String(params['additionalProperty'] ?? params['unevaluatedProperty']);
      problems.add(
        path.length === 0 ? `unexpected argument '${name}'` : `${pathText(path)}: unexpected property '${name}'`,
      );
    } else if (error.keyword === 'enum') {
      problems.add(
        `${pathText(path)}: must be one of ` +
          `${(params['allowedValues'] as unknown[]).map((value) => JSON.stringify(value)).join(', ')}`,
      );
    } else {
      problems.add(`${pathText(path)}: ${error.message ?? error.keyword}`);
    }
  }
  const list = [...problems];
  if (list.length <= MAX_PROBLEMS) return list;
  return [...list.slice(0, MAX_PROBLEMS), `and ${list.length - MAX_PROBLEMS} more`];
}

function pathText(path: string[]): string {
  return path.length === 0 ? '(arguments)' : path.join('.');
}

function unescapePointer(segment: string): string {
  return segment.replace(/~1/g, '/').replace(/~0/g, '~');
}
