import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CheckpointError } from '../errors.js';
import { encodeSafetensors } from './safetensors.js';
import { readCheckpoint, validateTensorShapes, writeCheckpoint, type CheckpointContents } from './checkpoint.js';

function contents(scale: number): CheckpointContents {
  return {
    config: { model_type: 'qwen2', hidden_size: 4, vocab_size: 3, tie_word_embeddings: true },
    tensors: new Map([
      ['model.embed_tokens.weight', { shape: [3, 4], data: Float32Array.from({ length: 12 }, (_, i) => i * scale) }],
      ['model.norm.weight', { shape: [4], data: new Float32Array([1, 1, 1, scale]) }],
    ]),
    optimizer: new Map([['exp_avg.model.norm.weight', { shape: [4], data: new Float32Array([0.5, 0, 0, scale]) }]]),
    trainerState: { step: scale, rng: [1, 2, 3, 4] },
    files: { 'tokenizer.json': '{"model":{}}' },
  };
}

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'checkpoint-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('checkpoint directories', () => {
  it('writes the Hugging Face layout and reads every part back', async () => {
    const directory = join(root, 'step-1');
    await writeCheckpoint(directory, contents(2));
    expect((await readdir(directory)).sort()).toEqual([
      'config.json',
      'model.safetensors',
      'optimizer.safetensors',
      'tokenizer.json',
      'trainer_state.json',
    ]);
    const read = await readCheckpoint(directory);
    expect(read.config).toEqual(contents(2).config);
    expect(read.metadata).toEqual({ format: 'pt' });
    expect(Array.from(read.tensors.get('model.embed_tokens.weight')!.data)).toEqual(
      Array.from(contents(2).tensors.get('model.embed_tokens.weight')!.data),
    );
    expect(read.optimizer!.get('exp_avg.model.norm.weight')!.data[3]).toBe(2);
    expect(read.trainerState).toEqual({ step: 2, rng: [1, 2, 3, 4] });
    expect(await readFile(join(directory, 'tokenizer.json'), 'utf-8')).toBe('{"model":{}}');
    expect((await readdir(root)).sort()).toEqual(['step-1']);
  });

  it('replaces an existing checkpoint and leaves no temporary directories behind', async () => {
    const directory = join(root, 'latest');
    await writeCheckpoint(directory, contents(1));
    await writeCheckpoint(directory, { config: { hidden_size: 8 }, tensors: contents(5).tensors });
    const read = await readCheckpoint(directory);
    expect(read.config).toEqual({ hidden_size: 8 });
    expect(read.optimizer).toBeUndefined();
    expect(read.tensors.get('model.norm.weight')!.data[3]).toBe(5);
    expect(await readdir(root)).toEqual(['latest']);
  });

  it('keeps the existing checkpoint intact when a write fails midway', async () => {
    const directory = join(root, 'latest');
    await writeCheckpoint(directory, contents(1));
    const failing = writeCheckpoint(directory, contents(9), {
      afterFile: (name) => {
        if (name === 'model.safetensors') throw new Error('simulated crash after model.safetensors');
      },
    });
    await expect(failing).rejects.toThrow(/simulated crash/);
    const read = await readCheckpoint(directory);
    expect(read.trainerState).toEqual({ step: 1, rng: [1, 2, 3, 4] });
    expect(read.tensors.get('model.norm.weight')!.data[3]).toBe(1);
    expect(await readdir(root)).toEqual(['latest']);
  });

  it('survives the writing process being killed midway, and the next write clears its leftovers', async () => {
    const directory = join(root, 'latest');
    await writeCheckpoint(directory, contents(1));
    const script = join(root, 'crash.mts');
    const module = fileURLToPath(new URL('./checkpoint.ts', import.meta.url));
    await writeFile(
      script,
      `import { writeCheckpoint } from ${JSON.stringify(module)};
       const tensors = new Map([
         ['model.embed_tokens.weight', { shape: [1000, 100], data: new Float32Array(100000).fill(7) }],
       ]);
       await writeCheckpoint(${JSON.stringify(directory)}, { config: { crashed: true }, tensors }, {
         afterFile: (name) => { if (name === 'model.safetensors') process.kill(process.pid, 'SIGKILL'); },
       });`,
    );
    const child = spawnSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf-8' });
    expect(child.signal).toBe('SIGKILL');
    const leftovers = (await readdir(root)).filter((name) => name.startsWith('.latest.tmp-'));
    expect(leftovers).toHaveLength(1);
    expect((await readCheckpoint(directory)).config).toEqual(contents(1).config);
    await writeCheckpoint(directory, contents(2));
    expect((await readdir(root)).sort()).toEqual(['crash.mts', 'latest']);
  });

  it('restores the old checkpoint when a crash happened between the two renames', async () => {
    const directory = join(root, 'latest');
    await writeCheckpoint(directory, contents(3));
    // The state a crash leaves after `rename(target, backup)` and before `rename(temporary, target)`.
    await rename(directory, join(root, '.latest.old-999999-abc'));
    await mkdir(join(root, '.latest.tmp-999999-abc'));
    await writeFile(join(root, '.latest.tmp-999999-abc', 'config.json'), '{"half": ');
    const read = await readCheckpoint(directory);
    expect(read.trainerState).toEqual({ step: 3, rng: [1, 2, 3, 4] });
    await writeCheckpoint(directory, contents(4));
    expect(await readdir(root)).toEqual(['latest']);
  });

  it('lists missing, unexpected and mismatched tensors when validating against the model', async () => {
    const directory = join(root, 'c');
    await writeCheckpoint(directory, contents(1));
    const expected = { 'model.embed_tokens.weight': [3, 5], 'lm_head.weight': [3, 4] };
    const reading = readCheckpoint(directory, { expected });
    await expect(reading).rejects.toThrow(CheckpointError);
    await expect(readCheckpoint(directory, { expected })).rejects.toThrow(
      new RegExp(
        /missing \(1\): lm_head.weight \[3, 4\]; unexpected \(1\): model.norm.weight \[4\]; /.source +
          /shape mismatch \(1\): model.embed_tokens.weight: expected \[3, 5\], got \[3, 4\]/.source,
      ),
    );
    const good = new Map([
      ['model.embed_tokens.weight', [3, 4]],
      ['model.norm.weight', [4]],
    ]);
    await expect(readCheckpoint(directory, { expected: good })).resolves.toBeDefined();
  });

  it('reads a checkpoint sharded by transformers through model.safetensors.index.json', async () => {
    const directory = join(root, 'sharded');
    await mkdir(directory);
    const { tensors, config } = contents(2);
    const [first, second] = [...tensors.keys()] as [string, string];
    await writeFile(join(directory, 'config.json'), JSON.stringify(config));
    await writeFile(
      join(directory, 'model-00001-of-00002.safetensors'),
      encodeSafetensors(new Map([[first, tensors.get(first)!]]), { format: 'pt' }),
    );
    await writeFile(
      join(directory, 'model-00002-of-00002.safetensors'),
      encodeSafetensors(new Map([[second, tensors.get(second)!]]), { format: 'pt' }),
    );
    const weightMap = { [first]: 'model-00001-of-00002.safetensors', [second]: 'model-00002-of-00002.safetensors' };
    await writeFile(
      join(directory, 'model.safetensors.index.json'),
      JSON.stringify({ metadata: { total_size: 64 }, weight_map: weightMap }),
    );
    const read = await readCheckpoint(directory, { expected: { [first]: [3, 4], [second]: [4] } });
    expect(Array.from(read.tensors.get(second)!.data)).toEqual([1, 1, 1, 2]);
    await writeFile(
      join(directory, 'model.safetensors.index.json'),
      JSON.stringify({ weight_map: { [first]: '../x.safetensors' } }),
    );
    await expect(readCheckpoint(directory)).rejects.toThrow(/invalid shard file/);
  });

  it('truncates long lists of problems', () => {
    const tensors = new Map(Array.from({ length: 25 }, (_, i) => [`t${i}`, { shape: [1] }] as const));
    expect(() => validateTensorShapes(tensors, {}, 'x')).toThrow(/unexpected \(25\): .*, \.\.\. and 5 more/);
  });

  it('reports a missing directory, a broken config.json and bad extra file names', async () => {
    await expect(readCheckpoint(join(root, 'nope'))).rejects.toThrow(/does not exist/);
    const directory = join(root, 'c');
    await writeCheckpoint(directory, contents(1));
    await writeFile(join(directory, 'config.json'), '{"hidden_size": ');
    await expect(readCheckpoint(directory)).rejects.toThrow(/config.json is not valid JSON/);
    await expect(writeCheckpoint(join(root, 'd'), { ...contents(1), files: { '../escape': 'x' } })).rejects.toThrow(
      /extra file name "..\/escape"/,
    );
    await expect(writeCheckpoint(join(root, 'd'), { ...contents(1), files: { 'config.json': 'x' } })).rejects.toThrow(
      /not allowed/,
    );
  });
});
