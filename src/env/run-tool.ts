/**
 * Runs one decoded tool call: validates the arguments against the tool's schema, runs the tool under
 * a timeout (aborting its signal), and turns every failure into the `Error: ...` text the model sees
 * (the reference code's `call_tool`: `Error: <exception text>`). It never throws.
 */
import { errorMessage } from '../errors.js';
import { activeProfile, COUNTER, PHASE } from '../step-profile.js';
import type { ToolCall } from '../types.js';
import type { Tool } from './tool.js';
import { type ArgumentCheck, validateToolArguments } from './tool-schema.js';
import { jsonTypeName } from './xml-format.js';

/** The outcome of one tool call. */
export interface ToolRun {
  /** The text to show the model (the tool's output, or an `Error: ...` text). */
  output: string;
  /** Set when the call failed (bad arguments, a throw, a timeout); also the reason for logs. */
  failure?: string;
}

/** Options of one tool run. */
export interface RunToolOptions {
  /** Milliseconds before the call is abandoned; the tool's own `timeoutMs` wins. */
  timeoutMs: number;
  /** The episode's dataset row, passed to the tool. */
  row: unknown;
}

/** Validates and runs `call` with `tool`, never throwing. */
export async function runTool(tool: Tool, call: ToolCall, options: RunToolOptions): Promise<ToolRun> {
  const checked = checkArguments(tool, call);
  if (!checked.ok) return { output: checked.error, failure: checked.error };

  const timeoutMs = tool.timeoutMs ?? options.timeoutMs;
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<ToolRun>((resolve) => {
    timer = setTimeout(() => {
      const text = `Error: Tool '${tool.name}' timed out after ${timeoutMs} ms`;
      controller.abort(new Error(text));
      resolve({ output: text, failure: text });
    }, timeoutMs);
  });
  const profile = activeProfile();
  profile?.count(COUNTER.toolCalls, 1);
  const execution = (async (): Promise<ToolRun> => {
    try {
      // Only the call's synchronous part is timed (all of a synchronous tool such as the SQLite search).
      const start = profile ? performance.now() : 0;
      const running = tool.execute(checked.value, { signal: controller.signal, row: options.row });
      profile?.add(PHASE.tool, start);
      const result: unknown = await running;
      // A tool that returns nothing returned empty output (ToolEnv says so to the model).
      return {
        output: typeof result === 'string' ? result : result === undefined || result === null ? '' : String(result),
      };
    } catch (error) {
      const text = `Error: ${errorMessage(error)}`;
      return { output: text, failure: text };
    }
  })();
  try {
    return await Promise.race([execution, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The call's arguments validated against the tool's schema; no object, or a validator that throws, fails. */
function checkArguments(tool: Tool, call: ToolCall): ArgumentCheck<unknown> {
  try {
    const args: unknown = call?.arguments;
    if (typeof args !== 'object' || args === null || Array.isArray(args)) {
      return {
        ok: false,
        error: `Error: the arguments of '${tool.name}' must be a JSON object, got ${jsonTypeName(args)}`,
      };
    }
    return validateToolArguments(tool, args as Record<string, unknown>);
  } catch (error) {
    return { ok: false, error: `Error: Invalid arguments for '${tool.name}': ${errorMessage(error)}` };
  }
}
