/**
 * The multi-turn tool environment of the paper (PAPER.md section 1; the reference `ToolEnv` and
 * `MultiStepEnv`). After each assistant message, in this order:
 *   1. the episode ends if the number of assistant messages with a parseable tool call has reached
 *      `maxToolCalls` (paper: 2, so a second call ends the episode without being executed);
 *   2. it ends if the message holds a parseable answer;
 *   3. otherwise the environment answers: the tool's output inside the result tags when a tool call
 *      parsed (tool-level errors as `Error: ...` inside them), "Error: Tool execution returned empty
 *      output." for blank output, or the format's no-tool-call error (no result tags).
 * A format that allows several calls a turn (Hermes) has each executed in order and answered with
 * one message per call; the message still counts once toward `maxToolCalls`, and the turn stays one
 * assistant message followed by all its results, so turn-level credit sees one turn.
 * The token budget is enforced by the rollout loop (`EnvStepOptions.final`); `maxTurns` is a safety
 * cap that the paper did not have (its budget ended degenerate episodes).
 */
import { DataError } from '../errors.js';
import type { Message } from '../types.js';
import type { Env, EnvFactory, EnvStep, EnvStepOptions } from './env.js';
import { EMPTY_OUTPUT_ERROR, type DecodedToolCall, type MessageFormat } from './message-format.js';
import { runTool } from './run-tool.js';
import type { Tool } from './tool.js';
import { XmlFormat } from './xml-format.js';

/** Options of the tool environment. */
export interface ToolEnvOptions<Row = unknown> {
  tools: Tool[];
  /** How tool calls, answers and results are written (default: the paper's XML format). */
  format?: MessageFormat;
  /** Replaces the format's system prompt (which lists the tools). */
  systemPrompt?: string;
  /** The question of a row (default: `row.question`, which must be a string). */
  question?: (row: Row) => string;
  /** The user message of a row (default: the paper's `Question: {question}\n`). */
  userMessage?: (question: string, row: Row) => string;
  /** Assistant messages with a parseable tool call that end the episode (paper: 2). */
  maxToolCalls?: number;
  /** Safety cap on assistant turns (default 32). */
  maxTurns?: number;
  /** Tool timeout in milliseconds when the tool sets none (default 30 000). */
  toolTimeoutMs?: number;
}

function defaultQuestion(row: unknown): string {
  const question = typeof row === 'object' && row !== null ? (row as Record<string, unknown>)['question'] : undefined;
  if (typeof question !== 'string') {
    throw new DataError(
      `ToolEnv: the dataset row has no string 'question' field (got ` +
        `${JSON.stringify(row)?.slice(0, 200)}); pass options.question to read it`,
    );
  }
  return question;
}

function checkCount(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1)
    throw new DataError(`ToolEnv: ${name} must be a positive integer, got ${value}`);
  return value;
}

// setTimeout runs a delay past 2^31 - 1 ms, or one that is not a number, after 1 ms.
const MAX_TIMEOUT_MS = 2_147_483_647;

function checkTimeout(value: number): number {
  if (typeof value !== 'number' || !(value > 0 && value <= MAX_TIMEOUT_MS))
    throw new DataError(
      `ToolEnv: toolTimeoutMs must be a number of milliseconds in (0, ${MAX_TIMEOUT_MS}], got ${value}`,
    );
  return value;
}

/** The paper's multi-turn tool environment; one instance per episode. */
export class ToolEnv<Row = unknown> implements Env<Row> {
  readonly stop: string[];
  readonly format: MessageFormat;
  readonly systemPrompt: string;
  readonly maxToolCalls: number;
  readonly maxTurns: number;
  readonly toolTimeoutMs: number;
  private readonly tools: ReadonlyMap<string, Tool>;
  private readonly options: ToolEnvOptions<Row>;
  private row: Row | undefined;
  private started = false;
  private toolCallCount = 0;
  private turnCount = 0;

  /** `systemPrompt`, when given, is a prompt already rendered for these tools (used by `factory`). */
  constructor(options: ToolEnvOptions<Row>, systemPrompt?: string) {
    this.options = options;
    this.format = options.format ?? new XmlFormat();
    this.stop = [...this.format.stop];
    const tools = new Map<string, Tool>();
    for (const tool of options.tools) {
      if (tools.has(tool.name))
        throw new DataError(`ToolEnv: two tools are named '${tool.name}'; tool names must be unique`);
      tools.set(tool.name, tool);
    }
    this.tools = tools;
    this.maxToolCalls = checkCount('maxToolCalls', options.maxToolCalls ?? 2);
    this.maxTurns = checkCount('maxTurns', options.maxTurns ?? 32);
    this.toolTimeoutMs = checkTimeout(options.toolTimeoutMs ?? 30_000);
    this.systemPrompt = systemPrompt ?? options.systemPrompt ?? this.format.systemPrompt(options.tools);
  }

  /** A factory of fresh episodes sharing one rendered system prompt. */
  static factory<Row>(options: ToolEnvOptions<Row>): EnvFactory<Row> {
    const first = new ToolEnv<Row>(options);
    return () => new ToolEnv<Row>(options, first.systemPrompt);
  }

  reset(row: Row): Message[] {
    this.row = row;
    this.started = true;
    this.toolCallCount = 0;
    this.turnCount = 0;
    const question = (this.options.question ?? defaultQuestion)(row);
    const user = this.options.userMessage ? this.options.userMessage(question, row) : `Question: ${question}\n`;
    return [
      { role: 'system', content: this.systemPrompt },
      { role: 'user', content: user },
    ];
  }

  async step(message: Message, options: EnvStepOptions = {}): Promise<EnvStep> {
    if (!this.started) throw new DataError('ToolEnv.step called before reset(row)');
    this.turnCount++;
    const first = this.format.parseToolCall(message.content);
    const raws = first === undefined ? [] : (this.format.parseToolCalls?.(message.content) ?? [first]);
    if (raws.length > 0) this.toolCallCount++;
    const decoded = raws.map((raw) => this.format.decodeToolCall(raw, this.tools));
    const toolCalls = decoded.flatMap((call) => (call.ok ? [call.call] : []));
    const end = (stopReason: EnvStep['stopReason']): EnvStep => ({
      done: true,
      stopReason,
      toolCalls,
      isToolResult: false,
      toolFailed: false,
    });

    if (this.toolCallCount >= this.maxToolCalls) return end('max_tool_calls');
    if (this.format.parseAnswer(message.content) !== undefined) return end('answered');
    if (options.final) return end('token_budget');
    if (this.turnCount >= this.maxTurns) return end('max_turns');

    if (decoded.length === 0) {
      return {
        done: false,
        reply: this.format.formatError(this.format.noToolCallError),
        toolCalls,
        isToolResult: false,
        toolFailed: false,
      };
    }
    const replies: Message[] = [];
    for (const call of decoded) replies.push(await this.answer(call));
    const results = replies.map((reply) => this.format.parseResult(reply.content));
    const step: EnvStep = {
      done: false,
      reply: replies[0],
      toolCalls,
      isToolResult: results.some((result) => result !== undefined),
      toolFailed: results.some((result) => result?.startsWith('Error:') ?? false),
    };
    if (replies.length > 1) step.replies = replies;
    return step;
  }

  /** The message answering one decoded call: its tool's output as a result, or an error. */
  private async answer(decoded: DecodedToolCall): Promise<Message> {
    let output: string;
    if (decoded.ok) {
      const tool = this.tools.get(decoded.call.name)!;
      output = (await runTool(tool, decoded.call, { timeoutMs: this.toolTimeoutMs, row: this.row })).output;
    } else {
      output = decoded.error;
    }
    if (output.trim().length === 0) return this.format.formatError(EMPTY_OUTPUT_ERROR);
    return this.format.formatResult(output);
  }
}
