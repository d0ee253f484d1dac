/**
 * The hostile-input suite: inputs a user (or a damaged disk) can hand turnwise, each answered by a
 * one-line error that names what was wrong and what was expected, never a stack trace, and nothing
 * already written is changed. Other suites hold the hostile cases of their own module (search
 * queries, safetensors headers, HTTP requests: `turnwise serve`'s bounds, authentication and weights
 * root are in src/backends/server/server-hostile.test.ts); this one holds those of the command line,
 * configs and run directories.
 */
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCaptured } from './cli/run-captured.js';
import { encodeSafetensors, readSafetensors } from './engine/safetensors.js';
import { openSearchIndex } from './tasks/search-qa/search-index.js';

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
    [['train', '--task.trainingPhrasings=many'], /task\.trainingPhrasings.*got "many"; .*one of "template"\|"varied"/],
    [['train', '--task.resultWindow=middle'], /task\.resultWindow.*got "middle"; .*one of "start"\|"query"/],
    [['train', '--task.trainRowsPerFamily=-3'], /config key "task\.trainRowsPerFamily": .*>=0/],
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

const SUM_TASK = join(import.meta.dirname, 'cli', '__fixtures__', 'sum-task.ts');
const SUM_RUN = [
  '--rl.groupSize=2',
  '--rl.questionsPerStep=2',
  '--rl.mu=1',
  '--rl.maxCompletionTokens=24',
  '--rl.concurrency=4',
  '--eval.questions=2',
  '--checkpoint.every=1',
  '--task.count=4',
];

/** Every file under `dir` with its bytes, to show that nothing in it changed. */
const snapshot = (dir: string): Record<string, string> =>
  Object.fromEntries(
    (readdirSync(dir, { recursive: true }) as string[])
      .filter((entry) => statSync(join(dir, entry)).isFile())
      .sort()
      .map((entry) => [entry, readFileSync(join(dir, entry)).toString('base64')]),
  );

describe('hostile input: a run directory is the run (issue 15 items 1, 2, 4)', () => {
  const root = temporary();
  const original = join(root, 'original');
  /** A fresh copy of the finished two-step run, checkpoints at steps 1 and 2. */
  const copyRun = (name: string) => {
    const dir = join(root, name);
    cpSync(original, dir, { recursive: true });
    return dir;
  };

  beforeAll(async () => {
    const run = await runCaptured([
      'train',
      '--task',
      SUM_TASK,
      `--runDir=${original}`,
      `--task.baseDir=${join(root, 'base')}`,
      '--rl.steps=2',
      ...SUM_RUN,
    ]);
    expect(run.code).toBe(0);
  }, 120_000);

  it('1: a moved run resumes and evaluates where it now is, and the old place is not recreated', async () => {
    const moved = join(root, 'moved');
    renameSync(copyRun('to-move'), moved);
    const resumed = await runCaptured(['train', '--resume', moved]);
    expect(resumed.code).toBe(0);
    expect(resumed.errors.join('\n')).toMatch(/finished at step 2/);
    expect(resumed.errors.join('\n')).toContain(`run ${moved}`);
    expect(existsSync(join(root, 'to-move'))).toBe(false);
    expect(JSON.parse(readFileSync(join(moved, 'latest.json'), 'utf8')).checkpoint).toBe(
      'checkpoints/step-000002.trainer.json',
    );
  });

  it('1: resuming or evaluating a copy reads and writes only the copy, even with the original gone', async () => {
    const copy = copyRun('copy');
    const before = snapshot(original);
    expect((await runCaptured(['train', '--resume', copy])).code).toBe(0);
    expect(snapshot(original)).toEqual(before);
    const away = join(root, 'original-away');
    renameSync(original, away);
    try {
      const evaluated = await runCaptured(['eval', copy, '--split=dev', '--mode=greedy']);
      expect(evaluated.code).toBe(0);
      expect(existsSync(join(copy, 'eval', 'dev-greedy.json'))).toBe(true);
      expect(existsSync(original)).toBe(false);
    } finally {
      renameSync(away, original);
    }
  });

  it('1: a run written with absolute paths by an older turnwise still loads where it now is', async () => {
    const dir = copyRun('old-format');
    const gone = '/nonexistent/old/run/checkpoints';
    writeFileSync(
      join(dir, 'latest.json'),
      JSON.stringify({ step: 2, checkpoint: `${gone}/step-000002.trainer.json`, backendPath: `${gone}/step-000002` }),
    );
    const statePath = join(dir, 'checkpoints', 'step-000002.trainer.json');
    const state = JSON.parse(readFileSync(statePath, 'utf8'));
    writeFileSync(statePath, JSON.stringify({ ...state, backendPath: `${gone}/step-000002` }));
    const evaluated = await runCaptured(['eval', dir, '--split=dev', '--mode=greedy']);
    expect(evaluated.code).toBe(0);
    expect(evaluated.out.join('\n')).toMatch(/dev\/greedy/);
  });

  it('2: training into a run directory that holds a run is refused unless --overwrite', async () => {
    const dir = copyRun('used');
    const before = snapshot(dir);
    const argv = ['train', '--task', SUM_TASK, `--runDir=${dir}`, `--task.baseDir=${join(root, 'base')}`, ...SUM_RUN];
    const refused = await runCaptured([...argv, '--rl.steps=1']);
    expect(refused.code).toBe(2);
    expect(oneLine(refused.errors)).toMatch(/already holds a run \(config\.json.*--resume .*--overwrite/);
    expect(snapshot(dir)).toEqual(before);
    const overwritten = await runCaptured([...argv, '--rl.steps=1', '--overwrite']);
    expect(overwritten.code).toBe(0);
    expect(readdirSync(join(dir, 'checkpoints'))).toEqual(['step-000001', 'step-000001.trainer.json']);
  });

  it('2: eval --base --out onto a run is refused, leaving its config.json', async () => {
    const dir = copyRun('eval-out');
    const before = snapshot(dir);
    const run = await runCaptured([
      'eval',
      '--base',
      '--task',
      SUM_TASK,
      '--out',
      dir,
      '--task.count=4',
      `--task.baseDir=${join(root, 'base')}`,
    ]);
    expect(run.code).toBe(2);
    expect(oneLine(run.errors)).toMatch(/^turnwise eval: ConfigError: eval --out .* already holds a run/);
    expect(snapshot(dir)).toEqual(before);
  });

  it("eval --base --config with a run's own config.json evaluates that run's base into --out, the run untouched", async () => {
    const dir = copyRun('eval-base-config');
    const before = snapshot(dir);
    const out = join(root, 'base-of-run');
    const run = await runCaptured([
      'eval',
      '--base',
      '--task',
      SUM_TASK,
      '--config',
      join(dir, 'config.json'),
      '--out',
      out,
      '--split=dev',
      '--mode=greedy',
    ]);
    expect(run.code).toBe(0);
    expect(existsSync(join(out, 'eval', 'dev-greedy.json'))).toBe(true);
    expect(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).name).toBe('base');
    expect(snapshot(dir)).toEqual(before);
  });

  it('2: --resume with --config or a different --base is refused naming the option; base.txt is kept', async () => {
    const dir = copyRun('resume-options');
    const before = snapshot(dir);
    const config = join(root, 'other.json');
    writeFileSync(config, '{"rl": {"steps": 9}}');
    const withConfig = await runCaptured(['train', '--resume', dir, '--config', config]);
    expect(oneLine(withConfig.errors)).toMatch(/--config .*other\.json cannot apply with --resume/);
    const withBase = await runCaptured(['train', '--resume', dir, '--base', join(root, 'elsewhere')]);
    expect(withBase.code).toBe(2);
    expect(oneLine(withBase.errors)).toMatch(/--base .*elsewhere cannot apply with --resume.*--overwrite/);
    expect(snapshot(dir)).toEqual(before);
  });

  it('2: data build and imports keep existing data unless --overwrite; an empty import writes nothing', async () => {
    const dir = temporary();
    writeFileSync(join(dir, 'questions.jsonl'), '{"id": "mine"}\n');
    const build = await runCaptured(['data', 'build', '--tier', 'S', '--out', dir]);
    expect(build.code).toBe(2);
    expect(oneLine(build.errors)).toMatch(/already holds questions\.jsonl; give --overwrite/);
    const empty = join(dir, 'empty.json');
    writeFileSync(empty, '{"Data": []}');
    const imported = await runCaptured(['data', 'import-triviaqa', empty, '--out', dir]);
    expect(imported.code).toBe(2);
    expect(oneLine(imported.errors)).toMatch(/yielded 0 questions/);
    expect(readFileSync(join(dir, 'questions.jsonl'), 'utf8')).toBe('{"id": "mine"}\n');
  });

  it('4: NaN weights are refused naming the tensor; resume falls back to the newest intact checkpoint', async () => {
    const dir = copyRun('nan');
    const weights = join(dir, 'checkpoints', 'step-000002', 'model.safetensors');
    const { tensors } = await readSafetensors(weights);
    const [name, tensor] = [...tensors].sort(([a], [b]) => (a < b ? -1 : 1))[0]!;
    tensor.data[3] = Number.NaN;
    writeFileSync(weights, encodeSafetensors(tensors));
    const evaluated = await runCaptured(['eval', dir, '--split=dev', '--mode=greedy']);
    expect(evaluated.code).toBe(2);
    expect(oneLine(evaluated.errors)).toContain(`tensor "${name}" holds NaN at element 3`);
    const resumed = await runCaptured(['train', '--resume', dir]);
    expect(resumed.code).toBe(0);
    expect(resumed.errors.join('\n')).toMatch(/holds NaN.*using the newest intact checkpoint, step 1/);
    expect(resumed.errors.join('\n')).toMatch(/finished at step 2/);
  });

  it('4: a truncated trainer.json falls back to the previous checkpoint, saying so, no SyntaxError', async () => {
    const dir = copyRun('truncated');
    const statePath = join(dir, 'checkpoints', 'step-000002.trainer.json');
    writeFileSync(statePath, readFileSync(statePath, 'utf8').slice(0, 40));
    const evaluated = await runCaptured(['eval', dir, '--split=dev', '--mode=greedy']);
    expect(evaluated.code).toBe(0);
    const said = evaluated.errors.join('\n');
    expect(said).toMatch(
      /step-000002\.trainer\.json is not valid JSON \((it ends early|position \d+)\).*newest intact.*step 1/,
    );
    expect(said).not.toMatch(/SyntaxError/);
  });

  it('4: an orphan step-N/ of an interrupted write is removed', async () => {
    const dir = copyRun('orphan');
    mkdirSync(join(dir, 'checkpoints', 'step-000003'));
    writeFileSync(join(dir, 'checkpoints', 'step-000003', 'model.safetensors'), 'partial');
    const resumed = await runCaptured(['train', '--resume', dir]);
    expect(resumed.code).toBe(0);
    expect(resumed.errors.join('\n')).toMatch(/removed step-000003, left by an interrupted checkpoint write/);
    expect(existsSync(join(dir, 'checkpoints', 'step-000003'))).toBe(false);
  });

  it('4: a damaged search index is rebuilt from the corpus, saying so; without a corpus, one line', async () => {
    const dir = temporary();
    const words = (i: number) => Array.from({ length: 60 }, (_, j) => `word${(i * 7 + j * 13) % 997}`).join(' ');
    writeFileSync(
      join(dir, 'corpus.jsonl'),
      Array.from({ length: 400 }, (_, i) => JSON.stringify({ id: `d${i}`, title: `Title ${i}`, text: words(i) })).join(
        '\n',
      ),
    );
    (await openSearchIndex(dir)).close();
    const indexPath = join(dir, 'index.sqlite');
    const bytes = readFileSync(indexPath);
    const pageSize = bytes.readUInt16BE(16);
    const pages = bytes.length / pageSize;
    // Damage the second half of the file (table pages of passages and documents); the meta table stays.
    for (let page = Math.floor(pages / 2); page < pages - 1; page += 3)
      bytes.fill(0xa5, page * pageSize, page * pageSize + 64);
    writeFileSync(indexPath, bytes);
    const said: string[] = [];
    const index = await openSearchIndex(dir, { onProgress: (line) => said.push(line) });
    expect(said.join('\n')).toMatch(/is damaged \(SQLite quick_check: .*\); rebuilding it from corpus\.jsonl/);
    expect(index.search('word13', { k: 3 })).toHaveLength(3);
    index.close();
    writeFileSync(indexPath, bytes);
    rmSync(join(dir, 'corpus.jsonl'));
    const search = await runCaptured(['data', 'search', 'word13', '--dir', dir]);
    expect(search.code).toBe(2);
    expect(oneLine(search.errors)).toMatch(/^turnwise data: DataError: search index .* is damaged/);
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
        /ConfigError: the model's context holds 256 .*longest prompt \(\d+ tokens, \w+ row ".+"\) leaves \d+ of rl\.maxCompl/,
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
      [['export', dir, '--out', out, '--format', 'onnx'], /--format "onnx" is not a format; expected hf or gguf/],
      [['export', dir, '--out', out, '--dtype', 'f16'], /--dtype "f16" is not valid here; expected f32 or f16 with/],
      [['export', dir, '--out', out, '--format', 'gguf', '--dtype', 'q4'], /--dtype "q4" is not valid here/],
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
