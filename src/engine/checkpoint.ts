/**
 * Checkpoint directories in Hugging Face layout: `model.safetensors` (F32, HF tensor names; sharded
 * `model.safetensors.index.json` checkpoints of transformers are read too) and
 * `config.json`, plus optionally `optimizer.safetensors` (AdamW moments), `trainer_state.json`
 * (step, RNG state, metrics) and extra files such as `tokenizer.json`.
 *
 * Writes are atomic for the whole directory: everything goes into a hidden temporary directory
 * beside the target and is fsynced; then the old checkpoint is renamed aside, the new one renamed
 * into place, the parent fsynced, and the old one removed. A crash at any point leaves either the
 * old or the new checkpoint readable: the only window without `dir` is between the two renames,
 * and `readCheckpoint` restores the set-aside copy if it finds one there.
 *
 * Reads refuse weights or optimiser moments holding NaN or infinity, naming the tensor, and
 * `checkCheckpointFiles` checks a directory's files as a set without reading the tensors.
 */
import { mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { CheckpointError } from '../errors.js';
import { syncDirectory, temporarySibling, writeFileDurable } from './atomic-write.js';
import { readSafetensors, readSafetensorsHeader, safetensorsWriter, type TensorData } from './safetensors.js';

/** The file names of a checkpoint directory. */
export const CHECKPOINT_FILES = {
  model: 'model.safetensors',
  config: 'config.json',
  optimizer: 'optimizer.safetensors',
  trainerState: 'trainer_state.json',
} as const;

/** Everything a checkpoint holds, as plain data. */
export interface CheckpointContents {
  /** The model config, with Hugging Face `config.json` field names. */
  config: Record<string, unknown>;
  /** Model weights by Hugging Face tensor name. */
  tensors: Map<string, TensorData>;
  /** Optimizer state tensors (e.g. `exp_avg.<param>`, `exp_avg_sq.<param>`), when saved. */
  optimizer?: Map<string, TensorData>;
  /** JSON trainer state (step, RNG state, metrics), when saved. */
  trainerState?: Record<string, unknown>;
  /** `__metadata__` of model.safetensors; `format: pt` is added so transformers accepts the file. */
  metadata?: Record<string, string>;
  /** Extra files by plain file name (e.g. `tokenizer.json`), written verbatim. */
  files?: Record<string, string | Uint8Array>;
}

/** Expected tensor shapes by name, for validation on load. */
export type ExpectedShapes = ReadonlyMap<string, readonly number[]> | Readonly<Record<string, readonly number[]>>;

/** Options of `readCheckpoint`. */
export interface ReadCheckpointOptions {
  /** When given, the model tensors must have exactly these names and shapes. */
  expected?: ExpectedShapes;
  /** Read `optimizer.safetensors` when present (default true). */
  optimizer?: boolean;
}

/** Test hook: called after each file is written into the temporary directory. */
export type WriteHook = (fileName: string) => void | Promise<void>;

const BACKUP_MARK = '.old-';

/** Writes a checkpoint directory atomically, replacing any checkpoint already at `directory`. */
export async function writeCheckpoint(
  directory: string,
  contents: CheckpointContents,
  options: { afterFile?: WriteHook } = {},
): Promise<void> {
  const target = resolve(directory);
  const parent = dirname(target);
  checkContents(contents);
  await mkdir(parent, { recursive: true });
  await removeLeftovers(target);
  const temporary = temporarySibling(target);
  await mkdir(temporary);
  try {
    const write = async (name: string, content: Parameters<typeof writeFileDurable>[1]): Promise<void> => {
      await writeFileDurable(join(temporary, name), content);
      await options.afterFile?.(name);
    };
    await write(CHECKPOINT_FILES.config, `${JSON.stringify(contents.config, null, 2)}\n`);
    await write(CHECKPOINT_FILES.model, safetensorsWriter(contents.tensors, { format: 'pt', ...contents.metadata }));
    if (contents.optimizer)
      await write(CHECKPOINT_FILES.optimizer, safetensorsWriter(contents.optimizer, { format: 'pt' }));
    if (contents.trainerState)
      await write(CHECKPOINT_FILES.trainerState, `${JSON.stringify(contents.trainerState, null, 2)}\n`);
    for (const [name, content] of Object.entries(contents.files ?? {})) await write(name, content);
    await syncDirectory(temporary);
  } catch (error) {
    await rm(temporary, { recursive: true, force: true });
    throw error;
  }
  const backup = join(
    parent,
    `.${basename(target)}${BACKUP_MARK}${basename(temporary).slice(basename(target).length + 6)}`,
  );
  const hadOld = await exists(target);
  if (hadOld) await rename(target, backup);
  await rename(temporary, target);
  await syncDirectory(parent);
  if (hadOld) await rm(backup, { recursive: true, force: true });
}

/** Reads a checkpoint directory, validating tensor names and shapes against `options.expected`. */
export async function readCheckpoint(
  directory: string,
  options: ReadCheckpointOptions = {},
): Promise<CheckpointContents> {
  const target = resolve(directory);
  await recoverInterruptedWrite(target);
  if (!(await exists(target))) throw new CheckpointError(`checkpoint directory ${target} does not exist`);
  const config = await readJsonObject(join(target, CHECKPOINT_FILES.config));
  const { tensors, metadata } = await readModelTensors(target);
  if (options.expected) validateTensorShapes(tensors, options.expected, join(target, CHECKPOINT_FILES.model));
  checkFinite(tensors, join(target, CHECKPOINT_FILES.model));
  const contents: CheckpointContents = { config, tensors, metadata };
  const optimizerPath = join(target, CHECKPOINT_FILES.optimizer);
  if ((options.optimizer ?? true) && (await exists(optimizerPath))) {
    contents.optimizer = (await readSafetensors(optimizerPath)).tensors;
    checkFinite(contents.optimizer, optimizerPath);
  }
  const statePath = join(target, CHECKPOINT_FILES.trainerState);
  if (await exists(statePath)) contents.trainerState = await readJsonObject(statePath);
  return contents;
}

/** Throws a CheckpointError naming the first tensor that holds NaN or infinity, and where. */
export function checkFinite(tensors: ReadonlyMap<string, TensorData>, source: string): void {
  for (const [name, tensor] of tensors) {
    const data = tensor.data;
    for (let i = 0; i < data.length; i++) {
      // x - x is 0 for every finite x and NaN for NaN and both infinities.
      if (data[i]! - data[i]! !== 0) {
        let count = 0;
        for (let j = i; j < data.length; j++) if (data[j]! - data[j]! !== 0) count++;
        throw new CheckpointError(
          `${source}: tensor "${name}" holds ${data[i]} at element ${i} (${count} of ${data.length} ` +
            `elements not finite); expected finite values: the checkpoint is damaged or training diverged`,
        );
      }
    }
  }
}

/**
 * Why a checkpoint directory is not a complete set of files, or undefined when it is: config.json
 * and trainer_state.json (when present) parse as objects, and the weights (one file or the shards of
 * an index) and optimiser state have valid headers whose tensors fill each file exactly. Reads
 * headers only, so it is cheap; the values are checked when the checkpoint is read.
 */
export async function checkCheckpointFiles(directory: string): Promise<string | undefined> {
  const target = resolve(directory);
  try {
    if (!(await exists(target))) return `checkpoint directory ${target} does not exist`;
    await readJsonObject(join(target, CHECKPOINT_FILES.config));
    const single = join(target, CHECKPOINT_FILES.model);
    const indexPath = join(target, `${CHECKPOINT_FILES.model}.index.json`);
    if ((await exists(single)) || !(await exists(indexPath))) await readSafetensorsHeader(single);
    else {
      const weightMap = (await readJsonObject(indexPath)).weight_map;
      const shards = new Set(Object.values(typeof weightMap === 'object' && weightMap !== null ? weightMap : {}));
      for (const shard of shards) await readSafetensorsHeader(join(target, String(shard)));
    }
    const optimizerPath = join(target, CHECKPOINT_FILES.optimizer);
    if (await exists(optimizerPath)) await readSafetensorsHeader(optimizerPath);
    const statePath = join(target, CHECKPOINT_FILES.trainerState);
    if (await exists(statePath)) await readJsonObject(statePath);
    return undefined;
  } catch (error) {
    if (error instanceof CheckpointError) return error.message;
    throw error;
  }
}

/**
 * The model weights of a checkpoint: `model.safetensors`, or the shards named by the `weight_map` of
 * `model.safetensors.index.json` (how transformers saves larger models).
 */
async function readModelTensors(
  directory: string,
): Promise<{ tensors: Map<string, TensorData>; metadata: Record<string, string> }> {
  const single = join(directory, CHECKPOINT_FILES.model);
  const indexPath = join(directory, `${CHECKPOINT_FILES.model}.index.json`);
  if ((await exists(single)) || !(await exists(indexPath))) return readSafetensors(single);
  const index = await readJsonObject(indexPath);
  const weightMap = index.weight_map;
  if (typeof weightMap !== 'object' || weightMap === null || Array.isArray(weightMap))
    throw new CheckpointError(`${indexPath}: weight_map must map tensor names to shard files`);
  const namesByShard = new Map<string, string[]>();
  for (const [name, shard] of Object.entries(weightMap)) {
    if (typeof shard !== 'string' || !/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(shard))
      throw new CheckpointError(
        `${indexPath}: tensor "${name}" maps to an invalid shard file ${JSON.stringify(shard)}`,
      );
    namesByShard.set(shard, [...(namesByShard.get(shard) ?? []), name]);
  }
  const tensors = new Map<string, TensorData>();
  let metadata: Record<string, string> = {};
  for (const [shard, names] of [...namesByShard].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const part = await readSafetensors(join(directory, shard), { names });
    for (const [name, tensor] of part.tensors) tensors.set(name, tensor);
    metadata = { ...part.metadata, ...metadata };
  }
  return { tensors, metadata };
}

/** Throws a CheckpointError listing missing, unexpected and mismatched tensors, if any. */
export function validateTensorShapes(
  tensors: ReadonlyMap<string, { shape: readonly number[] }>,
  expected: ExpectedShapes,
  source: string,
): void {
  const wanted = expected instanceof Map ? expected : new Map(Object.entries(expected));
  const missing: string[] = [];
  const mismatched: string[] = [];
  for (const [name, shape] of wanted) {
    const tensor = tensors.get(name);
    if (!tensor) missing.push(`${name} [${shape.join(', ')}]`);
    else if (tensor.shape.length !== shape.length || tensor.shape.some((size, i) => size !== shape[i])) {
      mismatched.push(`${name}: expected [${shape.join(', ')}], got [${tensor.shape.join(', ')}]`);
    }
  }
  const unexpected = [...tensors.keys()]
    .filter((name) => !wanted.has(name))
    .map((name) => `${name} [${tensors.get(name)!.shape.join(', ')}]`);
  if (missing.length + mismatched.length + unexpected.length === 0) return;
  const parts = [
    listPart('missing', missing),
    listPart('unexpected', unexpected),
    listPart('shape mismatch', mismatched),
  ].filter((part) => part !== '');
  throw new CheckpointError(`${source} does not match the model: ${parts.join('; ')}`);
}

function listPart(label: string, items: string[]): string {
  if (items.length === 0) return '';
  const shown = items.slice(0, 20).join(', ');
  return `${label} (${items.length}): ${shown}${items.length > 20 ? `, ... and ${items.length - 20} more` : ''}`;
}

/** Removes temporary directories of crashed writers (dead pids) and backups left beside a present checkpoint. */
async function removeLeftovers(target: string): Promise<void> {
  const name = basename(target);
  const targetExists = await exists(target);
  for (const entry of await readdir(dirname(target))) {
    const temporary =
      entry.startsWith(`.${name}.tmp-`) && !processAlive(Number(entry.slice(name.length + 6).split('-')[0]));
    const backup = targetExists && entry.startsWith(`.${name}${BACKUP_MARK}`);
    if (temporary || backup) await rm(join(dirname(target), entry), { recursive: true, force: true });
  }
}

function processAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** If a write was interrupted between its two renames, moves the set-aside checkpoint back. */
async function recoverInterruptedWrite(target: string): Promise<void> {
  if (await exists(target)) return;
  const prefix = `.${basename(target)}${BACKUP_MARK}`;
  const entries = await readdir(dirname(target)).catch(() => [] as string[]);
  const backups = entries.filter((name) => name.startsWith(prefix)).sort();
  const newest = backups.at(-1);
  if (newest !== undefined) await rename(join(dirname(target), newest), target);
}

function checkContents(contents: CheckpointContents): void {
  if (typeof contents.config !== 'object' || contents.config === null || Array.isArray(contents.config)) {
    throw new CheckpointError('checkpoint config must be a JSON object (the config.json fields)');
  }
  const reserved = new Set<string>(Object.values(CHECKPOINT_FILES));
  for (const name of Object.keys(contents.files ?? {})) {
    if (reserved.has(name) || !/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(name)) {
      throw new CheckpointError(
        `checkpoint extra file name "${name}" is not allowed (a ` +
          `plain file name other than ${[...reserved].join(', ')})`,
      );
    }
  }
}

async function readJsonObject(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf-8');
  } catch (error) {
    throw new CheckpointError(`cannot read ${path}: ${(error as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new CheckpointError(`${path} is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new CheckpointError(`${path} must hold a JSON object`);
  return value as Record<string, unknown>;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
