/**
 * `turnwise/search-qa`: the paper's task, a search agent over a local encyclopedia: the data built
 * offline from npm packages (or TriviaQA / KILT files), the SQLite FTS5 search index, the
 * `wiki_search` tool, the task's rubric, the task opener and its config section, the warm start that
 * stands in for a pretrained base on the CPU engine, and the presets of `turnwise demo` and
 * `turnwise experiment paper`.
 */
export { searchQaTaskDefinition } from './definition.js';
export {
  openSearchQaTask,
  SHORT_SYSTEM_PROMPT,
  type SearchQaTask,
  type SearchQaTaskOptions,
} from './search-qa-task.js';
export {
  searchQaConfigSchema,
  searchQaConfigOf,
  MODEL_PRESETS,
  type SearchQaConfig,
  type ModelSize,
} from './config.js';
export {
  HERMES_SYSTEM_PROMPT,
  HERMES_XML_FIELDS,
  ChatHermesFormat,
  hermesSearchCall,
  hermesSearchQaEnv,
  hermesSystemMessage,
  searchQaToolSpec,
} from './hermes-env.js';
export { upgradeLegacyConfig, isLegacyConfig } from './legacy-config.js';
export { DEMO_PRESET, PAPER_PRESET } from './presets.js';
export {
  warmStart,
  warmStartKey,
  cachedBase,
  modelConfigOf,
  FORMAT_TOKENS,
  HERMES_FORMAT_TOKENS,
  type WarmStartResult,
  type WarmStartSummary,
} from './warm-start.js';
export { buildSearchQaData, type SearchQaManifest, type BuildSearchQaDataOptions } from './build-data.js';
export { loadSearchQaDataset } from './dataset.js';
export { findLeaks, type Leak, type TrainingSide, type EvaluationSide } from './leak-check.js';
export { HELD_OUT_KIND_TEMPLATES, HELD_OUT_KIND_FAMILIES } from './questions/held-out-kinds.js';
export { HELD_OUT_PHRASINGS } from './questions/held-out-phrasings.js';
export { TRAINING_PHRASINGS } from './questions/training-phrasings.js';
export { defaultDataDir } from './data-files.js';
export { openSearchIndex, type SearchIndex, type SearchHit, type SearchOptions } from './search-index.js';
export {
  createWikiSearchTool,
  DEFAULT_EMPTY_MESSAGE,
  type WikiSearchOptions,
  type WikiSearchTool,
} from './wiki-search-tool.js';
export { createRemoteRetrieverTool, type RemoteRetrieverOptions } from './remote-retriever-tool.js';
export { createSearchQaRubric, goldSearchAnswerReward, type SearchQaRubricOptions } from './task-rubric.js';
export { readTriviaQa } from './loaders/triviaqa.js';
export { importKiltWikipedia } from './loaders/kilt-wikipedia.js';
export type { QuestionRow, CorpusDocument, Tier, Split } from './types.js';
export { EVALUATION_SETS } from './types.js';
