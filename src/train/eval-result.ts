/**
 * The shape of an evaluation result as written to `<runDir>/eval/<split>-<mode>.json` by
 * `turnwise eval` and read by the report and the paper comparison.
 */

/**
 * The evaluation-only splits a task may offer beside `test`: question kinds no training template
 * asks and the trained kinds in held-out wordings (search-QA builds both). The commands evaluate
 * them, greedy and sampled, whenever a task has them.
 */
export const HELD_OUT_SPLITS = ['heldout-kinds', 'heldout-phrasings'] as const;

/** Mean metrics of one evaluation (one split, one decoding mode). */
export interface EvalResult {
  /** Question split evaluated (`dev`, `test`, a held-out family split, ...). */
  split: string;
  /** `greedy` (temperature ~0) or `sampled` (the training temperature). */
  mode: 'greedy' | 'sampled';
  /** What was evaluated: a checkpoint path or `base`. */
  checkpoint: string;
  /** Distinct questions evaluated. */
  questions: number;
  /** Rollouts evaluated (questions x samples). */
  rollouts: number;
  /** Mean of every reward component, plus `exact_match_normalized`, tool and stop-reason rates. */
  metrics: Record<string, number>;
  /** The same metrics per question family. */
  byFamily: Record<string, { count: number; metrics: Record<string, number> }>;
  /** Wall-clock seconds the evaluation took. */
  wallSeconds: number;
}

/** File name of an evaluation result inside a run's `eval/` directory. */
export function evalFileName(split: string, mode: EvalResult['mode']): string {
  return `${split}-${mode}.json`;
}

/** File name of an evaluation's trajectories (one JSON line each) inside a run's `eval/` directory. */
export function evalTrajectoriesFileName(split: string, mode: EvalResult['mode']): string {
  return `${split}-${mode}.trajectories.jsonl`;
}

/**
 * The result restricted to the question families `keep` accepts: every metric is the mean over
 * those families' rollouts (each family weighted by its rollout count), e.g. the test split
 * without its template-held-out families. Undefined when no family is kept.
 */
export function familySubset(result: EvalResult, keep: (family: string) => boolean): EvalResult | undefined {
  const kept = Object.entries(result.byFamily).filter(([family]) => keep(family));
  const rollouts = kept.reduce((sum, [, entry]) => sum + entry.count, 0);
  if (rollouts === 0) return undefined;
  const sums: Record<string, number> = {};
  for (const [, entry] of kept) {
    for (const [name, value] of Object.entries(entry.metrics)) sums[name] = (sums[name] ?? 0) + value * entry.count;
  }
  const share = rollouts / Math.max(1, result.rollouts);
  return {
    ...result,
    questions: Math.round(result.questions * share),
    rollouts,
    metrics: Object.fromEntries(Object.entries(sums).map(([name, sum]) => [name, sum / rollouts])),
    byFamily: Object.fromEntries(kept),
  };
}
