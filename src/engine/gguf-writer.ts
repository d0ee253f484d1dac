/**
 * The GGUF container (version 3, llama.cpp's model file; docs/gguf.md of ggml-org/ggml): a header
 * (magic `GGUF`, version, tensor and metadata counts), typed metadata key/values, one info record
 * per tensor (name, dimensions innermost first, ggml type, offset), then the tensor data, each
 * tensor at a multiple of `general.alignment` (32) bytes. All little-endian. Tensors are written
 * as F32 or F16 (round to nearest even, a value beyond F16's range refused naming the tensor).
 * `writeGguf` streams the file through an atomic write; `decodeGguf` reads one back (tests, checks).
 */
import { DataError } from '../errors.js';
import { writeFileAtomic } from './atomic-write.js';
import { halfToFloat } from './safetensors.js';

/** A metadata value with its GGUF type. */
export type GgufValue =
  | { type: 'uint32' | 'int32' | 'float32'; value: number }
  | { type: 'bool'; value: boolean }
  | { type: 'string'; value: string }
  | { type: 'array'; itemType: 'string'; value: readonly string[] }
  | { type: 'array'; itemType: 'int32' | 'float32'; value: ArrayLike<number> };

/** One tensor: its shape in row-major order (outermost first, as PyTorch), its float32 data, how to store it. */
export interface GgufTensor {
  name: string;
  shape: readonly number[];
  data: Float32Array;
  dtype: 'F32' | 'F16';
}

/** What a GGUF file holds. */
export interface GgufContents {
  metadata: ReadonlyMap<string, GgufValue>;
  tensors: readonly GgufTensor[];
}

const MAGIC = 0x46554747; // "GGUF" read as a little-endian uint32
const VERSION = 3;
const ALIGNMENT = 32;
const VALUE_TYPES = { uint32: 4, int32: 5, float32: 6, bool: 7, string: 8, array: 9 } as const;
const GGML_TYPES = { F32: 0, F16: 1 } as const;
const BYTES_PER_ELEMENT = { F32: 4, F16: 2 } as const;
const F16_MAX = 65504;

/** Little-endian bytes appended to a growing list of chunks. */
class ByteWriter {
  readonly chunks: Uint8Array[] = [];
  length = 0;
  private push(bytes: Uint8Array): void {
    this.chunks.push(bytes);
    this.length += bytes.length;
  }
  private scalar(size: number, set: (view: DataView) => void): void {
    const bytes = new Uint8Array(size);
    set(new DataView(bytes.buffer));
    this.push(bytes);
  }
  u8(value: number): void {
    this.push(Uint8Array.of(value));
  }
  u32(value: number): void {
    this.scalar(4, (view) => view.setUint32(0, value, true));
  }
  i32(value: number): void {
    this.scalar(4, (view) => view.setInt32(0, value, true));
  }
  f32(value: number): void {
    this.scalar(4, (view) => view.setFloat32(0, value, true));
  }
  u64(value: number): void {
    this.scalar(8, (view) => view.setBigUint64(0, BigInt(value), true));
  }
  string(value: string): void {
    const bytes = Buffer.from(value, 'utf-8');
    this.u64(bytes.length);
    this.push(bytes);
  }
  zeros(count: number): void {
    if (count > 0) this.push(new Uint8Array(count));
  }
  concat(): Uint8Array {
    return Buffer.concat(this.chunks, this.length);
  }
}

function writeValue(writer: ByteWriter, value: GgufValue): void {
  writer.u32(VALUE_TYPES[value.type]);
  switch (value.type) {
    case 'uint32':
      writer.u32(value.value);
      break;
    case 'int32':
      writer.i32(value.value);
      break;
    case 'float32':
      writer.f32(value.value);
      break;
    case 'bool':
      writer.u8(value.value ? 1 : 0);
      break;
    case 'string':
      writer.string(value.value);
      break;
    case 'array': {
      writer.u32(VALUE_TYPES[value.itemType]);
      writer.u64(value.value.length);
      if (value.itemType === 'string') for (const item of value.value) writer.string(item);
      else if (value.itemType === 'int32') for (let i = 0; i < value.value.length; i++) writer.i32(value.value[i]!);
      else for (let i = 0; i < value.value.length; i++) writer.f32(value.value[i]!);
    }
  }
}

const padding = (offset: number) => (ALIGNMENT - (offset % ALIGNMENT)) % ALIGNMENT;

/** The header, metadata and tensor infos (padded to the data section), and each tensor's offset in the data. */
function encodeHeader(contents: GgufContents): { header: Uint8Array; offsets: number[]; dataBytes: number } {
  const writer = new ByteWriter();
  writer.u32(MAGIC);
  writer.u32(VERSION);
  writer.u64(contents.tensors.length);
  writer.u64(contents.metadata.size);
  for (const [key, value] of contents.metadata) {
    writer.string(key);
    writeValue(writer, value);
  }
  const offsets: number[] = [];
  let offset = 0;
  for (const tensor of contents.tensors) {
    const count = tensor.shape.reduce((a, b) => a * b, 1);
    if (count !== tensor.data.length)
      throw new DataError(
        `GGUF tensor ${tensor.name}: shape [${tensor.shape.join(', ')}] holds ${count} values, ` +
          `got ${tensor.data.length}`,
      );
    writer.string(tensor.name);
    writer.u32(tensor.shape.length);
    for (let d = tensor.shape.length - 1; d >= 0; d--) writer.u64(tensor.shape[d]!); // ne[0] is the innermost
    writer.u32(GGML_TYPES[tensor.dtype]);
    writer.u64(offset);
    offsets.push(offset);
    offset += count * BYTES_PER_ELEMENT[tensor.dtype];
    offset += padding(offset);
  }
  writer.zeros(padding(writer.length));
  return { header: writer.concat(), offsets, dataBytes: offset };
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** The IEEE 754 half-precision bits of `value` (round to nearest even). */
export function floatToHalf(value: number): number {
  f32Scratch[0] = value;
  const bits = u32Scratch[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exponent = ((bits >>> 23) & 0xff) - 127 + 15;
  let mantissa = bits & 0x7fffff;
  if (((bits >>> 23) & 0xff) === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  if (exponent >= 0x1f) return sign | 0x7c00;
  let shift = 13;
  let base = exponent << 10;
  if (exponent <= 0) {
    if (exponent < -10) return sign;
    mantissa |= 0x800000;
    shift = 14 - exponent;
    base = 0;
  }
  let half = base + (mantissa >>> shift);
  const rest = mantissa & ((1 << shift) - 1);
  const halfway = 1 << (shift - 1);
  if (rest > halfway || (rest === halfway && half & 1)) half++; // a carry into the exponent is still right
  return sign | half;
}

/** One tensor's stored bytes. */
function tensorBytes(tensor: GgufTensor): Uint8Array {
  if (tensor.dtype === 'F32') {
    const copy = new Float32Array(tensor.data); // own, aligned, little-endian on every platform Node ships for
    return new Uint8Array(copy.buffer);
  }
  const halves = new Uint16Array(tensor.data.length);
  for (let i = 0; i < halves.length; i++) {
    const value = tensor.data[i]!;
    if (!(Math.abs(value) <= F16_MAX))
      throw new DataError(
        `GGUF tensor ${tensor.name}: value ${value} at index ${i} does not fit F16 (|x| <= 65504); export as F32`,
      );
    halves[i] = floatToHalf(value);
  }
  return new Uint8Array(halves.buffer);
}

/** The whole file in memory (small models and tests; `writeGguf` streams instead). */
export function encodeGguf(contents: GgufContents): Uint8Array {
  const { header, dataBytes } = encodeHeader(contents);
  const out = new Uint8Array(header.length + dataBytes);
  out.set(header);
  let position = header.length;
  for (const tensor of contents.tensors) {
    const bytes = tensorBytes(tensor);
    out.set(bytes, position);
    position += bytes.length + padding(bytes.length);
  }
  return out;
}

/** Writes a GGUF file atomically (temporary sibling, fsync, rename), one tensor in memory at a time. */
export async function writeGguf(path: string, contents: GgufContents): Promise<number> {
  const { header, dataBytes } = encodeHeader(contents);
  await writeFileAtomic(path, async (file) => {
    await file.write(header);
    for (const tensor of contents.tensors) {
      const bytes = tensorBytes(tensor);
      await file.write(bytes);
      await file.write(new Uint8Array(padding(bytes.length)));
    }
  });
  return header.length + dataBytes;
}

/** A decoded GGUF file: metadata as plain values, tensors as float32 in row-major shape. */
export interface DecodedGguf {
  version: number;
  metadata: Map<string, unknown>;
  tensors: Map<string, { shape: number[]; dtype: 'F32' | 'F16'; data: Float32Array }>;
}

/** Little-endian reads with a bounds check that names the file. */
class ByteReader {
  position = 0;
  private readonly view: DataView;
  constructor(
    private readonly bytes: Uint8Array,
    private readonly source: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  /** The offset of `count` bytes read from here, the position moved past them. */
  take(count: number): number {
    if (this.position + count > this.bytes.length)
      throw new DataError(
        `${this.source}: truncated at byte ${this.position} (needs ${count} more, file has ${this.bytes.length})`,
      );
    this.position += count;
    return this.position - count;
  }
  u32(): number {
    return this.view.getUint32(this.take(4), true);
  }
  u64(): number {
    return Number(this.view.getBigUint64(this.take(8), true));
  }
  string(): string {
    const length = this.u64();
    const start = this.take(length);
    return Buffer.from(this.bytes.buffer, this.bytes.byteOffset + start, length).toString('utf-8');
  }
  value(type: number): unknown {
    if (type === VALUE_TYPES.uint32) return this.u32();
    if (type === VALUE_TYPES.int32) return this.view.getInt32(this.take(4), true);
    if (type === VALUE_TYPES.float32) return this.view.getFloat32(this.take(4), true);
    if (type === VALUE_TYPES.bool) return this.bytes[this.take(1)] === 1;
    if (type === VALUE_TYPES.string) return this.string();
    if (type === VALUE_TYPES.array) {
      const itemType = this.u32();
      return Array.from({ length: this.u64() }, () => this.value(itemType));
    }
    throw new DataError(
      `${this.source}: metadata value type ${type} at byte ${this.position} is not one this reader knows`,
    );
  }
  float(offset: number, dtype: 'F32' | 'F16'): number {
    return dtype === 'F32' ? this.view.getFloat32(offset, true) : halfToFloat(this.view.getUint16(offset, true));
  }
}

/** Reads a GGUF file written with F32/F16 tensors; anything else is a DataError naming what was found. */
export function decodeGguf(bytes: Uint8Array, source = 'GGUF buffer'): DecodedGguf {
  const reader = new ByteReader(bytes, source);
  if (reader.u32() !== MAGIC) throw new DataError(`${source}: not a GGUF file (no GGUF magic)`);
  const version = reader.u32();
  if (version !== VERSION) throw new DataError(`${source}: GGUF version ${version}, expected ${VERSION}`);
  const tensorCount = reader.u64();
  const metadataCount = reader.u64();
  const metadata = new Map<string, unknown>();
  for (let i = 0; i < metadataCount; i++) {
    const key = reader.string();
    metadata.set(key, reader.value(reader.u32()));
  }
  const infos = Array.from({ length: tensorCount }, () => {
    const name = reader.string();
    const dims = Array.from({ length: reader.u32() }, () => reader.u64());
    const type = reader.u32();
    if (type !== GGML_TYPES.F32 && type !== GGML_TYPES.F16)
      throw new DataError(`${source}: tensor ${name} has ggml type ${type}; this reader knows F32 (0) and F16 (1)`);
    const dtype = type === GGML_TYPES.F32 ? ('F32' as const) : ('F16' as const);
    return { name, shape: dims.reverse(), dtype, offset: reader.u64() };
  });
  const dataStart = reader.position + padding(reader.position);
  const tensors: DecodedGguf['tensors'] = new Map();
  for (const info of infos) {
    const count = info.shape.reduce((a, b) => a * b, 1);
    reader.position = dataStart + info.offset;
    const start = reader.take(count * BYTES_PER_ELEMENT[info.dtype]);
    const data = new Float32Array(count);
    for (let i = 0; i < count; i++) data[i] = reader.float(start + i * BYTES_PER_ELEMENT[info.dtype], info.dtype);
    tensors.set(info.name, { shape: info.shape, dtype: info.dtype, data });
  }
  return { version, metadata, tensors };
}
