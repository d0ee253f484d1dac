/**
 * `turnwise eval RUN_DIR [--split dev,test] [--mode greedy,sampled] [--questions N]` or
 * `turnwise eval --base [--config FILE] [overrides] --out DIR`: evaluates a run's latest
 * checkpoint (or the base: the warm start, or a tinker config's remote base model) on the backend
 * the config names, and prints the reward components per split, mode and question family, and exact
 * match per split and mode (the held-out sets beside test when the task has them); results
 * go to `<dir>/eval/<split>-<mode>.json`.
 */
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import { formatResultsTable } from '../report/results-table.js';
import { applyOverrides, loadConfig, readRunConfig, resolveConfig, writeResolvedConfig } from '../train/config-load.js';
import type { TrainConfig } from '../train/config.js';
import { HELD_OUT_SPLITS, type EvalResult } from '../train/eval-result.js';
import { availableSplits } from '../train/evaluate.js';
import { formatGeneralisationTable } from '../report/generalisation-table.js';
import { checkBackendEnvironment } from '../backends/backend-config.js';
import { evaluateInto, openBackend, startingPoint } from '../train/pipeline.js';
import { knownTasks, runTasks, taskOf, taskOverrides, type KnownTasks } from './tasks.js';
import { newestIntactCheckpoint } from '../train/run-state.js';
import { claimRunDir } from '../train/run-dir.js';
import { checkOutputDirectory, splitOverrides } from './cli-args.js';
import type { Command } from './command.js';

const HELP = `usage: turnwise eval RUN_DIR [options]
       turnwise eval CHECKPOINT_DIR --out DIR [--config FILE] [--task MODULE] [--key.path=value ...]
       turnwise eval --base --out DIR [--config FILE] [--task MODULE] [--key.path=value ...]

options:
  --split LIST       comma-separated splits (default: dev,test and the held-out sets the task has:
                     heldout-kinds, heldout-phrasings)
  --mode LIST        greedy, sampled or both (default: greedy,sampled)
  --questions N      questions per split (default: eval.questions of the config)
  --families         also print the per-family table
  --config FILE      with --base: the config whose base is evaluated (a run's own config.json names
                     that run's base, e.g. the demo's); without it, the base of the default recipe
  --overwrite        with --base: write into an --out DIR that already holds a run, deleting it
  --key.path=value   override the run's config (or the base's), e.g. --backend.baseUrl=URL for a
                     run trained on a Tinker service that moved`;

/** True for a model checkpoint directory: its config.json is a Hugging Face model config, not a run's. */
function isModelCheckpoint(directory: string): boolean {
  try {
    const config = JSON.parse(readFileSync(join(directory, 'config.json'), 'utf8')) as Record<string, unknown>;
    return typeof config === 'object' && config !== null && ('model_type' in config || 'architectures' in config);
  } catch {
    return false;
  }
}

/** Prints per-family rows of one evaluation. */
function familyTable(result: EvalResult): string {
  const rows = Object.entries(result.byFamily).map(([family, entry]) => ({
    model: `${family} (${entry.count})`,
    results: [{ ...result, metrics: entry.metrics }],
  }));
  return formatResultsTable(rows);
}

export const command: Command = {
  summary: 'evaluate a run (or the base) on dev/test with greedy and sampled decoding',
  async run(args) {
    const { overrides, rest } = splitOverrides(args, [
      'config',
      'task',
      'out',
      'split',
      'mode',
      'questions',
      'overwrite',
    ]);
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: {
        base: { type: 'boolean' },
        out: { type: 'string' },
        config: { type: 'string' },
        task: { type: 'string' },
        split: { type: 'string' },
        mode: { type: 'string' },
        questions: { type: 'string' },
        families: { type: 'boolean' },
        overwrite: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    const modes = (values.mode ?? 'greedy,sampled').split(',') as EvalResult['mode'][];
    for (const mode of modes)
      if (mode !== 'greedy' && mode !== 'sampled')
        throw new ConfigError(`--mode entries must be greedy or sampled, got ${JSON.stringify(mode)}`);
    const requested = values.split?.split(',');
    const log = (message: string) => console.error(message);
    let runDir: string;
    let config: TrainConfig;
    let checkpoint: string | undefined;
    let known: KnownTasks;
    // A model checkpoint (its config.json is the model's) is evaluated as a base, from that directory.
    const checkpointDir =
      !values.base && positionals.length === 1 && isModelCheckpoint(positionals[0]!) ? positionals[0] : undefined;
    if (values.base || checkpointDir !== undefined) {
      const what = checkpointDir === undefined ? '--base' : `CHECKPOINT_DIR ${checkpointDir}`;
      if (values.out === undefined)
        throw new ConfigError(`eval ${what} needs --out DIR (where the evaluation is written)`);
      checkOutputDirectory(values.out, '--out');
      known = await knownTasks(values.task);
      // --out is where this evaluation runs, so a run's own config.json (runDir ".") names its base here.
      config = await loadConfig({
        file: values.config,
        overrides: taskOverrides(known, [...overrides, '--name=base', `--runDir=${values.out}`]),
        tasks: known.tasks,
      });
      runDir = values.out;
      claimRunDir(runDir, {
        overwrite: values.overwrite,
        what: 'eval --out',
        instead: 'evaluate that run with `turnwise eval DIR`, or give another --out',
      });
      writeResolvedConfig(runDir, config);
      checkpoint = undefined;
    } else {
      if (positionals.length !== 1)
        throw new ConfigError('eval needs one run directory (or --base); see `turnwise eval --help`');
      runDir = positionals[0]!;
      // Overrides apply to the run's own config (e.g. --backend.baseUrl=... when the service moved).
      if (values.task !== undefined)
        throw new ConfigError(
          'eval RUN_DIR loads the task module the run recorded (taskModule in its config.json); leave --task out',
        );
      known = await runTasks(runDir);
      const tasks = { tasks: known.tasks };
      config = resolveConfig(applyOverrides(readRunConfig(runDir, tasks), overrides, tasks), tasks);
      const latest = await newestIntactCheckpoint(runDir, { log });
      if (latest === undefined) throw new ConfigError(`${runDir} has no checkpoint yet (latest.json missing)`);
      checkpoint = latest.backendPath;
    }
    if (values.questions !== undefined) {
      const questions = Number(values.questions);
      if (!Number.isInteger(questions) || questions < 1)
        throw new ConfigError(`--questions must be a positive integer, got ${JSON.stringify(values.questions)}`);
      config = { ...config, eval: { ...config.eval, questions } };
    }
    checkBackendEnvironment(config.backend);
    const definition = taskOf(config, known.tasks);
    const task = await definition.open(config, { log });
    try {
      const splits = requested ?? ['dev', 'test', ...availableSplits(task, HELD_OUT_SPLITS)];
      // The base: the task's own (local) or the remote base model (tinker); a run: its latest checkpoint.
      let label = checkpoint ?? '';
      if (values.base || checkpointDir !== undefined) {
        const base = checkpointDir !== undefined ? { base: checkpointDir } : {};
        ({ weightsFrom: checkpoint, label } = await startingPoint(config, definition, task, { ...base, log }));
      }
      const backend = await openBackend(config, {
        weightsFrom: checkpoint,
        checkpointDirectory: join(runDir, 'eval-scratch'),
        samplerSlots: config.rl.concurrency + 8,
      });
      const results = await evaluateInto({ runDir, backend, task, config, splits, modes, checkpoint: label, log });
      await backend.close();
      console.log(
        formatResultsTable(
          results.map((result) => ({ model: `${config.name} ${result.split}/${result.mode}`, results: [result] })),
        ),
      );
      console.log(`\n${formatGeneralisationTable({ models: [{ name: config.name, results }], splits, modes })}`);
      if (values.families)
        for (const result of results)
          console.log(`\n${result.split}/${result.mode} by family:\n${familyTable(result)}`);
      return 0;
    } finally {
      task.close?.();
    }
  },
};
