/**
 * Turns raw source strings into answers with aliases: "Denali (Mount McKinley) 6,190 m" becomes
 * ["Denali", "Mount McKinley"], "euros (EUR) per US dollar" becomes ["euros", "euro", "EUR"],
 * "Fete de la Federation, 14 July (1790)" gives the date ["14 July", "July 14"].
 */

/** The main value before any "; note ..." or second clause, without trailing notes. */
export function firstClause(value: string): string {
  return value
    .split(';')[0]!
    .replace(/\bnote\b.*$/i, '')
    .trim();
}

/** A name and the names given in its parentheses ("Yangon (Rangoon)" -> ["Yangon", "Rangoon"]). */
export function nameWithParentheticals(value: string): string[] {
  const main = value
    .replace(/\s*\([^)]*\)/g, '')
    .replace(/\s+/g, ' ')
    .trim();
  const inner = [...value.matchAll(/\(([^)]*)\)/g)]
    .map((match) => match[1]!.trim())
    .filter((text) => /^[A-Z]/.test(text) && text.split(/\s+/).length <= 4 && !/\d/.test(text));
  return unique([main, ...inner].filter((name) => name.length > 0));
}

/** The capital's name(s): first clause, parenthetical alternatives, "Washington, DC" also as "Washington". */
export function capitalAliases(value: string): string[] {
  const names = nameWithParentheticals(firstClause(value).replace(/[\s:;,.-]+$/, ''));
  const extra = names.flatMap((name) => (/,\s*(DC|D\.C\.)$/.test(name) ? [name.replace(/,.*$/, '')] : []));
  return unique([...names, ...extra]);
}

/** The anthem's title in quotes, then its translation in parentheses. */
export function anthemAliases(value: string): string[] {
  const quoted = /"([^"]+)"/.exec(value)?.[1]?.trim();
  const translation = /\(([^)]+)\)/.exec(value)?.[1]?.trim();
  const base =
    quoted ??
    firstClause(value)
      .replace(/\s*\([^)]*\)/g, '')
      .trim();
  return unique(
    [base, ...(translation && !/\d/.test(translation) ? [translation] : [])].filter((text) => text.length > 0),
  );
}

/** The highest point without its elevation ("Zugspitze 2,963 m" -> "Zugspitze"). */
export function highestPointAliases(value: string): string[] {
  const withoutElevation = firstClause(value)
    .replace(/\s+-?[\d,.]+\s*m\b.*$/, '')
    .trim();
  // "unnamed elevation on Banaba" or "... pre-eruption height was" name no place a model could give.
  if (/^unnamed\b/i.test(withoutElevation) || /\b(was|is)$/.test(withoutElevation)) return [];
  return nameWithParentheticals(withoutElevation);
}

/** The first two-letter top-level domain in the value (".fr" for "metropolitan France - .fr; ..."). */
export function internetCodeAliases(value: string): string[] {
  const code = /(^|[\s(])(\.[a-z]{2})\b/.exec(value)?.[2];
  return code ? [code] : [];
}

/** The currency named by an exchange-rate line: plural, singular and ISO code. */
export function currencyAliases(value: string): string[] {
  const match = /^([A-Za-z][A-Za-z .'-]*?)\s*(?:\(([A-Z]{3})\)\s*)?per US dollar/.exec(value.trim());
  if (!match) return [];
  const plural = match[1]!.trim();
  if (plural.length < 3 || /^US dollars?$/i.test(plural)) return [];
  const singular = plural.replace(/(?<=[a-z])s$/, '');
  // The two CFA franc zones are usually just called "CFA franc".
  const cfa = /^(Communaute Financiere Africaine|Cooperation Financiere en Afrique Centrale) francs$/.test(plural)
    ? ['CFA francs', 'CFA franc']
    : [];
  return unique([plural, singular, ...cfa, ...(match[2] ? [match[2]] : [])]);
}

/** The first day-and-month date of a holiday ("14 July" -> ["14 July", "July 14"]). */
export function holidayDateAliases(value: string): string[] {
  const match =
    /\b(\d{1,2}) (January|February|March|April|May|June|July|August|September|October|November|December)\b/.exec(
      firstClause(value),
    );
  if (!match) return [];
  return [`${match[1]} ${match[2]}`, `${match[2]} ${match[1]}`];
}

/** Distinct strings in first-seen order, compared case-insensitively. */
export function unique(values: readonly string[]): string[] {
  const seen = new Set<string>();
  const kept: string[] = [];
  for (const value of values) {
    const key = value.toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    kept.push(value);
  }
  return kept;
}
