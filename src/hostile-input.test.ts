/**
 * The hostile-input suite: inputs a user (or a damaged disk) can hand turnwise, each answered by a
 * one-line error that names what was wrong and what was expected, never a stack trace, and nothing
 * already written is changed. Other suites hold the hostile cases of their own module (search
 * queries, safetensors headers, HTTP requests); this one holds those of the command line, configs
 * and run directories.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCaptured } from './cli/run-captured.js';

const temporary = () => mkdtempSync(join(tmpdir(), 'turnwise-hostile-'));
const oneLine = (errors: string[]) => {
  expect(errors).toHaveLength(1);
  expect(errors[0]).not.toMatch(/\n\s+at /);
  return errors[0]!;
};

describe('hostile input: run directories', () => {
  it.each([
    ['not JSON', '{ "rl": '],
    ['JSON but not an object', '[1, 2, 3]'],
    ['an object of the wrong shape', '{ "rl": { "steps": "many" } }'],
  ])('a config.json that is %s is refused in one line, and left as it was', async (_what, text) => {
    const runDir = temporary();
    writeFileSync(join(runDir, 'config.json'), text);
    for (const argv of [
      ['train', '--resume', runDir],
      ['eval', runDir],
      ['credit', runDir],
    ]) {
      const run = await runCaptured(argv);
      expect(run.code).toBe(2);
      expect(oneLine(run.errors)).toMatch(/^turnwise (train|eval|credit): ConfigError: /);
    }
    expect(readFileSync(join(runDir, 'config.json'), 'utf8')).toBe(text);
  });

  it('a run directory without config.json is named', async () => {
    const runDir = temporary();
    const run = await runCaptured(['eval', runDir]);
    expect(oneLine(run.errors)).toMatch(/has no config\.json; is it a turnwise run\?/);
  });
});

describe('hostile input: the command line and config files', () => {
  it.each([
    [['train', '--task.name=chess'], /config key "task\.name": got "chess"; expected one of "search-qa"/],
    [['train', '--advantage.kind=ppo'], /advantage\.kind.*got "ppo"; expected one of "grpo-or"\|"grpo-mr"\|"mt-grpo"/],
    [['train', '--advantage.kind=grpo-or', '--advantage.lambda=1'], /unknown config key "advantage\.lambda"/],
    [['train', '--data.tier=S'], /unknown config key "data\.tier".*allowed keys under data: trainSplit, evalSplit/],
    [['train', '--task.warmStart.demoMix.great=1'], /unknown config key "task\.warmStart\.demoMix\.great"/],
    [['train', '--rl.steps'], /^turnwise train: Unknown option '--rl\.steps'.*--key\.path=value/],
    [['eval', '--split'], /^turnwise eval: Option '--split <value>' argument missing/],
    [['experiment', 'paper', 'extra', '--nope'], /^turnwise experiment: Unknown option '--nope'/],
    [['train', '--resume', '/nonexistent/run', '--task', 'x.ts'], /--resume loads the task module the run recorded/],
    [['train', '--task', '/nonexistent/task.ts'], /--task \/nonexistent\/task\.ts: no such file/],
  ])('%j is refused in one line naming the key', async (argv, message) => {
    const run = await runCaptured(argv as string[]);
    expect(run.code).toBe(2);
    expect(oneLine(run.errors)).toMatch(message as RegExp);
  });

  it('a config file whose task section has a key of another task is refused naming the allowed keys', async () => {
    const dir = temporary();
    mkdirSync(join(dir, 'c'));
    writeFileSync(join(dir, 'c', 'config.yaml'), 'task:\n  name: search-qa\n  depth: 3\n');
    const run = await runCaptured(['train', '--config', join(dir, 'c', 'config.yaml')]);
    expect(oneLine(run.errors)).toMatch(/unknown config key "task\.depth"; allowed keys under task: name, tier, dir/);
  });
});

describe('hostile input: turnwise export', () => {
  it('refuses a missing run, a run without a checkpoint, a tinker:// path without a service, in one line', async () => {
    const dir = temporary();
    const out = join(dir, 'out');
    const cases: Array<[string[], RegExp]> = [
      [['export', join(dir, 'missing'), '--out', out], /CheckpointError: run directory .*missing does not exist/],
      [['export', dir, '--out', out], /CheckpointError: run .* has no checkpoint \(no latest\.json\)/],
      [['export', 'tinker://run/sampler_weights/x', '--out', out], /needs the service URL \(--base-url URL\)/],
      [['export', 'tinker://run/other/x', '--out', out, '--base-url', 'http://127.0.0.1:9'], /not a Tinker checkpoint/],
      [['export', dir, '--out', out, '--base'], /^turnwise export: Option '--base <value>' argument missing/],
    ];
    for (const [argv, message] of cases) {
      const run = await runCaptured(argv);
      expect(run.code).toBe(2);
      expect(oneLine(run.errors)).toMatch(message);
    }
  });

  it('never replaces an existing --out without --overwrite', async () => {
    const dir = temporary();
    const out = join(dir, 'out');
    mkdirSync(out);
    writeFileSync(join(out, 'keep.txt'), 'mine');
    const run = await runCaptured(['export', dir, '--out', out]);
    expect(oneLine(run.errors)).toMatch(/--out .*out already exists; refusing to replace it/);
    expect(readFileSync(join(out, 'keep.txt'), 'utf8')).toBe('mine');
  });
});
