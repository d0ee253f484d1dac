/**
 * The work of a text scan, counted: every parser of model output scans with `findCounted`, which adds
 * the characters it passed over to a `ScanMeter`. A parser that never rescans does at most a few
 * steps per input character, so its tests bound the count by the input's size (linear time on every
 * input, adversarial or not) instead of timing it.
 */

/** Characters passed over by the scans it was handed to. */
export interface ScanMeter {
  steps: number;
}

/**
 * `text.indexOf(needle, from)`, adding to `meter` the characters examined: up to the end of the
 * match, or to the end of the text when there is none.
 */
export function findCounted(text: string, needle: string, from: number, meter?: ScanMeter): number {
  const at = text.indexOf(needle, from);
  if (meter !== undefined) meter.steps += (at < 0 ? text.length : at + needle.length) - Math.min(from, text.length);
  return at;
}
