/**
 * `turnwise credit RUN_DIR [--split dev] [--question N] [--estimator KIND]`: samples one group of
 * rollouts for one question from a run's latest checkpoint, scores it, and prints every rollout's
 * turns with their rewards and the advantage each token span received, followed by the credit
 * invariant check (the class of silent bugs where earlier turns get no credit).
 */
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { createEstimator, ESTIMATOR_KINDS } from '../advantage/create-estimator.js';
import { checkCreditInvariants } from '../advantage/credit-invariants.js';
import { inspectCredit, renderCreditTable } from '../advantage/credit-report.js';
import { ConfigError } from '../errors.js';
import { Random } from '../random.js';
import { collectGroups } from '../train/collect-groups.js';
import { checkBackendEnvironment } from '../backends/backend-config.js';
import { readRunConfig } from '../train/config-load.js';
import { openBackend } from '../train/pipeline.js';
import { runTasks, taskOf } from './tasks.js';
import { newestIntactCheckpoint } from '../train/run-state.js';
import type { Command } from './command.js';

const HELP = `usage: turnwise credit RUN_DIR [options]

Samples one group of rollouts of one question with the run's latest checkpoint and prints the
per-turn rewards and the advantage each turn's tokens received, then checks the credit invariants.

options:
  --split NAME        split to take the question from (default: dev)
  --question N        index of the question in the split (default: 0)
  --group-size G      rollouts in the group (default: the run's rl.groupSize)
  --estimator KIND    ${ESTIMATOR_KINDS.join(', ')} (default: the run's advantage.kind)
  --seed S            sampling seed (default: the run's seed)`;

function nonNegativeInteger(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0)
    throw new ConfigError(`${flag} must be a non-negative integer, got ${JSON.stringify(value)}`);
  return parsed;
}

export const command: Command = {
  summary: 'show the per-turn credit of one freshly sampled group from a run',
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        split: { type: 'string' },
        question: { type: 'string' },
        'group-size': { type: 'string' },
        estimator: { type: 'string' },
        seed: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    if (positionals.length !== 1) throw new ConfigError('credit needs one run directory; see `turnwise credit --help`');
    const runDir = positionals[0]!;
    const known = await runTasks(runDir);
    const config = readRunConfig(runDir, { tasks: known.tasks });
    const groupSize = nonNegativeInteger('--group-size', values['group-size'], config.rl.groupSize);
    if (groupSize < 1) throw new ConfigError('--group-size must be at least 1');
    // Another estimator than the run's comes with its own defaults.
    const advantage =
      values.estimator === undefined || values.estimator === config.advantage.kind
        ? config.advantage
        : { kind: values.estimator };
    const estimator = createEstimator(advantage);
    const seed = nonNegativeInteger('--seed', values.seed, config.seed);
    const index = nonNegativeInteger('--question', values.question, 0);
    const latest = await newestIntactCheckpoint(runDir, { log: (message) => console.error(message) });
    if (latest === undefined) throw new ConfigError(`${runDir} has no checkpoint yet (latest.json missing)`);

    checkBackendEnvironment(config.backend);
    const task = await taskOf(config, known.tasks).open(config, { log: (message) => console.error(message) });
    try {
      const rows = task.rows(values.split ?? 'dev');
      const row = rows[index];
      if (row === undefined)
        throw new ConfigError(
          `--question ${index} is out of range: split ${values.split ?? 'dev'} has ${rows.length} questions`,
        );
      const backend = await openBackend(config, {
        weightsFrom: latest.backendPath,
        checkpointDirectory: join(runDir, 'credit-scratch'),
        samplerSlots: groupSize + 8,
      });
      try {
        const [group] = await collectGroups({
          policy: backend.policy(),
          task,
          renderer: backend.renderer,
          rows_P: [row],
          groupSize,
          sampling: { temperature: config.rl.temperature, topK: config.rl.topK, topP: config.rl.topP },
          tokenBudget: config.rl.maxCompletionTokens,
          random: new Random(seed),
          concurrency: groupSize,
          sessionPrefix: 'credit',
        });
        const advantages_G_T = estimator.estimate(group!);
        console.log(`question: ${JSON.stringify((row as { question?: string }).question ?? task.rowId(row))}`);
        if (task.answers) console.log(`answers: ${task.answers(row).join(' | ')}`);
        console.log(renderCreditTable(inspectCredit(group!, advantages_G_T, { estimator })));
        const issues = checkCreditInvariants(group!, advantages_G_T, { estimator });
        return issues.some((issue) => issue.severity === 'error') ? 1 : 0;
      } finally {
        await backend.close();
      }
    } finally {
      task.close?.();
    }
  },
};
