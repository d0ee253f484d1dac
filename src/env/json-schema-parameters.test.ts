import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.js';
import { HermesFormat } from './hermes-format.js';
import { isJsonSchemaParameters, jsonSchemaParameters } from './json-schema-parameters.js';
import { runTool } from './run-tool.js';
import { defineTool } from './tool.js';
import { toolArguments, toolJsonSchema, validateToolArguments } from './tool-schema.js';
import { formatToolDescriptions } from './xml-format.js';

const searchSchema = {
  type: 'object',
  properties: {
    query: { type: 'string', description: 'What to look up', minLength: 1 },
    limit: { type: 'integer', minimum: 1, maximum: 10, default: 3, description: 'How many results' },
    site: { type: 'string', format: 'uri' },
    mode: { enum: ['fast', 'exact'] },
    filter: { $ref: '#/$defs/filter' },
  },
  required: ['query'],
  additionalProperties: false,
  $defs: { filter: { type: 'object', properties: { year: { type: 'integer' } }, required: ['year'] } },
};

function problems(schema: unknown, args: Record<string, unknown>): string[] {
  const checked = jsonSchemaParameters(schema).validate(args);
  return checked.ok ? [] : checked.problems;
}

describe('jsonSchemaParameters', () => {
  it('accepts valid arguments unchanged: no defaults filled in, nothing coerced', () => {
    const args = { query: 'Help!', filter: { year: 1965 } };
    const checked = jsonSchemaParameters(searchSchema).validate(args);
    expect(checked).toEqual({ ok: true, value: { query: 'Help!', filter: { year: 1965 } } });
    expect(problems(searchSchema, { query: 'x', limit: '3' })).toEqual(['limit: must be integer']);
  });

  it('names each problem by its argument path', () => {
    expect(problems(searchSchema, {})).toEqual(['query: required argument is missing']);
    expect(problems(searchSchema, { query: 'x', color: 'red' })).toEqual(["unexpected argument 'color'"]);
    expect(problems(searchSchema, { query: 'x', mode: 'slow' })).toEqual(['mode: must be one of "fast", "exact"']);
    expect(problems(searchSchema, { query: 'x', site: 'not a uri' })).toEqual(['site: must match format "uri"']);
    expect(problems(searchSchema, { query: 'x', filter: {} })).toEqual(['filter.year: required argument is missing']);
    expect(problems(searchSchema, { query: '', limit: 11 })).toEqual([
      'query: must NOT have fewer than 1 characters',
      'limit: must be <= 10',
    ]);
  });

  it('lists at most five problems and counts the rest', () => {
    const schema = { type: 'object', required: ['a', 'b', 'c', 'd', 'e', 'f', 'g'] };
    expect(problems(schema, {})).toEqual([
      'a: required argument is missing',
      'b: required argument is missing',
      'c: required argument is missing',
      'd: required argument is missing',
      'e: required argument is missing',
      'and 2 more',
    ]);
  });

  it('validates keywords zod cannot convert (if/then, dependentRequired, not, unevaluatedProperties)', () => {
    const schema = {
      type: 'object',
      properties: { kind: { type: 'string' }, path: { type: 'string' }, depth: { not: { type: 'string' } } },
      if: { properties: { kind: { const: 'file' } } },
      then: { required: ['path'] },
      dependentRequired: { depth: ['kind'] },
      unevaluatedProperties: false,
    };
    expect(problems(schema, { kind: 'dir' })).toEqual([]);
    expect(problems(schema, { kind: 'file' })).toEqual(['path: required argument is missing']);
    expect(problems(schema, { depth: 2, path: 'a' })).toEqual([
      '(arguments): must have property kind when property depth is present',
    ]);
    expect(problems(schema, { kind: 'dir', depth: 'deep' })).toEqual(['depth: must NOT be valid']);
    expect(problems(schema, { kind: 'dir', extra: 1 })).toEqual(["unexpected argument 'extra'"]);
  });

  it('reads draft-07 schemas (definitions, tuple items) as draft-07, and 2020-12 by default', () => {
    const draft7 = {
      $schema: 'http://json-schema.org/draft-07/schema#',
      type: 'object',
      properties: {
        point: { type: 'array', items: [{ type: 'number' }, { type: 'string' }] },
        id: { $ref: '#/definitions/id' },
      },
      definitions: { id: { type: 'integer' } },
    };
    expect(problems(draft7, { point: [1, 'a'], id: 2 })).toEqual([]);
    expect(problems(draft7, { point: ['a', 1], id: 'x' })).toEqual([
      'point.0: must be number',
      'point.1: must be string',
      'id: must be integer',
    ]);
    const draft2020 = {
      type: 'object',
      properties: { point: { type: 'array', prefixItems: [{ type: 'number' }], items: false } },
    };
    expect(problems(draft2020, { point: [1] })).toEqual([]);
    expect(problems(draft2020, { point: [1, 2] })).toEqual(['point: must NOT have more than 1 items']);
  });

  it('keeps two schemas with the same $id apart', () => {
    const first = jsonSchemaParameters({ $id: 'https://example.com/args.json', type: 'object', required: ['a'] });
    const second = jsonSchemaParameters({ $id: 'https://example.com/args.json', type: 'object', required: ['b'] });
    expect(first.validate({ a: 1 }).ok).toBe(true);
    expect(second.validate({ a: 1 }).ok).toBe(false);
  });

  it('refuses a schema that is not an object schema, is invalid, or names an unknown dialect, in one line', () => {
    const cases: [unknown, RegExp][] = [
      [null, /^tool 'x': the schema must be a JSON object, got null$/],
      [{ type: 'string' }, /^tool 'x': tool arguments need a schema of type "object", got type "string"$/],
      [{ properties: {} }, /got type undefined$/],
      [
        { type: 'object', properties: { a: { type: 'strng' } } },
        new RegExp(
          /^tool 'x': invalid JSON Schema \(schema is invalid: data\/properties\/a\/type /.source +
            /must be equal to one of the allowed values/.source,
        ),
      ],
      [
        { type: 'object', properties: { a: { $ref: 'https://example.com/other.json' } } },
        /^tool 'x': invalid JSON Schema \(can't resolve reference/,
      ],
      [
        { $schema: 'https://example.com/my-dialect', type: 'object' },
        /^tool 'x': unsupported \$schema "https:\/\/example.com\/my-dialect"/,
      ],
    ];
    for (const [schema, message] of cases) {
      let thrown: unknown;
      try {
        jsonSchemaParameters(schema, { label: "tool 'x'" });
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(ConfigError);
      expect((thrown as Error).message).toMatch(message);
      expect((thrown as Error).message).not.toContain('\n');
    }
  });
});

describe('a tool with JSON Schema parameters', () => {
  const executed: unknown[] = [];
  const search = defineTool({
    name: 'search',
    description: 'Searches the web.',
    parameters: jsonSchemaParameters<{ query: string; limit?: number }>(searchSchema),
    execute: (args) => {
      executed.push(args);
      return `results for ${args.query}`;
    },
  });

  it('is told apart from a zod tool', () => {
    expect(isJsonSchemaParameters(search.parameters)).toBe(true);
  });

  it('gives prompts the schema exactly as given', () => {
    expect(toolJsonSchema(search)).toEqual(searchSchema);
    expect(new HermesFormat().systemPrompt([search])).toContain(
      JSON.stringify({
        type: 'function',
        function: { name: 'search', description: 'Searches the web.', parameters: searchSchema },
      }),
    );
    expect(formatToolDescriptions([search])).toBe(
      'search: Searches the web.\n\nArguments:\n  - query: What to look up\n' +
        '  - limit: How many results (default: 3)\n  - site: \n  - mode: \n  - filter: ',
    );
  });

  it('lists no arguments when the schema has no properties', () => {
    const ping = defineTool({
      name: 'ping',
      description: 'Pings.',
      parameters: jsonSchemaParameters({ type: 'object' }),
      execute: () => 'pong',
    });
    expect(toolArguments(ping)).toEqual([]);
    expect(formatToolDescriptions([ping])).toBe('ping: Pings.\n\nArguments:');
  });

  it('refuses invalid arguments before running the tool, as the Error: text the model sees', async () => {
    expect(validateToolArguments(search, { query: 1 })).toEqual({
      ok: false,
      error: "Error: Invalid arguments for 'search': query: must be string",
    });
    const run = await runTool(search, { name: 'search', arguments: { limit: 0 } }, { timeoutMs: 1000, row: {} });
    expect(run.output).toBe(
      "Error: Invalid arguments for 'search': query: required argument is missing; limit: must be >= 1",
    );
    expect(run.failure).toBe(run.output);
    expect(executed).toEqual([]);
    expect(
      (await runTool(search, { name: 'search', arguments: { query: 'Help!' } }, { timeoutMs: 1000, row: {} })).output,
    ).toBe('results for Help!');
    expect(executed).toEqual([{ query: 'Help!' }]);
  });
});
