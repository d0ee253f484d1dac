/**
 * `turnwise export RUN --out DIR [--base DIR] [--overwrite] [--format hf|gguf] [--dtype f32|f16]`: a
 * run's latest checkpoint as a Hugging Face model directory or a llama.cpp GGUF file (local-engine
 * runs directly; Tinker-service runs through the service's sampler-weights archive, a LoRA adapter
 * merged into `--base`). RUN may also be a `tinker://<run>/sampler_weights/<name>` path with `--base-url`.
 */
import { parseArgs } from 'node:util';
import { ConfigError } from '../errors.js';
import { exportRun } from '../train/export-run.js';
import type { Command } from './command.js';

const HELP = `usage: turnwise export RUN --out DIR [options]

Writes the latest checkpoint of a run as a Hugging Face directory (config.json, model.safetensors in
float32, generation_config.json, tokenizer files) that transformers, vLLM and the engine load, or
with --format gguf as one GGUF v3 file (weights, tokenizer, chat template) for llama.cpp and Ollama.

  RUN                 a run directory (local engine or Tinker service), or a checkpoint path
                      tinker://<run>/sampler_weights/<name> (then --base-url is needed)
  --out DIR           the directory to write; refused if it exists, unless --overwrite
                      (GGUF: a FILE.gguf, or a directory to hold model.gguf)
  --format F          hf (default) or gguf
  --dtype D           gguf only: f32 (default) or f16 matrices (norms and biases stay f32)
  --overwrite         replace DIR (only once the export is complete)
  --base DIR          a local copy of the base model (HF layout) to merge a LoRA adapter into:
                      needed for Tinker runs, whose checkpoints are LoRA adapters
  --base-url URL      the service of a tinker:// RUN (a run directory's config gives its own)
  --api-key-env NAME  environment variable holding the service's API key (default TINKER_API_KEY
                      for a tinker:// RUN; a run directory's config names its own)`;

export const command: Command = {
  summary: 'write a run’s trained weights as a Hugging Face directory (merging a service’s LoRA into its base)',
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        out: { type: 'string' },
        format: { type: 'string', default: 'hf' },
        dtype: { type: 'string' },
        overwrite: { type: 'boolean', default: false },
        base: { type: 'string' },
        'base-url': { type: 'string' },
        'api-key-env': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    if (positionals.length !== 1)
      throw new ConfigError(
        `export takes one RUN (a run directory or a tinker:// path), got ${positionals.length}; ` +
          'see `turnwise export --help`',
      );
    if (values.out === undefined) throw new ConfigError('export needs --out DIR, the directory to write');
    const format = values.format;
    if (format !== 'hf' && format !== 'gguf')
      throw new ConfigError(`--format ${JSON.stringify(format)} is not a format; expected hf or gguf`);
    const dtype = values.dtype;
    if (dtype !== undefined && (format !== 'gguf' || (dtype !== 'f32' && dtype !== 'f16')))
      throw new ConfigError(
        `--dtype ${JSON.stringify(dtype)} is not valid here; expected f32 or f16 with --format gguf`,
      );
    const keyName = values['api-key-env'] ?? (positionals[0]!.startsWith('tinker://') ? 'TINKER_API_KEY' : undefined);
    const apiKey = keyName ? process.env[keyName]?.trim() || undefined : undefined;
    if (values['api-key-env'] !== undefined && apiKey === undefined)
      throw new ConfigError(`--api-key-env names ${values['api-key-env']}, which is not set in the environment`);
    const result = await exportRun({
      source: positionals[0]!,
      out: values.out,
      overwrite: values.overwrite,
      format,
      ...(dtype !== undefined ? { dtype } : {}),
      ...(values.base !== undefined ? { base: values.base } : {}),
      ...(values['base-url'] !== undefined ? { baseUrl: values['base-url'] } : {}),
      ...(apiKey !== undefined ? { apiKey } : {}),
    });
    const what =
      result.kind === 'merged'
        ? `base + LoRA adapter (${result.merged} weights adapted)`
        : result.kind === 'full'
          ? 'full weights'
          : 'engine checkpoint';
    const as = result.format === 'gguf' ? `GGUF ${dtype ?? 'f32'}, ` : '';
    console.log(`exported ${result.from} (${as}${what}, ${result.tensors} tensors) to ${result.out}`);
    return 0;
  },
};
