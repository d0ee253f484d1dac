import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readCheckpoint } from './checkpoint.js';
import { hfSideFiles, writeHfDirectory } from './hf-directory.js';

const root = await mkdtemp(join(tmpdir(), 'turnwise-hf-directory-'));
afterAll(() => rm(root, { recursive: true, force: true }));

describe('HF model directories', () => {
  it('writes float32 weights, says so in the config, and derives generation_config.json', async () => {
    const out = join(root, 'model');
    const tensors = new Map([['lm_head.weight', { shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) }]]);
    await writeHfDirectory(out, { config: { model_type: 'qwen2', dtype: 'bfloat16' }, tensors, eosTokenId: 7 });
    expect((await readdir(out)).sort()).toEqual(['config.json', 'generation_config.json', 'model.safetensors']);
    const config = JSON.parse(await readFile(join(out, 'config.json'), 'utf-8'));
    expect(config).toMatchObject({ torch_dtype: 'float32', dtype: 'float32', eos_token_id: 7 });
    expect(JSON.parse(await readFile(join(out, 'generation_config.json'), 'utf-8'))).toEqual({
      _from_model_config: true,
      eos_token_id: 7,
    });
    expect((await readCheckpoint(out)).tensors.get('lm_head.weight')!.data).toEqual(new Float32Array([1, 2, 3, 4]));
  });

  it('carries tokenizer and generation files over, leaving weights, optimiser, trainer state, adapters', async () => {
    const source = join(root, 'source');
    await mkdir(join(source, 'sub'), { recursive: true });
    const names = [
      'config.json',
      'model.safetensors',
      'model-00001-of-00002.safetensors',
      'model.safetensors.index.json',
      'pytorch_model.bin',
      'optimizer.safetensors',
      'trainer_state.json',
      'adapter_config.json',
      'tokenizer.json',
      'tokenizer_config.json',
      'generation_config.json',
      'chat_template.jinja',
      '.hidden',
    ];
    for (const name of names) await writeFile(join(source, name), name);
    expect(Object.keys(await hfSideFiles(source)).sort()).toEqual([
      'chat_template.jinja',
      'generation_config.json',
      'tokenizer.json',
      'tokenizer_config.json',
    ]);
  });
});
