/**
 * Weights home (`turnwise export`): a run's latest checkpoint as a Hugging Face directory that other
 * tools load. A local-engine run's checkpoint is already HF-named: its weights, config and tokenizer
 * are written without the optimiser and trainer state. A Tinker-service run's checkpoint (or any
 * `tinker://` path) is fetched as the archive the service offers for its sampler weights; a PEFT
 * adapter in it is merged into a local copy of the base (`base`, HF layout) as W + (alpha/r) B A,
 * full weights are taken as they are. With `format: 'gguf'` the same weights and tokenizer go into
 * one llama.cpp GGUF file instead (`engine/gguf-export.ts`). The output is never replaced unless
 * `overwrite`, and then only once the new one is complete.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { backendConfigSchema, tinkerApiKey } from '../backends/backend-config.js';
import { downloadCheckpointArchive } from '../backends/tinker/archive-download.js';
import { CHECKPOINT_FILES, readCheckpoint, validateTensorShapes } from '../engine/checkpoint.js';
import { ggufModel } from '../engine/gguf-export.js';
import { writeGguf } from '../engine/gguf-writer.js';
import { hfSideFiles, writeHfDirectory } from '../engine/hf-directory.js';
import { loadKernels } from '../engine/kernels/index.js';
import type { Kernels } from '../engine/kernels/kernels.js';
import { mergeLoraAdapter } from '../engine/lora/lora-merge.js';
import { ADAPTER_FILES, decodePeftAdapter } from '../engine/lora/peft-files.js';
import { configToJson, parseModelConfig } from '../engine/model-config.js';
import { parameterShapes } from '../engine/parameters.js';
import { decodeSafetensors, type TensorData } from '../engine/safetensors.js';
import { readTar } from '../engine/tar-archive.js';
import { loadTokenizer } from '../engine/tokenizer/hf-tokenizer.js';
import { CheckpointError, ConfigError, errorMessage, TurnwiseError } from '../errors.js';
import { latestCheckpoint, readTrainerState } from './run-state.js';

/** Options of `exportRun`. */
export interface ExportRunOptions {
  /** A run directory, or a `tinker://<run>/sampler_weights/<name>` path (then `baseUrl` is needed). */
  source: string;
  /** The HF directory to write; for GGUF a `.gguf` file, or a directory to hold `model.gguf`. */
  out: string;
  /** `hf` (default): a Hugging Face directory; `gguf`: one llama.cpp GGUF v3 file. */
  format?: 'hf' | 'gguf';
  /** GGUF only: matrices as `f32` (default) or `f16`. */
  dtype?: 'f32' | 'f16';
  /** A local copy of the base model (HF layout), to merge a LoRA adapter into. */
  base?: string;
  /** Replace `out` if it exists (only once the export is complete). */
  overwrite?: boolean;
  /** Service root for a `tinker://` source (a run's own config gives it otherwise). */
  baseUrl?: string;
  apiKey?: string;
  kernels?: Kernels;
  /** Environment holding a run's API key variable (default process.env). */
  env?: Record<string, string | undefined>;
  /** Waits between attempts while a service builds an archive (default the SDK's 30 s). */
  archiveRetryDelayMs?: number;
}

/** What an export wrote. */
export interface ExportResult {
  /** `local` (an engine checkpoint), `merged` (base + LoRA adapter) or `full` (a service's full weights). */
  kind: 'local' | 'merged' | 'full';
  /** Where the weights came from: a checkpoint directory or a `tinker://` path. */
  from: string;
  /** The directory (HF) or file (GGUF) written. */
  out: string;
  format: 'hf' | 'gguf';
  tensors: number;
  /** Adapted weights, for a merge. */
  merged?: number;
}

/** A model on its way out: HF config fields, weights, side files (tokenizer, ...). */
interface ExportedModel {
  config: Record<string, unknown>;
  tensors: ReadonlyMap<string, TensorData>;
  files: Record<string, string | Uint8Array>;
  eosTokenId?: number;
}

/** Exports a run's latest checkpoint (or a service checkpoint) as an HF directory or a GGUF file. */
export async function exportRun(options: ExportRunOptions): Promise<ExportResult> {
  const out = exportTarget(options);
  if (existsSync(out) && !options.overwrite)
    throw new CheckpointError(`--out ${out} already exists; refusing to replace it (pass --overwrite to replace it)`);
  if (options.format === 'gguf' && existsSync(out) && statSync(out).isDirectory())
    throw new CheckpointError(`--out ${out} is a directory; a GGUF export replaces only a file`);
  if (options.source.startsWith('tinker://')) {
    if (!options.baseUrl) throw new ConfigError(`exporting ${options.source} needs the service URL (--base-url URL)`);
    return exportService(options, options.source, options.baseUrl, options.apiKey, out);
  }
  const run = resolve(options.source);
  if (!existsSync(run) || !statSync(run).isDirectory())
    throw new CheckpointError(`run directory ${run} does not exist; expected a directory made by turnwise train`);
  const statePath = latestCheckpoint(run);
  if (statePath === undefined)
    throw new CheckpointError(`run ${run} has no checkpoint (no latest.json): it saved none yet`);
  const { backendPath } = readTrainerState(statePath);
  if (!backendPath.startsWith('tinker://')) return exportLocal(backendPath, out, options);
  const backend = runBackend(run);
  const apiKey = options.apiKey ?? tinkerApiKey(backend, options.env);
  // A run's training checkpoint tinker://<model>/weights/<name> has sampler weights of the same name.
  const sampler = backendPath.replace(/^(tinker:\/\/[^/]+)\/weights\//, '$1/sampler_weights/');
  return exportService(options, sampler, options.baseUrl ?? backend.baseUrl, apiKey, out);
}

/** An engine checkpoint: its weights (checked against its config), config and tokenizer files. */
async function exportLocal(checkpoint: string, out: string, options: ExportRunOptions): Promise<ExportResult> {
  if (!existsSync(checkpoint))
    throw new CheckpointError(`the run's latest checkpoint ${checkpoint} does not exist (removed or moved?)`);
  const contents = await readCheckpoint(checkpoint, { optimizer: false });
  const config = parseModelConfig(contents.config, `${checkpoint}/${CHECKPOINT_FILES.config}`);
  const expected = new Map(parameterShapes(config).map(({ name, shape }) => [name, shape]));
  validateTensorShapes(contents.tensors, expected, `${checkpoint}/${CHECKPOINT_FILES.model}`);
  const files = await hfSideFiles(checkpoint);
  const eosTokenId = files['tokenizer.json'] ? (await loadTokenizer(checkpoint)).eosTokenId : undefined;
  const model = { config: configToJson(config), tensors: contents.tensors, files, eosTokenId };
  const format = await writeExport(out, model, options, checkpoint);
  return { kind: 'local', from: checkpoint, out, format, tensors: contents.tensors.size };
}

/** A service checkpoint: its archive, merged into `base` when it holds a LoRA adapter. */
async function exportService(
  options: ExportRunOptions,
  tinkerPath: string,
  baseUrl: string,
  apiKey: string | undefined,
  out: string,
): Promise<ExportResult> {
  // Check the base before anything is downloaded.
  const base = options.base === undefined ? undefined : resolve(options.base);
  if (base !== undefined && !existsSync(resolve(base, CHECKPOINT_FILES.config)))
    throw new CheckpointError(`--base ${base} is not a Hugging Face model directory (no config.json)`);
  const archive = await downloadCheckpointArchive({
    baseUrl,
    apiKey,
    tinkerPath,
    ...(options.archiveRetryDelayMs !== undefined ? { retryDelayMs: options.archiveRetryDelayMs } : {}),
  });
  const files = archiveFiles(readTar(archive, `the archive of ${tinkerPath}`));
  const adapterConfig = files.get(ADAPTER_FILES.config);
  if (adapterConfig) {
    const model = files.get(ADAPTER_FILES.model);
    if (!model)
      throw new CheckpointError(
        `the archive of ${tinkerPath} has ${ADAPTER_FILES.config} but no ${ADAPTER_FILES.model}`,
      );
    if (base === undefined)
      throw new ConfigError(
        `${tinkerPath} is a LoRA adapter: pass --base DIR, a local copy of its base model (HF layout) to merge it into`,
      );
    const adapter = decodePeftAdapter(adapterConfig.toString('utf-8'), model, tinkerPath);
    const contents = await readCheckpoint(base, { optimizer: false });
    const tensors = mergeLoraAdapter({
      kernels: options.kernels ?? loadKernels(),
      base: contents.tensors,
      adapter: adapter.tensors,
      config: adapter.config,
      source: tinkerPath,
    });
    const eosTokenId = existsSync(resolve(base, 'tokenizer.json')) ? (await loadTokenizer(base)).eosTokenId : undefined;
    const exported = { config: contents.config, tensors, files: await hfSideFiles(base), eosTokenId };
    const format = await writeExport(out, exported, options, tinkerPath);
    const merged = [...tensors].filter(([name, tensor]) => contents.tensors.get(name) !== tensor).length;
    return { kind: 'merged', from: tinkerPath, out, format, tensors: tensors.size, merged };
  }
  const config = files.get(CHECKPOINT_FILES.config);
  const weights = files.get(CHECKPOINT_FILES.model);
  if (!config || !weights)
    throw new CheckpointError(
      `the archive of ${tinkerPath} holds neither a PEFT adapter (${ADAPTER_FILES.config}) nor full weights ` +
        `(${CHECKPOINT_FILES.config} + ${CHECKPOINT_FILES.model}); ` +
        `it has ${[...files.keys()].join(', ') || 'no files'}`,
    );
  const { tensors } = decodeSafetensors(weights, `${tinkerPath}/${CHECKPOINT_FILES.model}`);
  const side = Object.fromEntries([...files].filter(([name]) => name.startsWith('tokenizer')));
  const exported = { config: jsonObject(config, `${tinkerPath}/config.json`), tensors, files: side };
  const format = await writeExport(out, exported, options, tinkerPath);
  return { kind: 'full', from: tinkerPath, out, format, tensors: tensors.size };
}

/** The path written: the HF directory, or the GGUF file (`--out` itself when it ends in .gguf). */
function exportTarget(options: ExportRunOptions): string {
  const out = resolve(options.out);
  if (options.format !== 'gguf' || out.toLowerCase().endsWith('.gguf')) return out;
  return join(out, 'model.gguf');
}

/** Writes the model in the requested format; a failing file system is one CheckpointError naming the path. */
async function writeExport(
  out: string,
  model: ExportedModel,
  options: ExportRunOptions,
  source: string,
): Promise<'hf' | 'gguf'> {
  const format = options.format ?? 'hf';
  const gguf = format === 'gguf' ? ggufContents(model, options, source) : undefined;
  try {
    if (gguf) await writeGguf(out, gguf);
    else await writeHfDirectory(out, model);
  } catch (error) {
    if (error instanceof TurnwiseError) throw error;
    throw new CheckpointError(`cannot write ${out}: ${errorMessage(error)}`);
  }
  return format;
}

/** The GGUF contents of an exported model; it needs the model's tokenizer.json. */
function ggufContents(model: ExportedModel, options: ExportRunOptions, source: string) {
  const config = parseModelConfig(model.config, `${source}/${CHECKPOINT_FILES.config}`);
  const file = (name: string) => {
    const bytes = model.files[name];
    if (bytes === undefined) return undefined;
    return jsonObject(Buffer.from(bytes), `${source}/${name}`);
  };
  const tokenizer = file('tokenizer.json');
  if (tokenizer === undefined)
    throw new CheckpointError(`${source} has no tokenizer.json; a GGUF file carries the tokenizer, so it needs one`);
  return ggufModel({
    config,
    tensors: model.tensors,
    tokenizer,
    tokenizerConfig: file('tokenizer_config.json'),
    dtype: options.dtype ?? 'f32',
    source,
  });
}

/** The archive's files, found at its root or under its one top-level directory. */
function archiveFiles(entries: Map<string, Buffer>): Map<string, Buffer> {
  const anchor = [...entries.keys()].find(
    (name) => name.endsWith(ADAPTER_FILES.config) || name.endsWith(CHECKPOINT_FILES.config),
  );
  const prefix = anchor?.includes('/') ? anchor.slice(0, anchor.lastIndexOf('/') + 1) : '';
  const files = new Map<string, Buffer>();
  for (const [name, data] of entries)
    if (name.startsWith(prefix) && !name.slice(prefix.length).includes('/')) files.set(name.slice(prefix.length), data);
  return files;
}

/** The backend section of a run's config.json. */
function runBackend(run: string): ReturnType<typeof backendConfigSchema.parse> {
  const path = resolve(run, 'config.json');
  if (!existsSync(path)) throw new ConfigError(`run ${run} has no config.json; is it a turnwise run?`);
  const raw = jsonObject(readFileSync(path), path);
  const parsed = backendConfigSchema.safeParse(raw.backend ?? {});
  if (!parsed.success || parsed.data.kind !== 'tinker' || !parsed.data.baseUrl)
    throw new ConfigError(
      `${path}: its backend section names no Tinker service (backend.kind tinker, backend.baseUrl)`,
    );
  return parsed.data;
}

function jsonObject(bytes: Buffer, source: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf-8'));
  } catch (error) {
    throw new CheckpointError(`${source} is not valid JSON: ${errorMessage(error)}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new CheckpointError(`${source} must hold a JSON object`);
  return value as Record<string, unknown>;
}
