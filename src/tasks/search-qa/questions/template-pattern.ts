/**
 * A question template as a pattern: whether a question text is a filling of a template, and with
 * which slot values. The held-out phrasings re-word a question through its slots, and the leak
 * check asks whether any training question is a filling of a held-out wording.
 */

/** Slot names of a template, in order (`{country}` -> `country`). */
export function templateSlots(template: string): string[] {
  return [...template.matchAll(/\{(\w+)\}/g)].map((match) => match[1]!);
}

/** A case-insensitive anchored regular expression matching every filling of the template. */
export function templatePattern(template: string): RegExp {
  const parts = template.split(/\{\w+\}/).map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${parts.join('(.+?)')}$`, 'is');
}

/** The slot values of `question` under `template`, or undefined when it is not a filling of it. */
export function matchTemplate(template: string, question: string): Record<string, string> | undefined {
  const match = templatePattern(template).exec(question);
  if (!match) return undefined;
  return Object.fromEntries(templateSlots(template).map((slot, index) => [slot, match[index + 1]!]));
}
