/**
 * Checkpoints of a training run. A checkpoint is the backend's weights and optimiser state
 * (`Backend.save("step-NNNNNN")`, written where the backend keeps checkpoints: the run's
 * `checkpoints/` for the local engine) plus the trainer's own state (step, RNG state, data order,
 * elapsed time) in `checkpoints/step-NNNNNN.trainer.json`. The `latest.json` pointer is replaced
 * atomically only after both are complete, so a crash mid-write leaves the previous checkpoint as
 * the latest one. Older checkpoints beyond `keep` are removed after the pointer moves.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import type { Backend } from '../backends/backend.js';
import { CheckpointError } from '../errors.js';
import { writeFileAtomicSync as writeFileAtomic } from '../engine/atomic-write.js';

const randomStateSchema = z.tuple([z.number().int(), z.number().int(), z.number().int(), z.number().int()]);

/** What the trainer needs, besides the weights, to continue a run exactly. */
export const trainerStateSchema = z.object({
  /** Optimiser steps completed. */
  step: z.number().int().min(0),
  /** Generation rounds completed. */
  round: z.number().int().min(0),
  /** State of the run's random generator after the last completed round. */
  rng: randomStateSchema,
  /** Data order: the current shuffled epoch of row indices and the position in it. */
  data: z.object({
    epoch: z.number().int().min(0),
    position: z.number().int().min(0),
    order: z.array(z.number().int()),
  }),
  /** Wall-clock seconds spent in the run so far. */
  elapsedSeconds: z.number().min(0),
  /** Hash of the config that produced the run (a resume with another config is refused). */
  configHash: z.string(),
  /** Where `Backend.save` put the weights (and optimiser state) of this checkpoint. */
  backendPath: z.string(),
});

/** The trainer's state saved with every checkpoint. */
export type TrainerState = z.infer<typeof trainerStateSchema>;

/** The checkpoint directory name of a step. */
export function checkpointName(step: number): string {
  return `step-${String(step).padStart(6, '0')}`;
}

/** Saves a checkpoint (weights, optimiser, trainer state) and then moves `latest.json` to it. */
export async function saveCheckpoint(
  runDir: string,
  backend: Backend,
  state: Omit<TrainerState, 'backendPath'>,
  options: { keep?: number } = {},
): Promise<string> {
  const root = resolve(runDir, 'checkpoints');
  mkdirSync(root, { recursive: true });
  const backendPath = await backend.save(checkpointName(state.step));
  const full: TrainerState = { ...state, backendPath };
  const statePath = join(root, `${checkpointName(state.step)}${STATE_SUFFIX}`);
  writeFileAtomic(statePath, `${JSON.stringify(full)}\n`);
  writeFileAtomic(
    join(runDir, 'latest.json'),
    `${JSON.stringify({ step: state.step, checkpoint: statePath, backendPath })}\n`,
  );
  pruneCheckpoints(root, statePath, options.keep ?? 2);
  return statePath;
}

const STATE_SUFFIX = '.trainer.json';

function pruneCheckpoints(root: string, latest: string, keep: number): void {
  const states = readdirSync(root)
    .filter((name) => /^step-\d+\.trainer\.json$/.test(name))
    .sort();
  const removable = states.filter((name) => join(root, name) !== latest);
  for (const name of removable.slice(0, Math.max(0, removable.length - (keep - 1)))) {
    const path = join(root, name);
    let backendPath: string | undefined;
    try {
      backendPath = (JSON.parse(readFileSync(path, 'utf8')) as { backendPath?: string }).backendPath;
    } catch {
      backendPath = undefined;
    }
    rmSync(path, { force: true });
    // Remove the backend's files only when they live inside this run's checkpoint folder.
    if (backendPath !== undefined && resolve(backendPath).startsWith(`${root}/`))
      rmSync(backendPath, { recursive: true, force: true });
  }
}

/** The trainer-state file `latest.json` points to, or undefined when the run has none. */
export function latestCheckpoint(runDir: string): string | undefined {
  const pointer = join(runDir, 'latest.json');
  if (!existsSync(pointer)) return undefined;
  let parsed: { checkpoint?: unknown };
  try {
    parsed = JSON.parse(readFileSync(pointer, 'utf8'));
  } catch (error) {
    throw new CheckpointError(`${pointer} is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof parsed.checkpoint !== 'string') throw new CheckpointError(`${pointer} has no "checkpoint" path`);
  return parsed.checkpoint;
}

/** Reads and validates a trainer-state file written by `saveCheckpoint`. */
export function readTrainerState(path: string): TrainerState {
  if (!existsSync(path))
    throw new CheckpointError(`trainer state ${path} does not exist; expected a file written by saveCheckpoint`);
  const parsed = trainerStateSchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
  if (!parsed.success)
    throw new CheckpointError(
      `${path} is not a valid trainer state: ` +
        `${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`,
    );
  return parsed.data;
}

/** Loads the latest checkpoint of a run into `backend` and returns its trainer state. */
export async function restoreLatest(
  runDir: string,
  backend: Backend,
  expectedConfigHashes: string | string[],
): Promise<TrainerState | undefined> {
  const statePath = latestCheckpoint(runDir);
  if (statePath === undefined) return undefined;
  const state = readTrainerState(statePath);
  const expected = typeof expectedConfigHashes === 'string' ? [expectedConfigHashes] : expectedConfigHashes;
  if (!expected.includes(state.configHash)) {
    throw new CheckpointError(
      `cannot resume ${runDir}: its checkpoint was made with config hash ${state.configHash}, ` +
        `the current config hashes to ${expected[0]}; resume with the run's own config.json`,
    );
  }
  await backend.load(state.backendPath, { optimizer: true });
  return state;
}
