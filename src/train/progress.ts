/**
 * Training progress on the terminal: a bar redrawn in place on a TTY, plain periodic lines when
 * the output is a pipe or a file (CI logs), with step, chosen metrics, tokens per second and ETA.
 */

/** One metric shown on the progress line. */
export interface ProgressField {
  label: string;
  /** Key in the step's metrics. */
  key: string;
  /** Digits after the point; default 3. */
  digits?: number;
}

/** Where progress goes: a stream with an optional `isTTY` and `columns`. */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** Formats seconds as `1h02m`, `3m05s` or `42s`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${s}s`;
}

function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond)) return '?';
  return perSecond >= 1000 ? `${(perSecond / 1000).toFixed(1)}k` : perSecond.toFixed(0);
}

/** Shows training progress; call `update` after each step and `finish` at the end. */
export class ProgressReporter {
  private readonly stream: ProgressStream;
  private readonly tty: boolean;
  private lastLineLength = 0;

  constructor(
    private options: {
      totalSteps: number;
      fields: ProgressField[];
      /** Plain lines every this many steps when not a TTY; default 1. */
      printEvery?: number;
      stream?: ProgressStream;
      /** Force the TTY (bar) or plain mode; default: the stream's `isTTY`. */
      tty?: boolean;
      label?: string;
    },
  ) {
    this.stream = options.stream ?? process.stderr;
    this.tty = options.tty ?? this.stream.isTTY === true;
  }

  /** Replaces the metrics shown on the line (e.g. once the reward names are known). */
  setFields(fields: ProgressField[]): void {
    this.options.fields = fields;
  }

  /** The text of one progress line (without bar or newline). */
  line(
    step: number,
    metrics: Record<string, number>,
    timing: { elapsedSeconds: number; stepsThisSession: number; tokensPerSecond: number },
  ): string {
    const parts = [`step ${step}/${this.options.totalSteps}`];
    for (const field of this.options.fields) {
      const value = metrics[field.key];
      parts.push(`${field.label} ${value === undefined ? '-' : value.toFixed(field.digits ?? 3)}`);
    }
    parts.push(`tok/s ${formatRate(timing.tokensPerSecond)}`);
    const perStep = timing.stepsThisSession > 0 ? timing.elapsedSeconds / timing.stepsThisSession : NaN;
    parts.push(`ETA ${formatDuration(perStep * (this.options.totalSteps - step))}`);
    return (this.options.label ? `[${this.options.label}] ` : '') + parts.join('  ');
  }

  /** Reports the end of `step` (1-based) with its metrics. */
  update(
    step: number,
    metrics: Record<string, number>,
    timing: { elapsedSeconds: number; stepsThisSession: number; tokensPerSecond: number },
  ): void {
    const text = this.line(step, metrics, timing);
    if (this.tty) {
      const width = 24;
      const filled = Math.round((width * step) / Math.max(1, this.options.totalSteps));
      const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] `;
      let full = bar + text;
      const columns = this.stream.columns ?? 160;
      if (full.length > columns - 1) full = full.slice(0, columns - 1);
      this.stream.write(`\r${full}${' '.repeat(Math.max(0, this.lastLineLength - full.length))}`);
      this.lastLineLength = full.length;
    } else if (step % (this.options.printEvery ?? 1) === 0 || step === this.options.totalSteps) {
      this.stream.write(`${text}\n`);
    }
  }

  /** Prints a message on its own line without breaking the bar. */
  log(message: string): void {
    if (this.tty && this.lastLineLength > 0) {
      this.stream.write('\n');
      this.lastLineLength = 0;
    }
    this.stream.write(`${message}\n`);
  }

  /** Ends the bar's line. */
  finish(): void {
    if (this.tty && this.lastLineLength > 0) this.stream.write('\n');
    this.lastLineLength = 0;
  }
}
