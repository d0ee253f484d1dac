/**
 * Tar archives in memory, as checkpoint services ship weights (Tinker's sampler archives: a tar of
 * a PEFT adapter; SkyRL's: the same, gzipped). Writing produces POSIX ustar with regular files only.
 * Reading takes ustar, PAX (`path`/`size` records) and GNU long names, gzipped or not, and refuses
 * what could write outside a directory on extraction: links, devices, absolute paths and `..`.
 * Every header's checksum is verified and a truncated archive is an error, never a short file.
 */
import { gunzipSync } from 'node:zlib';
import { CheckpointError, errorMessage } from '../errors.js';

const BLOCK = 512;

/** Packs files (name -> content) into an uncompressed ustar archive, in the order given. */
export function writeTar(files: Record<string, string | Uint8Array>): Buffer {
  const parts: Buffer[] = [];
  for (const [name, content] of Object.entries(files)) {
    checkName(name, 'tar entry');
    if (Buffer.byteLength(name) > 100) throw new CheckpointError(`tar entry name ${name} is longer than 100 bytes`);
    const data = typeof content === 'string' ? Buffer.from(content, 'utf-8') : Buffer.from(content);
    const header = Buffer.alloc(BLOCK);
    header.write(name, 0, 100, 'utf-8');
    header.write('0000644\0', 100, 'ascii');
    header.write('0000000\0', 108, 'ascii');
    header.write('0000000\0', 116, 'ascii');
    header.write(`${data.length.toString(8).padStart(11, '0')}\0`, 124, 'ascii');
    header.write(
      `${Math.floor(Date.now() / 1000)
        .toString(8)
        .padStart(11, '0')}\0`,
      136,
      'ascii',
    );
    header.write('        ', 148, 'ascii');
    header.write('0', 156, 'ascii');
    header.write('ustar\0', 257, 'ascii');
    header.write('00', 263, 'ascii');
    header.write(`${checksum(header).toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
    parts.push(header, data, Buffer.alloc((BLOCK - (data.length % BLOCK)) % BLOCK));
  }
  parts.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(parts);
}

/** Unpacks a tar (or tar.gz) archive into its regular files by relative path; `source` names it in errors. */
export function readTar(archive: Uint8Array, source: string): Map<string, Buffer> {
  let bytes = Buffer.from(archive.buffer, archive.byteOffset, archive.byteLength);
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes);
    } catch (error) {
      throw new CheckpointError(`${source} is a damaged gzip stream: ${errorMessage(error)}`);
    }
  }
  const files = new Map<string, Buffer>();
  let offset = 0;
  let pending: { path?: string; size?: number } = {};
  while (offset + BLOCK <= bytes.length) {
    const header = bytes.subarray(offset, offset + BLOCK);
    if (header.every((byte) => byte === 0)) return files;
    const stored = Number.parseInt(text(header, 148, 8).trim() || 'x', 8);
    if (stored !== checksum(header))
      throw new CheckpointError(`${source}: the tar header at byte ${offset} has a bad checksum (not a tar archive?)`);
    const type = String.fromCharCode(header[156]!);
    const size = pending.size ?? octal(header, 124, 12, source);
    const start = offset + BLOCK;
    if (start + size > bytes.length)
      throw new CheckpointError(`${source} is truncated: an entry of ${size} bytes runs past the end of the archive`);
    const data = bytes.subarray(start, start + size);
    offset = start + Math.ceil(size / BLOCK) * BLOCK;
    const prefix = text(header, 257, 6) === 'ustar' ? text(header, 345, 155) : '';
    let name = pending.path ?? (prefix ? `${prefix}/${text(header, 0, 100)}` : text(header, 0, 100));
    if (type === 'x') {
      pending = { ...pending, ...paxRecords(data, source) };
      continue;
    }
    if (type === 'L') {
      pending = { ...pending, path: data.toString('utf-8').replace(/\0+$/, '') };
      continue;
    }
    pending = {};
    if (type === 'g' || type === '5') continue;
    if (type !== '0' && type !== '\0' && type !== '7')
      throw new CheckpointError(
        `${source}: entry ${JSON.stringify(name)} is a ${TYPE_NAMES[type] ?? `type ${JSON.stringify(type)}`} entry; ` +
          'only regular files are accepted',
      );
    name = name.replace(/^(\.\/)+/, '');
    checkName(name, `${source}: entry`);
    files.set(name, Buffer.from(data));
  }
  throw new CheckpointError(`${source} is truncated: it ends without the tar end-of-archive blocks`);
}

const TYPE_NAMES: Record<string, string> = {
  '1': 'hard link',
  '2': 'symbolic link',
  '3': 'character device',
  '4': 'block device',
  '6': 'FIFO',
};

function checkName(name: string, what: string): void {
  const parts = name.split('/');
  if (name === '' || name.startsWith('/') || parts.some((part) => part === '..') || name.includes('\0'))
    throw new CheckpointError(`${what} ${JSON.stringify(name)} is not a plain relative path`);
}

function checksum(header: Buffer): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : header[i]!;
  return sum;
}

function text(header: Buffer, start: number, length: number): string {
  const field = header.subarray(start, start + length);
  const end = field.indexOf(0);
  return field.subarray(0, end === -1 ? length : end).toString('utf-8');
}

function octal(header: Buffer, start: number, length: number, source: string): number {
  if (header[start]! & 0x80) throw new CheckpointError(`${source}: a tar entry uses a binary size field (over 8 GB)`);
  const value = Number.parseInt(text(header, start, length).trim() || '0', 8);
  if (!Number.isSafeInteger(value) || value < 0)
    throw new CheckpointError(`${source}: a tar entry has a bad size field`);
  return value;
}

/** The `path` and `size` records of a PAX extended header (`<length> <key>=<value>\n` each). */
function paxRecords(data: Buffer, source: string): { path?: string; size?: number } {
  const records: { path?: string; size?: number } = {};
  let offset = 0;
  while (offset < data.length) {
    const space = data.indexOf(0x20, offset);
    const length = Number.parseInt(data.subarray(offset, space).toString('ascii'), 10);
    if (space === -1 || !Number.isSafeInteger(length) || length <= 0 || offset + length > data.length)
      throw new CheckpointError(`${source}: a PAX header record is malformed`);
    const record = data.subarray(space + 1, offset + length - 1).toString('utf-8');
    const equals = record.indexOf('=');
    const key = record.slice(0, equals);
    const value = record.slice(equals + 1);
    if (key === 'path') records.path = value;
    if (key === 'size') records.size = Number.parseInt(value, 10);
    offset += length;
  }
  return records;
}
