/**
 * The hostile-input suite: inputs a user (or a damaged disk) can hand turnwise, each answered by a
 * one-line error that names what was wrong and what was expected, never a stack trace, and nothing
 * already written is changed. Other suites hold the hostile cases of their own module (search
 * queries, safetensors headers, HTTP requests); this one holds those of the command line, configs
 * and run directories.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
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

describe('hostile input: values of the command line (issue 15, item 6)', () => {
  const noTrace = (errors: string[]) => {
    for (const line of errors) expect(line).not.toMatch(/\n\s+at /);
    return errors[errors.length - 1] ?? '';
  };

  it.each([
    [['train', '--rl.steps=0x10'], /config key "rl\.steps": got "0x10"; .*expected number/],
    [['train', '--rl.steps=0b11'], /config key "rl\.steps": got "0b11"/],
    [['train', '--rl.concurrency=1e9'], /config key "rl\.concurrency": got 1000000000; .*<=4096/],
    [['train', '--task.model.contextLength=1e9'], /config key "task\.model\.contextLength": got 1000000000; .*<=32768/],
    [['train', '--model.contextLength=1e9'], /unknown config key "model" in override "--model\.contextLength=1e9"/],
    [
      ['train', '--name=../../../x'],
      /config key "name": got "\.\.\/\.\.\/\.\.\/x"; expected a name without \/, \\ or control/,
    ],
    [['train', '--name=a\nb'], /config key "name": got "a\\nb"; expected a name without/],
    [['train', '--foo=1'], /^turnwise train: Unknown option '--foo'.*--key\.path=value/],
    [['train', '--questionsPerStep=1e6'], /^turnwise train: Unknown option '--questionsPerStep'/],
    [['train', '--config'], /^turnwise train: Option '--config <value>' argument missing/],
  ])('%j is refused in one line before anything is built', async (argv, message) => {
    const cwd = process.cwd();
    const run = await runCaptured(argv as string[]);
    expect(run.code).toBe(2);
    expect(oneLine(run.errors)).toMatch(message as RegExp);
    expect(process.cwd()).toBe(cwd);
  });

  it('NaN and infinities in a YAML config are named as such, not as null', async () => {
    const file = join(temporary(), 'config.yaml');
    writeFileSync(file, 'rl:\n  temperature: .nan\n  steps: .inf\n');
    const run = await runCaptured(['train', '--config', file]);
    expect(run.code).toBe(2);
    const message = oneLine(run.errors);
    expect(message).toMatch(/config key "rl\.temperature": got NaN; /);
    expect(message).toMatch(/config key "rl\.steps": got Infinity; /);
  });

  it('a TypeScript config outside any ESM package loads through the real command (bin/turnwise.js)', () => {
    const dir = temporary();
    const file = join(dir, 'config.ts');
    writeFileSync(
      file,
      "const config: { rl: { steps: string } } = { rl: { steps: 'many' } };\nexport default config;\n",
    );
    const bin = fileURLToPath(new URL('../bin/turnwise.js', import.meta.url));
    const run = spawnSync(process.execPath, [bin, 'train', '--config', file], { cwd: dir, encoding: 'utf8' });
    expect(run.status).toBe(2);
    expect(run.stderr.trim()).toMatch(
      /^turnwise train: ConfigError: invalid config:\n\s+config key "rl\.steps": got "many"/,
    );
    expect(run.stderr).not.toMatch(/Cannot require\(\) ES Module|\n\s+at /);
  });

  it('--out naming a regular file is refused in one line, and the file is left as it was', async () => {
    const file = join(temporary(), 'notes.txt');
    writeFileSync(file, 'keep me\n');
    for (const argv of [
      ['eval', '--base', '--out', file],
      ['data', 'build', '--tier', 'S', '--out', file],
    ]) {
      const run = await runCaptured(argv);
      expect(run.code).toBe(2);
      expect(noTrace(run.errors)).toMatch(/ConfigError: --out ".*notes\.txt" is a file; expected a directory/);
    }
    expect(readFileSync(file, 'utf8')).toBe('keep me\n');
  });

  describe('on tier S data and a tiny warm start', () => {
    const root = temporary();
    const data = join(root, 'data');
    const bases = join(root, 'bases');
    const tiny = [
      '--task.tier=S',
      `--task.dir=${data}`,
      '--task.model.size=tiny',
      '--task.model.vocabSize=300',
      '--task.warmStart.pretrainSteps=1',
      '--task.warmStart.sftSteps=1',
      '--task.warmStart.demonstrations=8',
      '--task.warmStart.corpusCharacters=20000',
      `--task.warmStart.cacheDir=${bases}`,
    ];
    beforeAll(async () => {
      expect((await runCaptured(['data', 'build', '--tier', 'S', '--out', data, '--no-index'])).code).toBe(0);
    }, 120_000);

    it('rl.questionsPerStep beyond the training split is refused before the warm start', async () => {
      const run = await runCaptured(['train', ...tiny, '--rl.questionsPerStep=1e6', `--runDir=${join(root, 'q')}`]);
      expect(run.code).toBe(2);
      expect(noTrace(run.errors)).toMatch(
        /config key "rl\.questionsPerStep": got 1000000, more than the \d+ rows of the training split; expected/,
      );
      expect(existsSync(bases)).toBe(false);
    });

    it('a valid but short context is refused with the real longest prompt before the first round', async () => {
      const runDir = join(root, 'short');
      const run = await runCaptured(['train', ...tiny, '--task.model.contextLength=256', `--runDir=${runDir}`]);
      expect(run.code).toBe(2);
      const message = noTrace(run.errors);
      expect(message).toMatch(
        /ConfigError: the model's context holds 256 .*longest prompt \(\d+ tokens, \w+ row ".+"\) plus rl\.maxCompl/,
      );
      expect(Number(/longest prompt \((\d+) tokens/.exec(message)![1])).toBeGreaterThan(64);
      expect(existsSync(join(runDir, 'metrics.jsonl'))).toBe(false);
    }, 120_000);

    it('eval CHECKPOINT_DIR evaluates a model checkpoint (README), writing only into --out', async () => {
      await runCaptured(['train', ...tiny, '--task.model.contextLength=256', `--runDir=${join(root, 'base')}`]);
      const base = join(
        bases,
        readdirSync(bases).find((name) => existsSync(join(bases, name, 'base', 'config.json')))!,
        'base',
      );
      const before = readdirSync(base).sort();
      const out = join(root, 'eval-out');
      const run = await runCaptured([
        'eval',
        base,
        '--out',
        out,
        ...tiny,
        '--eval.questions=2',
        '--split=dev',
        '--mode=greedy',
      ]);
      expect(run.errors.join('\n')).not.toMatch(/unknown config keys|\n\s+at /);
      expect(run.code).toBe(0);
      expect(existsSync(join(out, 'eval', 'dev-greedy.json'))).toBe(true);
      expect(readdirSync(base).sort()).toEqual(before);
      const missing = await runCaptured(['eval', base]);
      expect(oneLine(missing.errors)).toMatch(/eval CHECKPOINT_DIR .* needs --out DIR/);
    }, 120_000);
  });
});
