/**
 * What the prompt and the validator learn from a tool's schema (zod, or a JSON Schema as given): the
 * argument list (names, descriptions, defaults), the JSON schema for function-calling prompts, and
 * argument validation that turns a bad call into the `Error: ...` text the model sees.
 */
import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { isJsonSchemaParameters } from './json-schema-parameters.js';
import type { Tool } from './tool.js';

/** One argument of a tool as listed in a prompt. */
export interface ToolArgument {
  name: string;
  /** The field's `.describe()` text, or '' when it has none (the paper's `- query: `). */
  description: string;
  /** True when the schema gives the argument a default value. */
  hasDefault: boolean;
  defaultValue?: unknown;
  required: boolean;
}

/** The JSON schema of a tool's arguments: a JSON Schema tool's own, or zod's (draft 2020-12, input side). */
export function toolJsonSchema(tool: Tool): Record<string, unknown> {
  if (isJsonSchemaParameters(tool.parameters))
    return structuredClone(tool.parameters.schema) as Record<string, unknown>;
  let schema: Record<string, unknown>;
  try {
    schema = z.toJSONSchema(tool.parameters as z.ZodType, { io: 'input', unrepresentable: 'any' }) as Record<
      string,
      unknown
    >;
  } catch (error) {
    throw new ConfigError(
      `tool '${tool.name}': its parameters schema cannot be turned into a JSON schema (${String(error)})`,
    );
  }
  delete schema['$schema'];
  return schema;
}

/** The arguments of a tool in schema order, for the prompt's argument list. */
export function toolArguments(tool: Tool): ToolArgument[] {
  const schema = toolJsonSchema(tool);
  // A JSON Schema tool without `properties` takes no named arguments; its type was checked when it was wrapped.
  if (isJsonSchemaParameters(tool.parameters) && schema['properties'] === undefined) return [];
  if (schema['type'] !== 'object' || typeof schema['properties'] !== 'object' || schema['properties'] === null) {
    throw new ConfigError(
      `tool '${tool.name}': parameters must be a zod object schema (z.object({...})), ` +
        `got JSON schema type ${JSON.stringify(schema['type'])}`,
    );
  }
  const properties = schema['properties'] as Record<string, Record<string, unknown>>;
  const required = new Set(Array.isArray(schema['required']) ? (schema['required'] as string[]) : []);
  return Object.entries(properties).map(([name, property]) => {
    const argument: ToolArgument = {
      name,
      description: typeof property['description'] === 'string' ? property['description'] : '',
      hasDefault: 'default' in property,
      required: required.has(name),
    };
    if (argument.hasDefault) argument.defaultValue = property['default'];
    return argument;
  });
}

/** Validation outcome: the parsed arguments or the `Error: ...` text for the model. */
export type ArgumentCheck<Args> = { ok: true; value: Args } | { ok: false; error: string };

/**
 * Validates `args` against the tool's schema. With a zod schema, unknown argument names are rejected
 * unless the schema is explicitly loose (as Python rejects an unexpected keyword argument in the
 * reference code); a JSON Schema decides for itself (`additionalProperties`).
 */
export function validateToolArguments<Args>(tool: Tool<Args>, args: Record<string, unknown>): ArgumentCheck<Args> {
  if (isJsonSchemaParameters(tool.parameters)) {
    const checked = tool.parameters.validate(args);
    if (checked.ok) return { ok: true, value: checked.value as Args };
    return { ok: false, error: `Error: Invalid arguments for '${tool.name}': ${checked.problems.join('; ')}` };
  }
  const schema = tool.parameters as z.ZodType;
  if (schema instanceof z.ZodObject && schema.def.catchall === undefined) {
    const known = new Set(Object.keys(schema.shape));
    const unknown = Object.keys(args).filter((key) => !known.has(key));
    if (unknown.length > 0) {
      const names = unknown.map((key) => `'${key}'`).join(', ');
      return {
        ok: false,
        error: `Error: ${tool.name}() got an unexpected argument ${names}; expected ${describeNames([...known])}`,
      };
    }
  }
  const parsed = schema.safeParse(args);
  if (parsed.success) return { ok: true, value: parsed.data as Args };
  const problems = parsed.error.issues
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(arguments)'}: ${issue.message}`)
    .join('; ');
  return { ok: false, error: `Error: Invalid arguments for '${tool.name}': ${problems}` };
}

function describeNames(names: string[]): string {
  return names.length === 0 ? 'no arguments' : names.map((name) => `'${name}'`).join(', ');
}
