/**
 * `turnwise train [--config FILE] [--base DIR] [--resume] [--eval] [--key.path=value ...]`: trains
 * a search agent with RL on the backend the config names: the local CPU engine from the
 * warm-started base (built and cached on first use), or a remote Tinker-protocol service from its
 * base model (`--backend.kind=tinker`); with progress, metrics, checkpoints, resume and Ctrl-C
 * handling.
 */
import { parseArgs } from 'node:util';
import { isAbsolute, join, resolve } from 'node:path';
import { BACKEND_CONNECTION_KEYS, checkBackendEnvironment } from '../backends/backend-config.js';
import { applyOverrides, describeConfig, loadConfig, readRunConfig, resolveConfig } from '../train/config-load.js';
import { resolveRunDir, type TrainConfig } from '../train/config.js';
import { checkQuestionsPerStep } from '../train/data-order.js';
import { evaluateInto, startingPoint, stopOnSigint, trainRun } from '../train/pipeline.js';
import { knownTasks, runTasks, taskOf, taskOverrides, type KnownTasks } from './tasks.js';
import { ConfigError } from '../errors.js';
import { writeFileAtomicSync as writeFileAtomic } from '../engine/atomic-write.js';
import { existsSync, readFileSync } from 'node:fs';
import { claimRunDir, storedPath } from '../train/run-dir.js';
import { splitOverrides } from './cli-args.js';
import type { Command } from './command.js';

const HELP =
  'usage: turnwise train [--config FILE] [--task MODULE] [--base DIR] [--resume RUN_DIR] [--eval] [--overwrite] ' +
  `[--key.path=value ...]

Trains a policy with RL (MT-GRPO by default) on the task the config names (task.name, default
search-qa). With the local backend (default) it starts from the task's base (for search-QA the
warm-started base: pretraining + SFT on imperfect demonstrations, cached under
task.warmStart.cacheDir); with --backend.kind=tinker a Tinker-protocol service (hosted Tinker, a SkyRL
server, turnwise serve) trains a LoRA of --backend.baseModel and no local base is built:

  export TINKER_API_KEY=...
  turnwise train --backend.kind=tinker --backend.baseUrl=URL --backend.baseModel=Qwen/Qwen3-8B \\
    --backend.tokenizerDir=DIR --backend.capabilities=hosted --rl.temperature=1

options:
  --config FILE     JSON, YAML or TS config file (dotted overrides win)
  --task MODULE     train a task of your own: a .ts/.js module exporting a TaskDefinition
                    (default export); its config section is task.*, validated by its schema
  --base DIR        start from this checkpoint directory instead of the warm start
                    (tinker: a path the service saved, tinker://...)
  --resume RUN_DIR  continue a run exactly from its latest checkpoint (uses the run's config.json;
                    only --backend.baseUrl/apiKeyEnv/requestTimeoutSeconds/retryAttempts/heartbeatSeconds/
                    requestDeadlineSeconds/futureDeadlineSeconds/pollTimeoutSeconds may change,
                    e.g. when the service moved)
  --eval            evaluate on the dev and test splits when training ends
  --overwrite       train into a run directory that already holds a run, deleting that run
                    (with --resume: accept --base DIR, rewriting the run's base.txt)
  --help-config     list every config key with its unit and default

Ctrl-C finishes the current round, saves a checkpoint and exits; resume with --resume.`;

/**
 * The config of a resumed run: its own config.json, where only the backend's connection settings
 * may be overridden (the service moved, another key variable); anything else would change the run.
 */
function resumedConfig(runDir: string, overrides: string[], known: KnownTasks): TrainConfig {
  const allowed = BACKEND_CONNECTION_KEYS.map((key) => `backend.${key}`);
  const refused = overrides.filter((override) => !allowed.includes(override.replace(/^--/, '').split('=')[0]!));
  if (refused.length > 0) {
    throw new ConfigError(
      `--resume continues ${runDir} with its own config.json; ` +
        `only ${allowed.map((key) => `--${key}`).join(', ')} may be given with it, got ${refused.join(' ')}`,
    );
  }
  const tasks = { tasks: known.tasks };
  return resolveConfig(applyOverrides(readRunConfig(runDir, tasks), overrides, tasks), tasks);
}

export const command: Command = {
  summary: 'train a search agent with RL (MT-GRPO) from the warm-started base or on a Tinker service',
  async run(args) {
    const { overrides, rest } = splitOverrides(args, ['config', 'task', 'base', 'resume', 'overwrite']);
    const { values } = parseArgs({
      args: rest,
      options: {
        config: { type: 'string' },
        task: { type: 'string' },
        base: { type: 'string' },
        resume: { type: 'string' },
        eval: { type: 'boolean' },
        overwrite: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        'help-config': { type: 'boolean' },
      },
    });
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    if (values['help-config']) {
      console.log(describeConfig({ tasks: (await knownTasks(values.task)).tasks }).join('\n'));
      return 0;
    }
    if (values.resume !== undefined && values.task !== undefined)
      throw new ConfigError(
        '--resume loads the task module the run recorded (taskModule in its config.json); leave --task out',
      );
    if (values.resume !== undefined && values.config !== undefined)
      throw new ConfigError(
        `--config ${values.config} cannot apply with --resume: the run continues with its own config.json`,
      );
    const known = values.resume !== undefined ? await runTasks(values.resume) : await knownTasks(values.task);
    const config =
      values.resume !== undefined
        ? resumedConfig(values.resume, overrides, known)
        : await loadConfig({ file: values.config, overrides: taskOverrides(known, overrides), tasks: known.tasks });
    const runDir = resolveRunDir(config);
    const log = (message: string) => console.error(message);
    const baseFile = join(runDir, 'base.txt');
    const savedBase =
      values.resume !== undefined && existsSync(baseFile)
        ? readFileSync(baseFile, 'utf8')
            .trim()
            .replace(/^.+$/, (line) => (isAbsolute(line) || line.includes('://') ? line : join(runDir, line)))
        : undefined;
    if (values.resume === undefined)
      claimRunDir(runDir, {
        overwrite: values.overwrite,
        what: 'run directory',
        instead: `continue it with --resume ${runDir}, train elsewhere with --runDir=DIR`,
      });
    else if (
      values.base !== undefined &&
      savedBase &&
      ![values.base, resolve(values.base)].includes(savedBase) &&
      !values.overwrite
    )
      throw new ConfigError(
        `--base ${values.base} cannot apply with --resume: ${runDir} started from ${savedBase} (base.txt); ` +
          'give --overwrite to rewrite base.txt (e.g. when that base moved)',
      );
    // A missing API key or tokenizer fails here, before any data is built.
    checkBackendEnvironment(config.backend);
    const definition = taskOf(config, known.tasks);
    const task = await definition.open(config, { log });
    try {
      checkQuestionsPerStep(config.rl.questionsPerStep, task.rows(config.data.trainSplit).length);
      const start = await startingPoint(config, definition, task, {
        base: values.base ?? (savedBase === '' ? undefined : savedBase),
        log,
      });
      const baseLine = `${start.weightsFrom === undefined ? '' : storedPath(start.weightsFrom, runDir, runDir)}\n`;
      if (!existsSync(baseFile) || readFileSync(baseFile, 'utf8') !== baseLine) writeFileAtomic(baseFile, baseLine);
      log(
        `[train] ${config.name}: ${config.advantage.kind}, ${config.rl.steps} steps, ` +
          `${config.backend.kind} backend, base ${start.label}, run ${runDir}`,
      );
      const stop = stopOnSigint(log);
      const result = await trainRun(config, task, start.weightsFrom, {
        resume: values.resume !== undefined,
        shouldStop: stop.shouldStop,
      });
      stop.dispose();
      log(
        `[train] ${result.stopped ? 'stopped' : 'finished'} at step ${result.steps}; checkpoint ${result.checkpoint}`,
      );
      if (values.eval && !result.stopped) {
        await evaluateInto({
          runDir,
          backend: result.backend,
          task,
          config,
          splits: [config.data.evalSplit, 'test'],
          modes: ['sampled'],
          checkpoint: result.checkpoint,
          log,
        });
      }
      await result.backend.close();
      return result.stopped ? 130 : 0;
    } finally {
      task.close?.();
    }
  },
};
