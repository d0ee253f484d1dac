/**
 * The search-QA task as the config and the CLI name it (`task.name: search-qa`): its config
 * section, how a resolved config opens it, the warm-started base a local-engine run starts from,
 * and the upgrade of run configs written before tasks had their own section.
 */
import { ConfigError } from '../../errors.js';
import type { TaskDefinition } from '../../train/task.js';
import { searchQaConfigOf, searchQaConfigSchema } from './config.js';
import { upgradeLegacyConfig } from './legacy-config.js';
import { openSearchQaTask, type SearchQaTask } from './search-qa-task.js';
import type { QuestionRow } from './types.js';
import { warmStart } from './warm-start.js';

/** The search-QA task definition. */
export const searchQaTaskDefinition: TaskDefinition<QuestionRow> = {
  name: 'search-qa',
  summary:
    "the paper's search agent: wiki_search over a local encyclopedia (CIA World Factbook, WordNet, the elements)",
  configSchema: searchQaConfigSchema,
  open(config, { log }) {
    const section = searchQaConfigOf(config);
    return openSearchQaTask({
      tier: section.tier,
      dir: section.dir,
      tool: { k: section.searchTopK, maxCharacters: section.resultCharBudget, window: section.resultWindow },
      maxToolCalls: section.maxToolCalls,
      systemPrompt: section.systemPrompt,
      format: section.format,
      trainingPhrasings: section.trainingPhrasings,
      trainRowsPerFamily: section.trainRowsPerFamily,
      onProgress: (message) => log(`[data] ${message}`),
    });
  },
  async localBase(config, task, { log }) {
    const { model } = searchQaConfigOf(config);
    if (model.contextLength < 64 + config.rl.maxCompletionTokens) {
      throw new ConfigError(
        `task.model.contextLength ${model.contextLength} leaves no room for ` +
          `the prompt plus rl.maxCompletionTokens ${config.rl.maxCompletionTokens}`,
      );
    }
    const warm = await warmStart({ config, task: task as SearchQaTask, log });
    return { checkpoint: warm.baseDir, label: warm.baseDir };
  },
  upgradeConfig: upgradeLegacyConfig,
};
