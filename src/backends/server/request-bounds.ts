/**
 * `checkRequestBounds`: the size limits of an OpenAI-route request, checked on the parsed body
 * before any tokenising or sampling starts: the bytes of the prompt-bearing fields (so a huge
 * prompt costs a byte count, not seconds of tokenising on the event loop), the prompts of one
 * request, and prompts x n, the sequences one request may ask for.
 */
import { HttpError } from './http-io.js';

/** The limits (see `turnwise serve --help`). */
export interface RequestBounds {
  /** Most bytes of prompt text (messages, tools, prompt) in one request; default 262144. */
  maxPromptBytes: number;
  /** Most prompts in one `/v1/completions` request; default 64. */
  maxPromptsPerRequest: number;
  /** Most sequences (prompts x n) one request samples; default 256. */
  maxSequencesPerRequest: number;
}

export const DEFAULT_REQUEST_BOUNDS: RequestBounds = {
  maxPromptBytes: 262_144,
  maxPromptsPerRequest: 64,
  maxSequencesPerRequest: 256,
};

/** Refuses an OpenAI-route body past `bounds` with 413 (bytes) or 400 (counts), naming the value and the limit. */
export function checkRequestBounds(body: unknown, bounds: RequestBounds): void {
  if (typeof body !== 'object' || body === null) return;
  const fields = body as { prompt?: unknown; messages?: unknown; tools?: unknown; n?: unknown };
  const bytes =
    textBytes(fields.prompt, bounds.maxPromptBytes) +
    textBytes(fields.messages, bounds.maxPromptBytes) +
    textBytes(fields.tools, bounds.maxPromptBytes);
  if (bytes > bounds.maxPromptBytes)
    throw new HttpError(
      413,
      `the prompt is ${bytes > 2 * bounds.maxPromptBytes ? 'more than ' : ''}${Math.min(bytes, 2 * bounds.maxPromptBytes)} ` +
        `bytes, more than this server's limit of ${bounds.maxPromptBytes} (--max-prompt-bytes)`,
    );
  const prompts =
    Array.isArray(fields.prompt) && fields.prompt.length > 0 && typeof fields.prompt[0] !== 'number'
      ? fields.prompt.length
      : 1;
  if (prompts > bounds.maxPromptsPerRequest)
    throw new HttpError(
      400,
      `prompt is a list of ${prompts} prompts, more than this server's limit of ` +
        `${bounds.maxPromptsPerRequest} per request (--max-prompts-per-request)`,
    );
  const n = typeof fields.n === 'number' && Number.isFinite(fields.n) ? fields.n : 1;
  if (prompts * n > bounds.maxSequencesPerRequest)
    throw new HttpError(
      400,
      `${prompts} prompt(s) x n=${n} asks for ${prompts * n} sequences, more than this server's limit of ` +
        `${bounds.maxSequencesPerRequest} per request (--max-sequences-per-request)`,
    );
}

/**
 * The UTF-8 bytes of the strings in `value` (token ids count 4 bytes each), stopping once past
 * `limit`: the walk costs at most about `limit` bytes of work plus the number of values.
 */
function textBytes(value: unknown, limit: number): number {
  let total = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0 && total <= 2 * limit) {
    const item = stack.pop();
    if (typeof item === 'string') total += Buffer.byteLength(item);
    else if (typeof item === 'number') total += 4;
    else if (Array.isArray(item)) for (const element of item) stack.push(element);
    else if (typeof item === 'object' && item !== null) for (const element of Object.values(item)) stack.push(element);
  }
  return total;
}
