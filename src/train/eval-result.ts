/**
 * The shape of an evaluation result as written to `<runDir>/eval/<split>-<mode>.json` by
 * `turnwise eval` and read by the report and the paper comparison.
 */

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
