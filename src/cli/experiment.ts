/**
 * `turnwise experiment paper` (`npm run experiment:paper`): the paper's comparison. One warm-started
 * base; GRPO-OR, GRPO-MR and MT-GRPO trained from it with the same budget over several seeds; every
 * policy evaluated on the test split (sampled, as the paper evaluated) and, greedy and sampled, on it
 * and the held-out kinds and phrasings; the table in the paper's layout and the generalisation table
 * printed and saved with the report. Finished runs are skipped, so an interrupted
 * experiment continues where it stopped.
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import { formatGeneralisationTable } from '../report/generalisation-table.js';
import { formatPairedTable, pairedComparisons } from '../report/paired-test.js';
import { formatResultsTable } from '../report/results-table.js';
import { formatTrendTable } from '../report/training-trend.js';
import { loadRun } from '../report/run-data.js';
import { PAPER_RESULTS, writeReport } from '../report/write-report.js';
import { writeFileAtomicSync as writeFileAtomic } from '../engine/atomic-write.js';
import { ESTIMATOR_KINDS } from '../advantage/create-estimator.js';
import { checkBackendEnvironment } from '../backends/backend-config.js';
import { loadConfig, resolveConfig, writeResolvedConfig } from '../train/config-load.js';
import type { TrainConfig } from '../train/config.js';
import { evalFileName, familySubset, HELD_OUT_SPLITS, type EvalResult } from '../train/eval-result.js';
import { availableSplits } from '../train/evaluate.js';
import { HELD_OUT_FAMILIES } from '../tasks/search-qa/splits.js';
import { formatDuration } from '../train/progress.js';
import { evaluateInto, openBackend, startingPoint, stopOnSigint, trainRun } from '../train/pipeline.js';
import { TASKS, taskOf } from './tasks.js';
import { PAPER_PRESET } from '../tasks/search-qa/presets.js';
import { splitOverrides } from './cli-args.js';
import type { Command } from './command.js';

const HELP =
  'usage: turnwise experiment paper [--seeds 0,1,2] [--methods grpo-or,grpo-mr,mt-grpo] [--out DIR] ' +
  `[--split test] [--config FILE] [--key.path=value ...]

The paper's comparison: the warm-started base, then each method trained from it with the same
config and budget for every seed, evaluated on --split with sampled decoding (and greedy and sampled
on --split and the held-out kinds and phrasings, in a table of their own). Writes DIR/results.md
and DIR/report.html (default DIR: runs/paper). Re-running skips finished runs. --config FILE (and
the overrides) apply over the paper preset; with backend.kind=tinker the base is the service's
base model and every method trains a LoRA of it.`;

const LABELS: Record<string, string> = {
  'grpo-or': 'base + GRPO-OR',
  'grpo-mr': 'base + GRPO-MR',
  'mt-grpo': 'base + MT-GRPO',
};

export const command: Command = {
  summary: "the paper's comparison: base vs GRPO-OR, GRPO-MR and MT-GRPO over seeds",
  async run(args) {
    const { overrides, rest } = splitOverrides(args, ['seeds', 'methods', 'out', 'split', 'config']);
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: {
        seeds: { type: 'string' },
        methods: { type: 'string' },
        out: { type: 'string' },
        split: { type: 'string' },
        config: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    if (positionals[0] !== 'paper')
      throw new ConfigError(`unknown experiment ${JSON.stringify(positionals[0] ?? '')}; expected: paper`);
    const seeds = (values.seeds ?? '0,1,2').split(',').map(Number);
    if (seeds.some((seed) => !Number.isInteger(seed) || seed < 0))
      throw new ConfigError(
        `--seeds must be comma-separated non-negative integers, got ${JSON.stringify(values.seeds)}`,
      );
    const methods = (values.methods ?? 'grpo-or,grpo-mr,mt-grpo').split(',');
    for (const method of methods) {
      if (!ESTIMATOR_KINDS.includes(method))
        throw new ConfigError(
          `--methods entry ${JSON.stringify(method)} is not an estimator; ` +
            `expected one of ${ESTIMATOR_KINDS.join(', ')}`,
        );
    }
    const out = values.out ?? 'runs/paper';
    const split = values.split ?? 'test';
    const mode: EvalResult['mode'] = 'sampled';
    const log = (message: string) => console.error(message);
    const started = performance.now();
    const shared = await loadConfig({
      base: PAPER_PRESET as Record<string, unknown>,
      file: values.config,
      overrides,
      tasks: TASKS,
    });
    checkBackendEnvironment(shared.backend);
    const definition = taskOf(shared);
    const task = await definition.open(shared, { log });
    const stop = stopOnSigint(log);
    try {
      // The task's base (local: the warm start) or the remote base model (tinker): every method starts there.
      const { weightsFrom: baseDir, label: baseLabel } = await startingPoint(shared, definition, task, { log });
      // The table's split, sampled; beside it, greedy and sampled on it and on the held-out sets.
      const splits = [split, ...availableSplits(task, HELD_OUT_SPLITS).filter((name) => name !== split)];
      const modes: EvalResult['mode'][] = ['greedy', 'sampled'];
      const done = (runDir: string) =>
        splits.every((name) => modes.every((each) => existsSync(join(runDir, 'eval', evalFileName(name, each)))));

      const baseRun = join(out, 'base');
      if (!done(baseRun)) {
        const baseConfig: TrainConfig = { ...shared, name: 'base', runDir: baseRun };
        writeResolvedConfig(baseRun, baseConfig);
        const backend = await openBackend(baseConfig, {
          weightsFrom: baseDir,
          checkpointDirectory: join(baseRun, 'scratch'),
          samplerSlots: shared.rl.concurrency + 8,
        });
        await evaluateInto({
          runDir: baseRun,
          backend,
          task,
          config: baseConfig,
          splits,
          modes,
          checkpoint: baseLabel,
          log,
        });
        await backend.close();
      }
      for (const seed of seeds) {
        for (const method of methods) {
          if (stop.shouldStop()) break;
          const runDir = join(out, `${method}-seed${seed}`);
          if (done(runDir)) {
            log(`[experiment] ${runDir} is finished; skipping`);
            continue;
          }
          // Each method with its own estimator's defaults (the shared options only for the shared kind).
          const advantage = method === shared.advantage.kind ? shared.advantage : { kind: method };
          const config = resolveConfig({ ...shared, name: method, seed, runDir, advantage }, { tasks: TASKS });
          const resume = existsSync(join(runDir, 'latest.json'));
          const run = await trainRun(config, task, baseDir, { resume, shouldStop: stop.shouldStop });
          if (!run.stopped)
            await evaluateInto({
              runDir,
              backend: run.backend,
              task,
              config,
              splits,
              modes,
              checkpoint: run.checkpoint,
              log,
            });
          await run.backend.close();
        }
      }
      const runsOf = (method: string) => seeds.map((seed) => join(out, `${method}-seed${seed}`));
      const shortName = (method: string) => LABELS[method]?.replace(/^base \+ /, '') ?? method;
      const rows = [
        {
          model: 'base',
          results: loadRun(baseRun).evals.filter((result) => result.split === split && result.mode === mode),
        },
        ...methods.map((method) => ({
          model: LABELS[method] ?? method,
          results: seeds.flatMap((seed) => {
            const runDir = join(out, `${method}-seed${seed}`);
            return existsSync(runDir)
              ? loadRun(runDir).evals.filter((result) => result.split === split && result.mode === mode)
              : [];
          }),
        })),
      ];
      const table = formatResultsTable(rows);
      // The paper's test questions come from its training distribution; ours also hold out whole
      // question templates (two-hop bridges, flag -> country), so the same table without them too.
      const seen = rows.map((row) => ({
        model: row.model,
        results: row.results.flatMap(
          (result) => familySubset(result, (family) => !HELD_OUT_FAMILIES.has(family)) ?? [],
        ),
      }));
      const heldOut = rows.some((row) =>
        row.results.some((result) => Object.keys(result.byFamily).some((family) => HELD_OUT_FAMILIES.has(family))),
      );
      const seenTable = heldOut
        ? `\n\nWithout the template-held-out families (${[...HELD_OUT_FAMILIES].join(', ')}), ` +
          `i.e. the question kinds seen in training:\n\n${formatResultsTable(seen)}`
        : '';
      const generalisation = formatGeneralisationTable({
        models: [
          { name: 'base', results: loadRun(baseRun).evals },
          ...methods.map((method) => ({
            name: shortName(method),
            results: seeds.flatMap((seed) => {
              const runDir = join(out, `${method}-seed${seed}`);
              return existsSync(runDir) ? loadRun(runDir).evals : [];
            }),
          })),
        ],
        splits,
        modes,
      });
      // MT-GRPO against each other method question by question, and how each method's behaviour moved.
      const paired = methods.includes('mt-grpo')
        ? formatPairedTable(
            pairedComparisons({
              reference: { name: shortName('mt-grpo'), runDirs: runsOf('mt-grpo') },
              others: [
                ...methods
                  .filter((method) => method !== 'mt-grpo')
                  .map((method) => ({ name: shortName(method), runDirs: runsOf(method) })),
                { name: 'base', runDirs: [baseRun] },
              ],
              splits,
              modes,
            }),
          )
        : '';
      const trend = formatTrendTable(
        methods.map((method) => ({
          model: shortName(method),
          runs: runsOf(method)
            .filter((dir) => existsSync(join(dir, 'metrics.jsonl')))
            .map((dir) => loadRun(dir).metrics),
        })),
      );
      const pairedSection = paired
        ? `\n## Paired test over questions (exact match per question, averaged over seeds and samples; ` +
          `two-sided sign-flip permutation test)\n\n${paired}\n`
        : '';
      const trendSection = `\n## Behaviour over training (mean of the first and last tenth of the steps, over seeds)\n\n${trend}\n`;
      const wall = formatDuration((performance.now() - started) / 1000);
      const command =
        `turnwise experiment paper --seeds ${seeds.join(',')} --methods ${methods.join(',')}` +
        `${values.config ? ` --config ${values.config}` : ''}${overrides.length ? ` ${overrides.join(' ')}` : ''}`;
      writeFileAtomic(
        join(out, 'results.md'),
        `# The paper's comparison (${split} split, ${mode} decoding)\n\n${table}${seenTable}\n\n` +
          `## Held-out kinds and phrasings, greedy and sampled\n\n${generalisation}\n` +
          `${pairedSection}${trendSection}` +
          `\nCommand: \`${command}\`; wall time of this invocation: ${wall}.\n`,
      );
      writeReport(
        [
          baseRun,
          ...methods.flatMap((method) =>
            seeds
              .map((seed) => join(out, `${method}-seed${seed}`))
              .filter((dir) => existsSync(join(dir, 'config.json'))),
          ),
        ],
        join(out, 'report.html'),
        {
          title: "turnwise: the paper's comparison on search-QA",
          split,
          mode,
          referenceRows: PAPER_RESULTS,
        },
      );
      console.log(
        `\n${table}${seenTable}\n\n${generalisation}\n${pairedSection}${trendSection}\n` +
          `wall time ${wall}; ${join(out, 'results.md')}, ${join(out, 'report.html')}`,
      );
      return stop.shouldStop() ? 130 : 0;
    } finally {
      stop.dispose();
      task.close?.();
    }
  },
};
