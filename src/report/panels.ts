/**
 * The paper's six training panels and results-table columns, and how each finds its reward
 * component among a run's metrics. Reward function names come from the rubric; a panel lists the
 * names it accepts (exact first) and a pattern as a fallback, so a renamed reward still lands in
 * the right panel.
 */

/** One reward component shown as a panel or a table column. */
export interface RewardPanel {
  /** Stable id used in HTML and JSON. */
  id: string;
  title: string;
  /** Range of the component, for the axis and the table header. */
  range: [number, number];
  /** Component names accepted, most specific first. */
  names: string[];
  /** Fallback pattern on the component name. */
  pattern: RegExp;
}

/** The six training panels of the paper's figure, in its order. */
export const TRAINING_PANELS: RewardPanel[] = [
  { id: 'tool_execution', title: 'Tool Execution', range: [0, 0.2], names: ['tool_execution'], pattern: /tool.?exec/i },
  {
    id: 'search_answer',
    title: 'Search Result Answer Presence',
    range: [0, 0.5],
    names: ['search_answer_presence', 'search_result_answer_presence', 'search_answer'],
    pattern: /(search|result).*answer|answer.*(search|result)/i,
  },
  {
    id: 'xml_tag_usage',
    title: 'XML Tag Usage',
    range: [0, 0.2],
    names: ['xml_tags', 'xml_tag_usage', 'tag_usage'],
    pattern: /tag/i,
  },
  { id: 'xml_format', title: 'XML Format', range: [0, 0.2], names: ['xml_format', 'format'], pattern: /format/i },
  {
    id: 'answer_presence',
    title: 'Final Answer Presence',
    range: [0, 0.5],
    names: ['answer_presence', 'final_answer_presence'],
    pattern: /^(final.?)?answer.?presen/i,
  },
  { id: 'exact_match', title: 'Exact Match', range: [0, 1], names: ['exact_match'], pattern: /^exact.?match$/i },
];

/** The columns of the paper's results table (PAPER.md section 6). */
export const RESULT_COLUMNS: RewardPanel[] = [
  TRAINING_PANELS[0]!,
  TRAINING_PANELS[1]!,
  TRAINING_PANELS[3]!,
  TRAINING_PANELS[5]!,
];

/** The component name a panel reads among `names` (without the `reward/` prefix), if any. */
export function resolveComponent(panel: RewardPanel, names: Iterable<string>): string | undefined {
  const list = [...names];
  for (const name of panel.names) if (list.includes(name)) return name;
  return list.find((name) => panel.pattern.test(name));
}
