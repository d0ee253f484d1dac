/**
 * Crash-safe file writes: data goes to a temporary file beside the target, is fsynced, and is then
 * renamed over the target, so a reader sees either the old file or the complete new one, never a
 * torn write. The directory is fsynced after the rename so the rename itself survives a power cut.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** A writer that streams pieces into an open file handle. */
export type FileWriter = (file: FileHandle) => Promise<void>;

/** A unique hidden name beside `target` for temporary data (`.name.tmp-<pid>-<hex>`). */
export function temporarySibling(target: string): string {
  const suffix = `${process.pid}-${randomBytes(6).toString('hex')}`;
  return join(dirname(target), `.${basename(target)}.tmp-${suffix}`);
}

/** Writes `content` (bytes, text, or a streaming writer) to `path` durably, without fsyncing the directory. */
export async function writeFileDurable(path: string, content: string | Uint8Array | FileWriter): Promise<void> {
  const file = await open(path, 'w');
  try {
    if (typeof content === 'function') await content(file);
    else await file.writeFile(content);
    await file.sync();
  } finally {
    await file.close();
  }
}

/** Fsyncs a directory so renames and new entries in it are durable. */
export async function syncDirectory(path: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(path, 'r');
    await handle.sync();
  } catch (error) {
    // Some filesystems refuse fsync on directories (EINVAL/EISDIR/EPERM); the rename is still atomic.
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'EPERM' && code !== 'EBADF') throw error;
  } finally {
    await handle?.close();
  }
}

/** Writes a file atomically: temp file beside it, fsync, rename over `path`, fsync the directory. */
export async function writeFileAtomic(path: string, content: string | Uint8Array | FileWriter): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = temporarySibling(path);
  try {
    await writeFileDurable(temporary, content);
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  await syncDirectory(dirname(path));
}

/** The synchronous twin of `writeFileAtomic` (temp file, fsync, rename, fsync of the directory). */
export function writeFileAtomicSync(path: string, content: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = temporarySibling(path);
  try {
    const fd = openSync(temporary, 'w');
    try {
      const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
      let written = 0;
      while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
  syncDirectorySync(dirname(path));
}

function syncDirectorySync(path: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    fsyncSync(fd);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'EPERM' && code !== 'EBADF') throw error;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
