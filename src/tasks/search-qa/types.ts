/**
 * The data shapes of the search-QA task: corpus documents, question rows and the names of tiers,
 * splits and question families. Rows are validated with zod when they are read back from disk.
 */
import { z } from 'zod';
import { HELD_OUT_SPLITS } from '../../train/eval-result.js';

/** A corpus size: S for tests and CI (about 2k documents), M for training (about 85k documents). */
export type Tier = 'S' | 'M';

/** The three entity-disjoint splits. */
export const ENTITY_SPLITS = ['train', 'dev', 'test'] as const;

/** One of the entity-disjoint splits. */
export type EntitySplit = (typeof ENTITY_SPLITS)[number];

/**
 * The evaluation-only sets, made from test-split entities: question kinds no training template
 * asks (`heldout-kinds`) and the trained kinds in wordings no training template uses (`heldout-phrasings`).
 */
export const EVALUATION_SETS = HELD_OUT_SPLITS;

/** Every split a question row may name: the entity splits, then the evaluation sets. */
export const SPLITS = [...ENTITY_SPLITS, ...EVALUATION_SETS] as const;

/** One of the dataset splits (an entity split or an evaluation set). */
export type Split = (typeof SPLITS)[number];

/** One corpus document as stored in `corpus.jsonl`. */
export interface CorpusDocument {
  /** Stable id, `<source>:<key>` (e.g. `factbook:fr/Government`, `wordnet:09038411`, `elements:26`). */
  id: string;
  title: string;
  text: string;
  /** Where it came from (`factbook`, `wordnet`, `elements`, `kilt`, ...). */
  source: string;
}

/** Schema of one question row in `questions.jsonl`. */
export const QUESTION_ROW_SCHEMA = z.object({
  id: z.string().min(1),
  question: z.string().min(1),
  /** Every accepted surface form of the answer (the first is the canonical one). */
  answers: z.array(z.string().min(1)).min(1),
  /** The answers after TriviaQA normalisation (lower case, no punctuation or articles), deduplicated. */
  normalizedAnswers: z.array(z.string()).min(1),
  /** Question family, e.g. `capital`, `bridge_capital_highest`, `instance_reverse`, `triviaqa`. */
  family: z.string().min(1),
  /** The template the question text was generated from, with `{slots}`. */
  template: z.string(),
  /** Which source the question was made from. */
  source: z.string().min(1),
  /** The entity the question is about; splits are disjoint by entity. */
  entity: z.string().min(1),
  /** Ids of the corpus documents that contain the answer (empty when unknown). */
  gold: z.array(z.string()),
  /** Titles of gold documents, for corpora whose ids are not known when the question is made. */
  goldTitles: z.array(z.string()).optional(),
  split: z.enum(SPLITS),
});

/** One question with its answers, gold documents and split. */
export type QuestionRow = z.infer<typeof QUESTION_ROW_SCHEMA>;

/** A question before its split is assigned. */
export type QuestionDraft = Omit<QuestionRow, 'split' | 'normalizedAnswers' | 'id'> & { key: string };
