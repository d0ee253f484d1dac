/**
 * `turnwise demo` (`npm run demo`): the whole pipeline on this machine in one command: build the
 * tier-M data, warm-start a base, evaluate it, train it briefly with MT-GRPO, evaluate the trained
 * policy (dev, test and the held-out kinds and phrasings, greedy and sampled), write the HTML
 * report, and print the tables of base vs trained.
 */
import { parseArgs } from 'node:util';
import { ConfigError } from '../errors.js';
import { join } from 'node:path';
import { formatGeneralisationTable } from '../report/generalisation-table.js';
import { formatResultsTable } from '../report/results-table.js';
import { HELD_OUT_SPLITS, type EvalResult } from '../train/eval-result.js';
import { availableSplits } from '../train/evaluate.js';
import { writeReport } from '../report/write-report.js';
import { loadConfig, writeResolvedConfig } from '../train/config-load.js';
import { resolveRunDir } from '../train/config.js';
import { formatDuration } from '../train/progress.js';
import { claimRunDir } from '../train/run-dir.js';
import { evaluateInto, openBackend, startingPoint, stopOnSigint, trainRun } from '../train/pipeline.js';
import { DEMO_PRESET } from '../tasks/search-qa/presets.js';
import { TASKS, taskOf } from './tasks.js';
import { splitOverrides } from './cli-args.js';
import type { Command } from './command.js';

const HELP = `usage: turnwise demo [--out DIR] [--overwrite] [--key.path=value ...]

Builds the tier-M data (if missing), warm-starts a small base model (cached), evaluates it, trains
it with MT-GRPO for a few minutes, evaluates the result and writes DIR/report.html (default
runs/demo). A DIR holding an earlier demo is refused unless --overwrite replaces it. Config
overrides apply on top of the demo preset, e.g. --rl.steps=40.`;

export const command: Command = {
  summary: 'the whole pipeline in minutes: data, warm start, MT-GRPO, evaluation, report',
  async run(args) {
    const { overrides, rest } = splitOverrides(args, ['out']);
    const { values } = parseArgs({
      args: rest,
      options: { out: { type: 'string' }, overwrite: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    });
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    const started = performance.now();
    const out = values.out ?? 'runs/demo';
    const log = (message: string) => console.error(message);
    const config = await loadConfig({
      base: { ...DEMO_PRESET, runDir: join(out, 'mt-grpo-seed0') } as Record<string, unknown>,
      overrides,
      tasks: TASKS,
    });
    if (config.backend.kind !== 'local') {
      throw new ConfigError(
        `the demo trains the embedded CPU engine from a local warm start; backend.kind ` +
          `${config.backend.kind} is for \`turnwise train --backend.kind=${config.backend.kind}\``,
      );
    }
    // Both runs of an earlier demo are kept unless replacing them was asked for, before any work.
    for (const dir of [join(out, 'base'), resolveRunDir(config)])
      claimRunDir(dir, {
        overwrite: values.overwrite,
        what: 'the demo directory',
        instead: `keep it and write elsewhere with --out DIR`,
      });
    const phases: [string, number][] = [];
    let mark = performance.now();
    const phase = (name: string) => {
      const now = performance.now();
      phases.push([name, (now - mark) / 1000]);
      mark = now;
    };

    const definition = taskOf(config);
    const task = await definition.open(config, { log });
    try {
      phase('data');
      const { weightsFrom: baseDir } = await startingPoint(config, definition, task, { log });
      phase('warm start');

      const baseRun = join(out, 'base');
      const baseConfig = { ...config, name: 'base', runDir: baseRun };
      writeResolvedConfig(baseRun, baseConfig);
      const baseBackend = await openBackend(config, {
        weightsFrom: baseDir,
        checkpointDirectory: join(baseRun, 'scratch'),
        samplerSlots: config.rl.concurrency + 8,
      });
      // Test and the held-out sets (kinds and phrasings no training question uses), greedy and sampled.
      const splits = [config.data.evalSplit, 'test', ...availableSplits(task, HELD_OUT_SPLITS)];
      const modes: EvalResult['mode'][] = ['greedy', 'sampled'];
      const baseResults = await evaluateInto({
        runDir: baseRun,
        backend: baseBackend,
        task,
        config: baseConfig,
        splits,
        modes,
        checkpoint: baseDir!,
        log,
      });
      await baseBackend.close();
      phase('evaluate base');

      const stop = stopOnSigint(log);
      const run = await trainRun(config, task, baseDir, { shouldStop: stop.shouldStop });
      stop.dispose();
      phase(`MT-GRPO (${run.steps} steps)`);
      const trainedResults = await evaluateInto({
        runDir: run.runDir,
        backend: run.backend,
        task,
        config,
        splits,
        modes,
        checkpoint: run.checkpoint,
        log,
      });
      await run.backend.close();
      phase('evaluate trained');

      const reportPath = writeReport([baseRun, run.runDir], join(out, 'report.html'), {
        title: 'turnwise demo: MT-GRPO on search-QA (tier M)',
      });
      phase('report');
      const of = (results: EvalResult[], split: string, mode: string) =>
        results.filter((result) => result.split === split && result.mode === mode);
      const rows = splits.flatMap((split) =>
        modes.flatMap((mode) => [
          { model: `base (${split}, ${mode})`, results: of(baseResults, split, mode) },
          { model: `MT-GRPO (${split}, ${mode})`, results: of(trainedResults, split, mode) },
        ]),
      );
      console.log(`\n${formatResultsTable(rows)}\n`);
      const models = [
        { name: 'base', results: baseResults },
        { name: 'MT-GRPO', results: trainedResults },
      ];
      console.log(`${formatGeneralisationTable({ models, splits, modes })}\n`);
      console.log(`phases: ${phases.map(([name, seconds]) => `${name} ${formatDuration(seconds)}`).join(', ')}`);
      console.log(`total ${formatDuration((performance.now() - started) / 1000)}; report: ${reportPath}`);
      return 0;
    } finally {
      task.close?.();
    }
  },
};
