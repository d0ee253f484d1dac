/**
 * The error classes of turnwise. Every message names what was wrong and what was expected, so
 * that bad input never produces a stack trace alone.
 */

/** Base class: every error turnwise throws on purpose. */
export class TurnwiseError extends Error {
  override name = 'TurnwiseError';
}

/** A config file or command-line override is invalid: names the key, the value and what is allowed. */
export class ConfigError extends TurnwiseError {
  override name = 'ConfigError';
}

/** A dataset row, corpus file or fixture does not have the expected shape. */
export class DataError extends TurnwiseError {
  override name = 'DataError';
}

/** A tensor, buffer or array has the wrong shape for an op: names the op and the shapes. */
export class ShapeError extends TurnwiseError {
  override name = 'ShapeError';
}

/** A checkpoint or weights file cannot be read or does not match the model. */
export class CheckpointError extends TurnwiseError {
  override name = 'CheckpointError';
}

/** A remote service (Tinker, retriever, sampler) answered with an error or not at all. */
export class RemoteError extends TurnwiseError {
  override name = 'RemoteError';
  constructor(
    message: string,
    /** HTTP status, when there was a response. */
    readonly status?: number,
  ) {
    super(message);
  }
}

/** A tool failed; its message becomes the `Error: ...` result the model sees. */
export class ToolError extends TurnwiseError {
  override name = 'ToolError';
}

/**
 * Formats any thrown value as a message, never throwing itself: an object whose `toString` or
 * `message` throws, a Symbol, a revoked Proxy or null each gives a text.
 */
export function errorMessage(error: unknown): string {
  try {
    if (error instanceof Error) return String(error.message);
    return String(error);
  } catch {
    try {
      return Object.prototype.toString.call(error);
    } catch {
      return 'a thrown value that cannot be printed';
    }
  }
}
