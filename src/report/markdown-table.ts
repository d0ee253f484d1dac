/**
 * The one Markdown table writer of the reports: columns padded to their widest cell, the first
 * `textColumns` left-aligned (names), the rest right-aligned (numbers, `---:` in the rule).
 */
export function formatMarkdownTable(header: readonly string[], body: readonly string[][], textColumns = 2): string {
  const widths = header.map((title, i) => Math.max(title.length, ...body.map((cells) => cells[i]!.length)));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((cell, i) => (i < textColumns ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join(' | ')} |`;
  const rule = `|${widths.map((width, i) => (i < textColumns ? '-'.repeat(width + 2) : `${'-'.repeat(width + 1)}:`)).join('|')}|`;
  return [line(header), rule, ...body.map(line)].join('\n');
}
