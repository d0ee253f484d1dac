/**
 * The safetensors format (Hugging Face): an 8-byte little-endian header length N, N bytes of JSON
 * `{name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?: {string: string}}` padded with
 * spaces to a multiple of 8, then the raw little-endian tensor bytes, offsets relative to byte 8+N.
 *
 * Reading accepts F32, F16, BF16 and F64 (converted to float32) and validates every field: the
 * header bounds, the JSON, each dtype and shape, and that the offsets tile the data section exactly
 * (sorted, no gap, no overlap, ending at the end of the file). Files are read header first, then
 * one tensor at a time, so nothing is held twice. Writing produces F32, tensors sorted by name.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { endianness } from 'node:os';
import { CheckpointError } from '../errors.js';
import { writeFileAtomic, type FileWriter } from './atomic-write.js';

/** A float32 tensor: its shape and its row-major data. */
export interface TensorData {
  shape: number[];
  data: Float32Array;
}

/** The dtypes this reader converts to float32. */
export type SafetensorsDtype = 'F32' | 'F16' | 'BF16' | 'F64';

/** One tensor's header entry; `begin`/`end` are byte offsets into the data section. */
export interface SafetensorsEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  begin: number;
  end: number;
}

/** A parsed header: entries in file order, the `__metadata__` map, and where the data starts. */
export interface SafetensorsHeader {
  entries: SafetensorsEntry[];
  metadata: Record<string, string>;
  dataStart: number;
}

/** A whole safetensors file in memory. */
export interface SafetensorsContents {
  tensors: Map<string, TensorData>;
  metadata: Record<string, string>;
}

/** The largest header accepted (the reference implementation's limit). */
export const MAX_HEADER_BYTES = 100_000_000;

const BYTES_PER_ELEMENT: Record<SafetensorsDtype, number> = { F32: 4, F16: 2, BF16: 2, F64: 8 };
const KNOWN_UNSUPPORTED = new Set([
  'BOOL',
  'U8',
  'I8',
  'I16',
  'U16',
  'I32',
  'U32',
  'I64',
  'U64',
  'F8_E4M3',
  'F8_E5M2',
  'F8_E8M0',
  'F4',
  'F6_E2M3',
  'F6_E3M2',
  'C64',
]);
const LITTLE_ENDIAN = endianness() === 'LE';

/** Parses and validates a header given its JSON bytes, the data section size and a name for errors. */
export function parseSafetensorsHeader(json: Uint8Array, dataBytes: number, source: string): SafetensorsHeader {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(json));
  } catch (error) {
    throw new CheckpointError(
      `${source}: the safetensors header is not valid UTF-8 JSON (${(error as Error).message})`,
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new CheckpointError(
      `${source}: the safetensors header must be a JSON object, ` +
        `got ${Array.isArray(parsed) ? 'an array' : typeof parsed}`,
    );
  }
  const metadata: Record<string, string> = {};
  const entries: SafetensorsEntry[] = [];
  for (const [name, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw new CheckpointError(`${source}: __metadata__ must be an object of strings`);
      }
      for (const [key, text] of Object.entries(value)) {
        if (typeof text !== 'string')
          throw new CheckpointError(`${source}: __metadata__.${key} must be a string, got ${typeof text}`);
        metadata[key] = text;
      }
      continue;
    }
    entries.push(parseEntry(name, value, source));
  }
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expectedBegin = 0;
  let previous: SafetensorsEntry | undefined;
  for (const entry of entries) {
    if (entry.begin < expectedBegin) {
      throw new CheckpointError(
        `${source}: tensor "${entry.name}" bytes [${entry.begin}, ${entry.end}) ` +
          `overlap tensor "${previous?.name}" bytes [${previous?.begin}, ${previous?.end})`,
      );
    }
    if (entry.begin > expectedBegin) {
      throw new CheckpointError(
        `${source}: tensor "${entry.name}" starts at byte ${entry.begin} but ` +
          `the previous tensor ends at ${expectedBegin} (a gap in data_offsets)`,
      );
    }
    expectedBegin = entry.end;
    previous = entry;
  }
  if (expectedBegin !== dataBytes) {
    throw new CheckpointError(
      `${source}: the tensors cover ${expectedBegin} bytes of ` +
        `data but the file holds ${dataBytes} bytes after the header`,
    );
  }
  return { entries, metadata, dataStart: 8 + json.length };
}

function parseEntry(name: string, value: unknown, source: string): SafetensorsEntry {
  const where = `${source}: tensor "${name}"`;
  if (name.length === 0) throw new CheckpointError(`${source}: a tensor has an empty name`);
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new CheckpointError(`${where}: entry must be an object with dtype, shape, data_offsets`);
  const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
  if (typeof dtype !== 'string')
    throw new CheckpointError(`${where}: dtype must be a string, got ${JSON.stringify(dtype)}`);
  if (!(dtype in BYTES_PER_ELEMENT)) {
    const why = KNOWN_UNSUPPORTED.has(dtype) ? 'is not supported' : 'is unknown';
    throw new CheckpointError(`${where}: dtype ${dtype} ${why} (expected F32, F16, BF16 or F64)`);
  }
  if (!Array.isArray(shape) || !shape.every((size) => Number.isSafeInteger(size) && size >= 0)) {
    throw new CheckpointError(
      `${where}: shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`,
    );
  }
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) ||
    offsets[0] > offsets[1]
  ) {
    throw new CheckpointError(
      `${where}: data_offsets must be [begin, end] with 0 <= begin <= end, got ${JSON.stringify(offsets)}`,
    );
  }
  const elements = (shape as number[]).reduce((product, size) => product * size, 1);
  const bytes = elements * BYTES_PER_ELEMENT[dtype as SafetensorsDtype];
  const [begin, end] = offsets as [number, number];
  if (end - begin !== bytes) {
    throw new CheckpointError(
      `${where}: shape [${shape.join(', ')}] of ${dtype} needs ${bytes} ` +
        `bytes but data_offsets [${begin}, ${end}] span ${end - begin}`,
    );
  }
  return { name, dtype: dtype as SafetensorsDtype, shape: [...(shape as number[])], begin, end };
}

/** Reads the 8-byte length, checks it against the file size, and returns the validated header. */
export async function readSafetensorsHeaderFrom(
  file: FileHandle,
  fileBytes: number,
  source: string,
): Promise<SafetensorsHeader> {
  if (fileBytes < 8)
    throw new CheckpointError(`${source}: file has ${fileBytes} bytes, fewer than the 8-byte header length`);
  const lengthBytes = Buffer.alloc(8);
  await file.read(lengthBytes, 0, 8, 0);
  const headerBytes = lengthBytes.readBigUInt64LE(0);
  if (headerBytes === 0n || headerBytes > BigInt(MAX_HEADER_BYTES) || headerBytes > BigInt(fileBytes - 8)) {
    throw new CheckpointError(
      `${source}: header length ${headerBytes} is out of bounds ` +
        `(file has ${fileBytes} bytes; limit ${MAX_HEADER_BYTES})`,
    );
  }
  const json = Buffer.alloc(Number(headerBytes));
  await file.read(json, 0, json.length, 8);
  return parseSafetensorsHeader(json, fileBytes - 8 - json.length, source);
}

/** Reads and validates only the header of a safetensors file. */
export async function readSafetensorsHeader(path: string): Promise<SafetensorsHeader> {
  const file = await openForReading(path);
  try {
    return await readSafetensorsHeaderFrom(file, (await file.stat()).size, path);
  } finally {
    await file.close();
  }
}

/** Reads a safetensors file (every tensor, or only `names`) as float32 tensors. */
export async function readSafetensors(
  path: string,
  options: { names?: Iterable<string> } = {},
): Promise<SafetensorsContents> {
  const file = await openForReading(path);
  try {
    const header = await readSafetensorsHeaderFrom(file, (await file.stat()).size, path);
    const wanted = options.names === undefined ? undefined : new Set(options.names);
    const tensors = new Map<string, TensorData>();
    for (const entry of header.entries) {
      if (wanted !== undefined && !wanted.has(entry.name)) continue;
      const bytes = new Uint8Array(entry.end - entry.begin);
      const { bytesRead } = await file.read(bytes, 0, bytes.length, header.dataStart + entry.begin);
      if (bytesRead !== bytes.length)
        throw new CheckpointError(
          `${path}: tensor "${entry.name}" is truncated (${bytesRead} of ${bytes.length} bytes)`,
        );
      tensors.set(entry.name, { shape: entry.shape, data: toFloat32(bytes, entry.dtype) });
    }
    if (wanted !== undefined) {
      const absent = [...wanted].filter((name) => !tensors.has(name));
      if (absent.length > 0) throw new CheckpointError(`${path}: tensors not in the file: ${absent.join(', ')}`);
    }
    return { tensors, metadata: header.metadata };
  } finally {
    await file.close();
  }
}

/** Decodes a whole safetensors file already in memory. */
export function decodeSafetensors(bytes: Uint8Array, source = 'safetensors buffer'): SafetensorsContents {
  if (bytes.length < 8)
    throw new CheckpointError(`${source}: ${bytes.length} bytes, fewer than the 8-byte header length`);
  const headerBytes = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (headerBytes === 0n || headerBytes > BigInt(MAX_HEADER_BYTES) || headerBytes > BigInt(bytes.length - 8)) {
    throw new CheckpointError(
      `${source}: header length ${headerBytes} is out of bounds (buffer has ${bytes.length} bytes)`,
    );
  }
  const headerLength = Number(headerBytes);
  const header = parseSafetensorsHeader(bytes.subarray(8, 8 + headerLength), bytes.length - 8 - headerLength, source);
  const tensors = new Map<string, TensorData>();
  for (const entry of header.entries) {
    const slice = bytes.slice(header.dataStart + entry.begin, header.dataStart + entry.end);
    tensors.set(entry.name, { shape: entry.shape, data: toFloat32(slice, entry.dtype) });
  }
  return { tensors, metadata: header.metadata };
}

/** Builds the padded header of an F32 file for `tensors` (sorted by name) and returns it with the order. */
export function encodeSafetensorsHeader(
  tensors: ReadonlyMap<string, TensorData>,
  metadata: Record<string, string> = {},
): { header: Buffer; names: string[] } {
  const names = [...tensors.keys()].sort();
  const json: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) json.__metadata__ = metadata;
  let offset = 0;
  for (const name of names) {
    const tensor = tensors.get(name)!;
    checkTensor(name, tensor);
    const end = offset + tensor.data.length * 4;
    json[name] = { dtype: 'F32', shape: tensor.shape, data_offsets: [offset, end] };
    offset = end;
  }
  let text = JSON.stringify(json);
  const padding = (8 - (Buffer.byteLength(text) % 8)) % 8;
  text += ' '.repeat(padding);
  const body = Buffer.from(text, 'utf-8');
  const header = Buffer.alloc(8 + body.length);
  header.writeBigUInt64LE(BigInt(body.length), 0);
  body.copy(header, 8);
  return { header, names };
}

/** Encodes tensors as one F32 safetensors buffer (for small files and tests). */
export function encodeSafetensors(
  tensors: ReadonlyMap<string, TensorData>,
  metadata: Record<string, string> = {},
): Buffer {
  const { header, names } = encodeSafetensorsHeader(tensors, metadata);
  return Buffer.concat([header, ...names.map((name) => littleEndianBytes(tensors.get(name)!.data))]);
}

/** A streaming writer of an F32 safetensors file, one tensor at a time (validates shapes first). */
export function safetensorsWriter(
  tensors: ReadonlyMap<string, TensorData>,
  metadata: Record<string, string> = {},
): FileWriter {
  const { header, names } = encodeSafetensorsHeader(tensors, metadata);
  return async (file) => {
    await file.write(header);
    for (const name of names) await file.write(littleEndianBytes(tensors.get(name)!.data));
  };
}

/** Writes tensors as an F32 safetensors file atomically, streaming one tensor at a time. */
export async function writeSafetensors(
  path: string,
  tensors: ReadonlyMap<string, TensorData>,
  metadata: Record<string, string> = {},
): Promise<void> {
  await writeFileAtomic(path, safetensorsWriter(tensors, metadata));
}

function checkTensor(name: string, tensor: TensorData): void {
  if (!(tensor.data instanceof Float32Array))
    throw new CheckpointError(`tensor "${name}": data must be a Float32Array`);
  if (!Array.isArray(tensor.shape) || !tensor.shape.every((size) => Number.isSafeInteger(size) && size >= 0)) {
    throw new CheckpointError(
      `tensor "${name}": shape must be non-negative integers, got ${JSON.stringify(tensor.shape)}`,
    );
  }
  const elements = tensor.shape.reduce((product, size) => product * size, 1);
  if (elements !== tensor.data.length) {
    throw new CheckpointError(
      `tensor "${name}": shape [${tensor.shape.join(', ')}] has ` +
        `${elements} elements but data has ${tensor.data.length}`,
    );
  }
}

function littleEndianBytes(data: Float32Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const bytes = new Uint8Array(data.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i]!, true);
  return bytes;
}

/** Converts little-endian bytes of `dtype` to float32 values. */
export function toFloat32(bytes: Uint8Array, dtype: SafetensorsDtype): Float32Array {
  const count = bytes.length / BYTES_PER_ELEMENT[dtype];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(count);
  if (dtype === 'F32') {
    if (LITTLE_ENDIAN && bytes.byteOffset % 4 === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, count);
    for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
  } else if (dtype === 'F64') {
    for (let i = 0; i < count; i++) out[i] = view.getFloat64(i * 8, true);
  } else if (dtype === 'BF16') {
    const bits = new Uint32Array(out.buffer);
    for (let i = 0; i < count; i++) bits[i] = view.getUint16(i * 2, true) << 16;
  } else {
    for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(i * 2, true));
  }
  return out;
}

/** The value of an IEEE 754 half-precision number given its 16 bits. */
export function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

async function openForReading(path: string): Promise<FileHandle> {
  try {
    return await open(path, 'r');
  } catch (error) {
    throw new CheckpointError(`cannot open ${path}: ${(error as Error).message}`);
  }
}
