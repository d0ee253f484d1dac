import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { ToolCall } from '../types.js';
import { runTool } from './run-tool.js';
import { defineTool, type Tool } from './tool.js';

const options = { timeoutMs: 1_000, row: {} };
const throwing = (thrown: () => unknown): Tool =>
  defineTool({
    name: 'hostile',
    description: 'Throws whatever it is given.',
    parameters: z.object({}),
    execute: () => {
      throw thrown();
    },
  });
const returning = (value: () => unknown): Tool =>
  defineTool({
    name: 'hostile',
    description: 'Returns whatever it is given.',
    parameters: z.object({}),
    execute: () => value() as string,
  });
const call: ToolCall = { name: 'hostile', arguments: {} };

describe('runTool contains anything a tool does', () => {
  const { proxy: revoked, revoke } = Proxy.revocable({}, {});
  revoke();
  const trap = () => {
    throw new Error('trap');
  };
  it.each([
    ['an object whose toString throws', () => ({ toString: trap }), /^Error: \[object Object\]$/],
    [
      'an Error whose message getter throws',
      () => Object.defineProperty(new Error(), 'message', { get: trap }),
      /^Error: /,
    ],
    ['null', () => null, /^Error: null$/],
    ['undefined', () => undefined, /^Error: undefined$/],
    ['a Symbol', () => Symbol('boom'), /^Error: Symbol\(boom\)$/],
    ['a Proxy whose every trap throws', () => new Proxy({}, { get: trap, getPrototypeOf: trap }), /^Error: /],
    ['a revoked Proxy', () => revoked, /^Error: /],
    ['a number', () => 42, /^Error: 42$/],
  ])('a throw of %s becomes an Error: result', async (_what, thrown, output) => {
    const run = await runTool(throwing(thrown), call, options);
    expect(run.output).toMatch(output);
    expect(run.failure).toBe(run.output);
  });

  it.each([
    ['undefined', () => undefined, ''],
    ['null', () => null, ''],
    ['a number', () => 7, '7'],
    ['a Symbol', () => Symbol('s'), 'Symbol(s)'],
  ])('a return of %s is text (nothing is empty output)', async (_what, value, output) => {
    expect(await runTool(returning(value), call, options)).toEqual({ output });
  });

  it('a returned object whose toString throws, or a rejected promise of one, is an Error: result', async () => {
    const hostile = { toString: () => Symbol('not text') };
    expect(
      (
        await runTool(
          returning(() => hostile),
          call,
          options,
        )
      ).output,
    ).toMatch(/^Error: /);
    const rejected = returning(() => Promise.reject({ toString: () => Symbol('x') }));
    expect((await runTool(rejected, call, options)).output).toMatch(/^Error: \[object Object\]$/);
  });

  it.each([
    ['null', null, /must be a JSON object, got NoneType/],
    ['an array', [1], /must be a JSON object, got list/],
    ['a string', 'query', /must be a JSON object, got str/],
    ['a revoked Proxy', revoked, /^Error: Invalid arguments for 'hostile': /],
  ])('arguments that are %s give an Error: result', async (_what, args, output) => {
    const run = await runTool(
      returning(() => 'ok'),
      { name: 'hostile', arguments: args } as unknown as ToolCall,
      options,
    );
    expect(run.output).toMatch(output);
    expect(run.failure).toBe(run.output);
  });

  it('a call that is no object at all, and a schema whose refinement throws, give Error: results', async () => {
    expect(
      (
        await runTool(
          returning(() => 'ok'),
          null as unknown as ToolCall,
          options,
        )
      ).output,
    ).toMatch(/got undefined/);
    const refusing = defineTool({
      name: 'refusing',
      description: 'Its schema throws.',
      parameters: z.object({}).refine(() => trap()),
      execute: () => 'ok',
    });
    expect((await runTool(refusing, { name: 'refusing', arguments: {} }, options)).output).toBe(
      "Error: Invalid arguments for 'refusing': trap",
    );
  });

  it('a tool that never settles is abandoned at its timeout, its signal aborted', async () => {
    let aborted = false;
    const hanging = defineTool({
      name: 'hanging',
      description: 'Never answers.',
      parameters: z.object({}),
      timeoutMs: 10,
      execute: (_args, { signal }) => {
        signal.addEventListener('abort', () => {
          aborted = true;
        });
        return new Promise<string>(() => {});
      },
    });
    const run = await runTool(hanging, { name: 'hanging', arguments: {} }, options);
    expect(run.output).toBe("Error: Tool 'hanging' timed out after 10 ms");
    expect(aborted).toBe(true);
  });
});
