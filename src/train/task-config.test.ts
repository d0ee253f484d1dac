import { describe, expect, it } from 'vitest';
import { searchQaTaskDefinition } from '../tasks/search-qa/definition.js';
import { DEMO_PRESET } from '../tasks/search-qa/presets.js';
import { applyOverrides, describeConfig, loadConfig, resolveConfig } from './config-load.js';

const tasks = [searchQaTaskDefinition];

describe('the task section of the training config', () => {
  it("is validated by the named task's own schema, defaults filled", () => {
    const config = resolveConfig({ task: { name: 'search-qa', tier: 'S' } }, { tasks });
    expect(config.task).toMatchObject({
      name: 'search-qa',
      tier: 'S',
      searchTopK: 1,
      model: { size: 'small' },
      warmStart: { demoMix: { good: 0.35 } },
    });
    expect(() => resolveConfig({ task: { tier: 'XL' } }, { tasks })).toThrow(/task\.tier.*got "XL"/);
    expect(() => resolveConfig({ task: { bogus: 1 } }, { tasks })).toThrow(
      /unknown config key "task\.bogus".*allowed keys under task: name, tier, dir/,
    );
    expect(() => applyOverrides({}, ['--task.warmStart.sftStep=3'], { tasks })).toThrow(
      /unknown config key "task\.warmStart\.sftStep".*allowed keys under task\.warmStart: seed, corpusCharacters/,
    );
  });

  it('names the known tasks when task.name is not one of them', async () => {
    expect(() => resolveConfig({ task: { name: 'chess' } }, { tasks })).toThrow(
      /config key "task\.name": got "chess"; expected one of "search-qa"/,
    );
    await expect(loadConfig({ overrides: ['--task.name=chess', '--task.depth=3'], tasks })).rejects.toThrow(
      /got "chess"; expected one of "search-qa"/,
    );
  });

  it("passes the section through unvalidated when no task definitions are given (a library user's own task)", () => {
    expect(resolveConfig({ task: { name: 'mine', rows: 12 } }).task).toEqual({ name: 'mine', rows: 12 });
  });

  it('takes dotted overrides into the task section with the type each field expects', async () => {
    const config = await loadConfig({
      base: DEMO_PRESET as Record<string, unknown>,
      overrides: ['--task.tier=S', '--task.dir=/tmp/data', '--task.warmStart.sftSteps=7', '--task.model.size=tiny'],
      tasks,
    });
    expect(config.task).toMatchObject({
      tier: 'S',
      dir: '/tmp/data',
      model: { size: 'tiny', vocabSize: 1024 },
      warmStart: { sftSteps: 7, pretrainSteps: 3000 },
    });
  });

  it('has no search-QA field outside it', () => {
    const config = resolveConfig({}, { tasks });
    expect(Object.keys(config).sort()).toEqual([
      'advantage',
      'backend',
      'checkpoint',
      'data',
      'eval',
      'log',
      'loss',
      'name',
      'optim',
      'rl',
      'runDir',
      'seed',
      'task',
      'taskModule',
    ]);
    expect(config.data).toEqual({ trainSplit: 'train', evalSplit: 'dev' });
  });
});

describe("the advantage section: the estimators' own schema", () => {
  it('fills the defaults of the kind it names and refuses the options of another kind', () => {
    expect(resolveConfig({ advantage: { kind: 'mt-grpo-k' } }).advantage).toEqual({ kind: 'mt-grpo-k', alpha: 1 });
    expect(() => resolveConfig({ advantage: { kind: 'grpo-or', lambda: 1 } })).toThrow(
      /unknown config key "advantage\.lambda"/,
    );
    expect(() => resolveConfig({ advantage: { kind: 'mt-grpo', lambda: -1 } })).toThrow(/advantage\.lambda.*got -1/);
  });

  it('starts the section afresh when an override switches the kind, in any order', async () => {
    const base = DEMO_PRESET as Record<string, unknown>;
    expect((await loadConfig({ base, overrides: ['--advantage.kind=grpo-or'] })).advantage).toEqual({
      kind: 'grpo-or',
    });
    expect(
      (await loadConfig({ base, overrides: ['--advantage.alpha=0.5', '--advantage.kind=mt-grpo-k'] })).advantage,
    ).toEqual({ kind: 'mt-grpo-k', alpha: 0.5 });
    expect(
      (await loadConfig({ base, overrides: ['--advantage.kind=mt-grpo', '--advantage.lambda=0.25'] })).advantage,
    ).toEqual({ kind: 'mt-grpo', lambda: 0.25 });
    await expect(loadConfig({ base, overrides: ['--advantage.kind=grpo-mr', '--advantage.lambda=2'] })).rejects.toThrow(
      /unknown config key "advantage\.lambda"/,
    );
  });

  it("documents every option under the kind it belongs to, and each task's own section", () => {
    const lines = describeConfig({ tasks });
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^ {2}--advantage\.kind=\.\.\. .*\(grpo-or \| grpo-mr \| mt-grpo \| mt-grpo-k \| rloo \| dr-grpo\)$/,
      ),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(/--advantage\.lambda=\.\.\. .*default 1 \[advantage\.kind=mt-grpo\]/),
    );
    expect(lines).toContainEqual(expect.stringMatching(/^task search-qa: /));
    expect(lines).toContainEqual(expect.stringMatching(/--task\.warmStart\.demoMix\.good=\.\.\. .*default 0\.35/));
    expect(lines.filter((line) => line.startsWith('  --')).every((line) => /default/.test(line))).toBe(true);
  });
});
