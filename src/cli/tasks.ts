/**
 * The tasks the `turnwise` commands can train and evaluate (`task.name` in a config): the bundled
 * search-QA task. A command loads configs with these definitions, so each task's own section is
 * validated by its own schema, and opens the task a config names through `taskOf`.
 */
import { ConfigError } from '../errors.js';
import { searchQaTaskDefinition } from '../tasks/search-qa/definition.js';
import type { TrainConfig } from '../train/config.js';
import type { TaskDefinition } from '../train/task.js';

/** Every task a config may name. */
export const TASKS: readonly TaskDefinition<any>[] = [searchQaTaskDefinition];

/** The definition of the task a resolved config names. */
export function taskOf(config: TrainConfig): TaskDefinition<any> {
  const definition = TASKS.find((task) => task.name === config.task.name);
  if (definition === undefined) throw new ConfigError(`config key "task.name": got ${JSON.stringify(config.task.name)}; expected one of ${TASKS.map((task) => JSON.stringify(task.name)).join(', ')}`);
  return definition;
}
