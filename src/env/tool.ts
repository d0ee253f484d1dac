/**
 * Tools: a name, a description, a schema of the arguments and a function. The schema is a zod
 * schema, or a JSON Schema wrapped by `jsonSchemaParameters` (how MCP servers describe their
 * tools); it is the single source of the prompt's argument list (each field's description) and of
 * validation: a call whose arguments do not validate becomes an `Error: ...` result, as does a tool
 * that throws or runs past its timeout. The episode goes on either way.
 */
import type { z } from 'zod';
import type { JsonSchemaParameters } from './json-schema-parameters.js';

/** What a running tool may use. */
export interface ToolContext {
  /** Aborted when the tool's timeout expires; long-running tools should honour it. */
  signal: AbortSignal;
  /** The dataset row of the episode (for tools that need the question or gold ids). */
  row: unknown;
}

/** A tool the model can call. */
// A list of tools holds different argument types (`Tool[]`); each tool's own stays exact.
// biome-ignore lint/suspicious/noExplicitAny: see above
export interface Tool<Args = any> {
  name: string;
  /** One or two sentences for the system prompt. */
  description: string;
  /** Schema of the arguments: a zod object whose fields carry `.describe()` texts, or a JSON Schema. */
  parameters: z.ZodType<Args> | JsonSchemaParameters<Args>;
  /** Runs the tool; the returned text is what the model sees inside the result tags. */
  execute(args: Args, context: ToolContext): string | Promise<string>;
  /** Milliseconds before the call is abandoned with an `Error:` result (default: the env's). */
  timeoutMs?: number;
}

/** The argument type a parameters schema describes. */
export type ToolArgs<Schema> =
  Schema extends JsonSchemaParameters<infer Args> ? Args : Schema extends z.ZodType ? z.infer<Schema> : never;

/** Defines a tool with its argument types inferred from the schema. */
// biome-ignore lint/suspicious/noExplicitAny: any JSON-Schema tool, whatever its declared argument type
export function defineTool<Schema extends z.ZodType | JsonSchemaParameters<any>>(tool: {
  name: string;
  description: string;
  parameters: Schema;
  execute(args: ToolArgs<Schema>, context: ToolContext): string | Promise<string>;
  timeoutMs?: number;
}): Tool<ToolArgs<Schema>> {
  if (!/^[A-Za-z_][A-Za-z0-9_-]*$/.test(tool.name)) {
    throw new TypeError(
      `defineTool: tool name must match /^[A-Za-z_][A-Za-z0-9_-]*$/, got ${JSON.stringify(tool.name)}`,
    );
  }
  return tool as Tool<ToolArgs<Schema>>;
}
