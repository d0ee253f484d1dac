/**
 * Runs the `turnwise` command in-process with its console output captured, for the CLI tests.
 */
import { main } from './main.js';

/** What one captured run printed and returned. */
export interface CapturedRun {
  code: number;
  /** Lines printed with console.log. */
  out: string[];
  /** Lines printed with console.error. */
  errors: string[];
}

/** Runs `turnwise ...argv` and returns its exit code and printed lines. */
export async function runCaptured(argv: string[]): Promise<CapturedRun> {
  const out: string[] = [];
  const errors: string[] = [];
  const { log, error } = console;
  console.log = (message: string) => out.push(String(message));
  console.error = (message: string) => errors.push(String(message));
  try {
    return { code: await main(argv), out, errors };
  } finally {
    console.log = log;
    console.error = error;
  }
}
