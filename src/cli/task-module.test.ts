import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readJsonLines, type StepMetrics } from '../train/metrics-log.js';
import { runCaptured } from './run-captured.js';

const MODULE = join(import.meta.dirname, '__fixtures__', 'sum-task.ts');

describe("turnwise train --task MODULE (a task of the user's own)", () => {
  const root = mkdtempSync(join(tmpdir(), 'turnwise-task-module-'));
  const runDir = join(root, 'run');
  const common = [
    '--rl.groupSize=2',
    '--rl.questionsPerStep=2',
    '--rl.mu=1',
    '--rl.maxCompletionTokens=24',
    '--rl.concurrency=4',
    '--eval.questions=2',
    '--checkpoint.every=1',
  ];

  it('trains with its own config section, records the module, and resume, eval and credit load it again', async () => {
    const train = await runCaptured([
      'train',
      '--task',
      MODULE,
      `--runDir=${runDir}`,
      `--task.baseDir=${join(root, 'base')}`,
      '--task.count=4',
      '--rl.steps=2',
      ...common,
    ]);
    expect(train.errors.join('\n')).toMatch(/\[train\] run: mt-grpo, 2 steps, local backend, base sum base/);
    expect(train.code).toBe(0);
    const config = JSON.parse(readFileSync(join(runDir, 'config.json'), 'utf8'));
    expect(config.taskModule).toBe(MODULE);
    expect(config.task).toEqual({ name: 'sum', count: 4, baseDir: join(root, 'base') });
    expect(readJsonLines<StepMetrics>(join(runDir, 'metrics.jsonl'))).toHaveLength(2);

    const resumed = await runCaptured(['train', '--resume', runDir]);
    expect(resumed.code).toBe(0);
    expect(resumed.errors.join('\n')).toMatch(/finished at step 2/);

    const evaluated = await runCaptured(['eval', runDir, '--split=dev', '--mode=greedy']);
    expect(evaluated.code).toBe(0);
    expect(existsSync(join(runDir, 'eval', 'dev-greedy.json'))).toBe(true);

    const credit = await runCaptured(['credit', runDir, '--split=dev', '--group-size=2']);
    expect(credit.out.join('\n')).toMatch(/credit of group dev-0 \(estimator mt-grpo, G = 2\)/);
  }, 300_000);

  it("refuses a module that is not there, exports no task, or takes a bundled task's name, in one line", async () => {
    const missing = await runCaptured(['train', '--task', join(root, 'nope.ts')]);
    expect(missing.code).toBe(2);
    expect(missing.errors).toEqual([
      expect.stringMatching(/^turnwise train: ConfigError: --task .*nope\.ts: no such file$/),
    ]);
    const empty = join(root, 'empty.mjs');
    writeFileSync(empty, 'export const something = 1;\n');
    const noTask = await runCaptured(['train', '--task', empty]);
    expect(noTask.errors).toEqual([expect.stringMatching(/exports no TaskDefinition; expected `export default`/)]);
    const clash = join(root, 'clash.mjs');
    writeFileSync(
      clash,
      "export default { name: 'search-qa', summary: '', configSchema: { safeParse() {} }, open() {} };\n",
    );
    expect((await runCaptured(['train', '--task', clash])).errors).toEqual([
      expect.stringMatching(/its name "search-qa" is a bundled task's/),
    ]);
    const broken = join(root, 'broken.mjs');
    writeFileSync(broken, 'export default {;\n');
    expect((await runCaptured(['train', '--task', broken])).errors).toEqual([
      expect.stringMatching(/^turnwise train: ConfigError: --task .*broken\.mjs could not be loaded: /),
    ]);
  });

  it("validates the module task's section with its own schema", async () => {
    const run = await runCaptured(['train', '--task', MODULE, '--task.count=1', `--runDir=${join(root, 'bad')}`]);
    expect(run.code).toBe(2);
    expect(run.errors.join('\n')).toMatch(/task\.count.*got 1/);
    const unknown = await runCaptured(['train', '--task', MODULE, '--task.tier=S']);
    expect(unknown.errors.join('\n')).toMatch(
      /unknown config key "task\.tier".*allowed keys under task: name, count, baseDir/,
    );
  });
});
