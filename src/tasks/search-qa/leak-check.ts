/**
 * The leak check of the evaluation questions: nothing the model is evaluated on may reach its
 * training. Given what training sees (the training split's rows, the warm start's demonstration
 * and pretraining texts) and what evaluation asks (test, held-out kinds, held-out phrasings), it
 * lists every leak: an evaluation question text inside a training text, an evaluation entity that
 * is also a training entity, a training question written in a held-out wording (its template, or
 * a filling of it), a held-out question kind among the training families.
 */
import { matchTemplate } from './questions/template-pattern.js';
import { matchKey } from './text-match.js';
import type { QuestionRow } from './types.js';

/** What training sees. */
export interface TrainingSide {
  /** Rows trained on (RL's training split, the demonstrations' rows). */
  rows: ReadonlyArray<Pick<QuestionRow, 'id' | 'question' | 'entity' | 'family' | 'template'>>;
  /** Free texts trained on: demonstration replies, pretraining and tokenizer texts. */
  texts: readonly string[];
}

/** What evaluation asks. */
export interface EvaluationSide {
  rows: ReadonlyArray<Pick<QuestionRow, 'id' | 'question' | 'entity' | 'family' | 'split'>>;
  /** Wordings no training question may use (templates with `{slots}`). */
  heldOutWordings: readonly string[];
  /** Question families no training row may belong to. */
  heldOutFamilies: ReadonlySet<string>;
}

/** One leak, described in a line. */
export interface Leak {
  kind: 'question' | 'entity' | 'wording' | 'family';
  detail: string;
}

/** Every leak of evaluation into training (empty when the split is clean). */
export function findLeaks(training: TrainingSide, evaluation: EvaluationSide): Leak[] {
  const leaks: Leak[] = [];
  const trainQuestions = new Map(training.rows.map((row) => [normalize(row.question), row.id]));
  const trainEntities = new Map(training.rows.map((row) => [matchKey(row.entity), row.id]));
  // One lower-cased haystack of the free texts: a question inside any of them is found by one scan.
  const haystack = training.texts.map(normalize).join('\n');
  for (const row of evaluation.rows) {
    const question = normalize(row.question);
    const sameQuestion = trainQuestions.get(question);
    if (sameQuestion !== undefined)
      leaks.push({ kind: 'question', detail: `${row.split} ${row.id} is training row ${sameQuestion}` });
    else if (haystack.includes(question))
      leaks.push({ kind: 'question', detail: `${row.split} ${row.id} appears in a training text` });
    const sameEntity = trainEntities.get(matchKey(row.entity));
    if (sameEntity !== undefined)
      leaks.push({
        kind: 'entity',
        detail: `${row.split} ${row.id} asks about ${JSON.stringify(row.entity)}, as training row ${sameEntity} does`,
      });
  }
  const wordings = [...new Set(evaluation.heldOutWordings)];
  const trainTemplates = new Set(training.rows.map((row) => normalize(row.template)));
  for (const wording of wordings) {
    if (trainTemplates.has(normalize(wording)))
      leaks.push({ kind: 'wording', detail: `the held-out wording ${JSON.stringify(wording)} is a training template` });
  }
  for (const row of training.rows) {
    const wording = wordings.find((candidate) => matchTemplate(candidate, row.question) !== undefined);
    if (wording !== undefined)
      leaks.push({
        kind: 'wording',
        detail: `training row ${row.id} is worded as the held-out ${JSON.stringify(wording)}`,
      });
    if (evaluation.heldOutFamilies.has(row.family))
      leaks.push({ kind: 'family', detail: `training row ${row.id} is of the held-out kind ${row.family}` });
  }
  return leaks;
}

function normalize(text: string): string {
  return text.toLowerCase().replace(/\s+/g, ' ').trim();
}
