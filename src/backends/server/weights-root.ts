/**
 * `resolveWeightsPath`: where `load_weights` may read a backend path from. Only directories inside
 * the configured weights root (symbolic links resolved) are loaded, and every refusal (no root,
 * outside it, missing, not a directory, unreadable) gives the same message, so a client cannot
 * probe the server's file system by the errors it gets back.
 */
import { realpath, stat } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';
import { HttpError } from './http-io.js';

/** Resolves `path` to a directory under `root`, or refuses with the one 400 message. */
export async function resolveWeightsPath(path: string, root: string | undefined): Promise<string> {
  const refusal = new HttpError(
    400,
    `load_weights path ${JSON.stringify(path)} is not a checkpoint directory under this server's weights root; ` +
      `load a tinker:// path that save_weights returned, or a directory under --weights-root`,
  );
  if (root === undefined || path.length === 0 || path.includes('\0')) throw refusal;
  try {
    const realRoot = await realpath(root);
    const target = await realpath(resolve(realRoot, path));
    if (!inside(realRoot, target) || !(await stat(target)).isDirectory()) throw refusal;
    return target;
  } catch {
    throw refusal;
  }
}

function inside(root: string, target: string): boolean {
  const step = relative(root, target);
  return step === '' || (!step.startsWith('..') && !isAbsolute(step));
}
