/**
 * Checkpoints of a training run. A checkpoint is the backend's weights and optimiser state
 * (`Backend.save("step-NNNNNN")`, written where the backend keeps checkpoints: the run's
 * `checkpoints/` for the local engine) plus the trainer's own state (step, RNG state, data order,
 * elapsed time) in `checkpoints/step-NNNNNN.trainer.json`. The `latest.json` pointer is replaced
 * atomically only after both are complete, so a crash mid-write leaves the previous checkpoint as
 * the latest one. Older checkpoints beyond `keep` are removed after the pointer moves, and so are
 * orphans of interrupted writes (a `step-N` written by the backend without its trainer state).
 *
 * Every path stored is relative to the file storing it (see `run-dir.ts`), so a run resumes where
 * it now is. On resume a checkpoint is checked as a set (trainer state, the backend's files, their
 * contents as the backend loads them); a damaged one falls back to the newest intact one, saying so.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import type { Backend } from '../backends/backend.js';
import { CheckpointError } from '../errors.js';
import { writeFileAtomicSync as writeFileAtomic } from '../engine/atomic-write.js';
import { checkCheckpointFiles } from '../engine/checkpoint.js';
import { loadedPath, storedPath } from './run-dir.js';

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
  const name = checkpointName(state.step);
  const backendPath = await backend.save(name);
  const full: TrainerState = { ...state, backendPath: storedPath(backendPath, root, runDir) };
  const statePath = join(root, `${name}${STATE_SUFFIX}`);
  writeFileAtomic(statePath, `${JSON.stringify(full)}\n`);
  writeFileAtomic(
    join(runDir, 'latest.json'),
    `${JSON.stringify({
      step: state.step,
      checkpoint: `checkpoints/${name}${STATE_SUFFIX}`,
      backendPath: storedPath(backendPath, runDir, runDir),
    })}\n`,
  );
  pruneCheckpoints(root, statePath, options.keep ?? 2);
  return statePath;
}

const STATE_SUFFIX = '.trainer.json';
const STATE_FILE = /^step-\d+\.trainer\.json$/;

function pruneCheckpoints(root: string, latest: string, keep: number): void {
  const states = readdirSync(root)
    .filter((name) => STATE_FILE.test(name))
    .sort();
  const removable = states.filter((name) => join(root, name) !== latest);
  for (const name of removable.slice(0, Math.max(0, removable.length - (keep - 1)))) {
    const path = join(root, name);
    let backendPath: string | undefined;
    try {
      const stored = (JSON.parse(readFileSync(path, 'utf8')) as { backendPath?: unknown }).backendPath;
      backendPath = typeof stored === 'string' ? loadedPath(stored, root) : undefined;
    } catch {
      backendPath = undefined;
    }
    rmSync(path, { force: true });
    // Remove the backend's files only when they live inside this run's checkpoint folder.
    if (backendPath !== undefined && resolve(backendPath).startsWith(`${root}/`))
      rmSync(backendPath, { recursive: true, force: true });
  }
  removeOrphans(root);
}

/**
 * Removes what an interrupted checkpoint write left in `root`: a `step-N` directory or file of the
 * backend without `step-N.trainer.json` (the trainer state is written only after the backend's files).
 */
function removeOrphans(root: string): string[] {
  if (!existsSync(root)) return [];
  const entries = readdirSync(root);
  const states = new Set(entries.filter((name) => STATE_FILE.test(name)));
  const orphans = entries.filter((name) => {
    const step = /^step-\d+/.exec(name)?.[0];
    return step !== undefined && !STATE_FILE.test(name) && !states.has(`${step}${STATE_SUFFIX}`);
  });
  for (const name of orphans) rmSync(join(root, name), { recursive: true, force: true });
  return orphans;
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
  if (parsed === null || typeof parsed !== 'object' || typeof parsed.checkpoint !== 'string')
    throw new CheckpointError(`${pointer} has no "checkpoint" path`);
  return loadedPath(parsed.checkpoint, runDir, join(runDir, 'checkpoints'));
}

/** Reads and validates a trainer-state file written by `saveCheckpoint` (its `backendPath` made usable). */
export function readTrainerState(path: string): TrainerState {
  if (!existsSync(path))
    throw new CheckpointError(`trainer state ${path} does not exist; expected a file written by saveCheckpoint`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    // The parser's message may quote the file; the position says enough.
    const message = (error as Error).message;
    const where = /Unexpected end/.test(message)
      ? 'it ends early'
      : (/position \d+/.exec(message)?.[0] ?? 'unparsable');
    throw new CheckpointError(`trainer state ${path} is not valid JSON (${where}); the file is truncated or damaged`);
  }
  const parsed = trainerStateSchema.safeParse(raw);
  if (!parsed.success)
    throw new CheckpointError(
      `${path} is not a valid trainer state: ` +
        `${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`,
    );
  return { ...parsed.data, backendPath: loadedPath(parsed.data.backendPath, resolve(path, '..')) };
}

/**
 * The checkpoints of a run to try, best first: the one `latest.json` points to, then every other
 * trainer state of the run from the newest. Undefined when the run has no `latest.json`.
 */
function checkpointCandidates(runDir: string): { paths: string[]; problems: string[] } | undefined {
  if (!existsSync(join(runDir, 'latest.json'))) return undefined;
  const problems: string[] = [];
  let pointed: string | undefined;
  try {
    pointed = latestCheckpoint(runDir);
  } catch (error) {
    if (!(error instanceof CheckpointError)) throw error;
    problems.push(error.message);
  }
  const root = join(runDir, 'checkpoints');
  const states = existsSync(root)
    ? readdirSync(root)
        .filter((name) => STATE_FILE.test(name))
        .sort()
        .reverse()
        .map((name) => join(root, name))
    : [];
  const rest = states.filter((path) => pointed === undefined || resolve(path) !== resolve(pointed));
  return { paths: pointed === undefined ? rest : [pointed, ...rest], problems };
}

/** Why the backend's files of a checkpoint are not a complete set, or undefined when they are. */
async function backendFilesProblem(backendPath: string): Promise<string | undefined> {
  if (/^[a-z][\w+.-]*:\/\//i.test(backendPath)) return undefined; // a service's path: the service checks it
  if (!existsSync(backendPath)) return `its weights ${backendPath} are missing`;
  return statSync(backendPath).isDirectory() ? checkCheckpointFiles(backendPath) : undefined;
}

/**
 * The newest intact checkpoint of a run: its trainer state, whose files are checked as a set, and,
 * with `load`, loaded (a CheckpointError of the load counts as damage too). Damaged ones are skipped
 * and named in one log line; undefined when the run has no `latest.json`; a CheckpointError naming
 * every problem when no checkpoint is intact.
 */
export async function newestIntactCheckpoint(
  runDir: string,
  options: { load?: (state: TrainerState) => Promise<void>; log?: (message: string) => void } = {},
): Promise<TrainerState | undefined> {
  const candidates = checkpointCandidates(runDir);
  if (candidates === undefined) return undefined;
  const problems = [...candidates.problems];
  for (const path of candidates.paths) {
    try {
      const state = readTrainerState(path);
      const files = await backendFilesProblem(state.backendPath);
      if (files !== undefined) throw new CheckpointError(`checkpoint step ${state.step}: ${files}`);
      await options.load?.(state);
      if (problems.length > 0)
        (options.log ?? ((message) => console.error(message)))(
          `[checkpoint] ${runDir}: ${problems.join('; ')}; using the newest intact checkpoint, step ${state.step}`,
        );
      return state;
    } catch (error) {
      if (!(error instanceof CheckpointError)) throw error;
      problems.push(error.message);
    }
  }
  throw new CheckpointError(`${runDir} has no intact checkpoint: ${problems.join('; ')}`);
}

/**
 * Loads the newest intact checkpoint of a run into `backend` (see `newestIntactCheckpoint`) and
 * returns its trainer state; first removes orphans of interrupted checkpoint writes.
 */
export async function restoreLatest(
  runDir: string,
  backend: Backend,
  expectedConfigHashes: string | string[],
  options: { log?: (message: string) => void } = {},
): Promise<TrainerState | undefined> {
  const log = options.log ?? ((message: string) => console.error(message));
  const orphans = removeOrphans(join(runDir, 'checkpoints'));
  if (orphans.length > 0)
    log(`[checkpoint] ${runDir}: removed ${orphans.join(', ')}, left by an interrupted checkpoint write`);
  const expected = typeof expectedConfigHashes === 'string' ? [expectedConfigHashes] : expectedConfigHashes;
  return newestIntactCheckpoint(runDir, {
    log,
    async load(state) {
      if (!expected.includes(state.configHash)) {
        // Not damage: another config's run. Never skipped over.
        throw new ConfigMismatch(
          `cannot resume ${runDir}: its checkpoint was made with config hash ${state.configHash}, ` +
            `the current config hashes to ${expected[0]}; resume with the run's own config.json`,
        );
      }
      await backend.load(state.backendPath, { optimizer: true });
    },
  }).catch((error: unknown) => {
    throw error instanceof ConfigMismatch ? new CheckpointError(error.message) : error;
  });
}

class ConfigMismatch extends Error {}
