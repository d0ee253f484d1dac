import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CheckpointError } from '../errors.js';
import {
  decodeSafetensors,
  encodeSafetensors,
  halfToFloat,
  readSafetensors,
  readSafetensorsHeader,
  writeSafetensors,
  type TensorData,
} from './safetensors.js';

/** Builds a raw safetensors buffer from a header object and data bytes, without any validation. */
function rawFile(header: unknown, data: Uint8Array, headerText?: string): Buffer {
  const json = Buffer.from(headerText ?? JSON.stringify(header));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([length, json, data]);
}

function tensors(): Map<string, TensorData> {
  return new Map([
    ['model.norm.weight', { shape: [3], data: new Float32Array([1, 2.5, -3]) }],
    ['model.embed_tokens.weight', { shape: [2, 2], data: new Float32Array([0.1, -0.2, 1e-30, 3e38]) }],
    ['empty', { shape: [0, 4], data: new Float32Array(0) }],
  ]);
}

let directory: string;
beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), 'safetensors-'));
});
afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe('safetensors', () => {
  it('round-trips F32 tensors and metadata through a file exactly', async () => {
    const path = join(directory, 'model.safetensors');
    await writeSafetensors(path, tensors(), { format: 'pt' });
    const read = await readSafetensors(path);
    expect(read.metadata).toEqual({ format: 'pt' });
    expect([...read.tensors.keys()]).toEqual(['empty', 'model.embed_tokens.weight', 'model.norm.weight']);
    for (const [name, tensor] of tensors()) {
      expect(read.tensors.get(name)!.shape).toEqual(tensor.shape);
      expect(Array.from(read.tensors.get(name)!.data)).toEqual(Array.from(tensor.data));
    }
    expect(await readdir(directory)).toEqual(['model.safetensors']);
  });

  it('pads the JSON header to a multiple of 8 bytes with spaces as Hugging Face does', () => {
    const bytes = encodeSafetensors(tensors(), { format: 'pt' });
    const length = Number(bytes.readBigUInt64LE(0));
    expect(length % 8).toBe(0);
    const text = bytes.subarray(8, 8 + length).toString();
    expect(JSON.parse(text).__metadata__).toEqual({ format: 'pt' });
    expect(text.trimEnd().length).toBeLessThanOrEqual(text.length);
    expect(bytes.length).toBe(8 + length + (3 + 4 + 0) * 4);
  });

  it('reads only the requested tensors and reports requested names that are absent', async () => {
    const path = join(directory, 'a.safetensors');
    await writeSafetensors(path, tensors());
    const read = await readSafetensors(path, { names: ['model.norm.weight'] });
    expect([...read.tensors.keys()]).toEqual(['model.norm.weight']);
    await expect(readSafetensors(path, { names: ['lm_head.weight'] })).rejects.toThrow(/lm_head.weight/);
  });

  it('reads the header alone with entries in file order', async () => {
    const path = join(directory, 'a.safetensors');
    await writeSafetensors(path, tensors());
    const header = await readSafetensorsHeader(path);
    expect(header.entries.map((entry) => [entry.name, entry.begin, entry.end])).toEqual([
      ['empty', 0, 0],
      ['model.embed_tokens.weight', 0, 16],
      ['model.norm.weight', 16, 28],
    ]);
    expect(header.dataStart % 8).toBe(0);
  });

  it('converts F16, BF16 and F64 to float32', () => {
    const f16 = new Uint8Array(new Uint16Array([0x3c00, 0xc000, 0x0001, 0x7bff, 0x7c00]).buffer);
    const bf16 = new Uint8Array(new Uint16Array([0x3f80, 0xc0a0, 0x0000]).buffer);
    const f64 = new Uint8Array(new Float64Array([0.1, -7]).buffer);
    const file = rawFile(
      {
        half: { dtype: 'F16', shape: [5], data_offsets: [0, 10] },
        brain: { dtype: 'BF16', shape: [3], data_offsets: [10, 16] },
        double: { dtype: 'F64', shape: [2, 1], data_offsets: [16, 32] },
      },
      Buffer.concat([f16, bf16, f64]),
    );
    const read = decodeSafetensors(file);
    expect(Array.from(read.tensors.get('half')!.data)).toEqual([1, -2, 2 ** -24, 65504, Infinity]);
    expect(Array.from(read.tensors.get('brain')!.data)).toEqual([1, -5, 0]);
    expect(read.tensors.get('double')!.data[0]).toBeCloseTo(0.1, 7);
    expect(read.tensors.get('double')!.shape).toEqual([2, 1]);
    expect(Number.isNaN(halfToFloat(0x7e00))).toBe(true);
  });

  const bad: Array<[string, Buffer, RegExp]> = [
    ['a file shorter than 8 bytes', Buffer.alloc(5), /fewer than the 8-byte/],
    [
      'a header length beyond the file',
      Buffer.concat([Buffer.from([255, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{}')]),
      /header length 255 is out of bounds/,
    ],
    ['a zero header length', Buffer.alloc(8), /header length 0/],
    ['header JSON that does not parse', rawFile(null, new Uint8Array(), '{"a": '), /not valid UTF-8 JSON/],
    ['a header that is an array', rawFile([1], new Uint8Array()), /must be a JSON object, got an array/],
    [
      'an unknown dtype',
      rawFile({ w: { dtype: 'Q4', shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1)),
      /tensor "w": dtype Q4 is unknown/,
    ],
    [
      'an unsupported integer dtype',
      rawFile({ w: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, new Uint8Array(8)),
      /tensor "w": dtype I64 is not supported/,
    ],
    [
      'a negative shape',
      rawFile({ w: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, new Uint8Array(4)),
      /tensor "w": shape must be/,
    ],
    [
      'a shape that disagrees with the byte length',
      rawFile({ w: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 12] } }, new Uint8Array(12)),
      /tensor "w": shape \[2, 2\] of F32 needs 16 bytes but data_offsets \[0, 12\] span 12/,
    ],
    [
      'reversed offsets',
      rawFile({ w: { dtype: 'F32', shape: [1], data_offsets: [4, 0] } }, new Uint8Array(4)),
      /tensor "w": data_offsets must be/,
    ],
    [
      'offsets past the end of the file',
      rawFile({ w: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, new Uint8Array(8)),
      /cover 16 bytes of data but the file holds 8/,
    ],
    [
      'overlapping tensors',
      rawFile(
        {
          a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
          b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
        },
        new Uint8Array(12),
      ),
      /tensor "b" bytes \[4, 12\) overlap tensor "a"/,
    ],
    [
      'a gap between tensors',
      rawFile({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, new Uint8Array(8)),
      /tensor "a" starts at byte 4 .* gap/,
    ],
    [
      'trailing bytes after the last tensor',
      rawFile({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(8)),
      /cover 4 bytes of data but the file holds 8/,
    ],
    [
      'non-string metadata',
      rawFile({ __metadata__: { step: 3 } }, new Uint8Array()),
      /__metadata__.step must be a string/,
    ],
  ];
  for (const [what, file, message] of bad) {
    it(`rejects ${what} with a CheckpointError`, async () => {
      expect(() => decodeSafetensors(file)).toThrow(CheckpointError);
      expect(() => decodeSafetensors(file)).toThrow(message);
      const path = join(directory, 'bad.safetensors');
      await writeFile(path, file);
      await expect(readSafetensors(path)).rejects.toThrow(message);
    });
  }

  it('refuses to write a tensor whose shape does not match its data', async () => {
    const wrong = new Map([['w', { shape: [2, 3], data: new Float32Array(5) }]]);
    await expect(writeSafetensors(join(directory, 'w.safetensors'), wrong)).rejects.toThrow(
      /tensor "w": shape \[2, 3\] has 6 elements but data has 5/,
    );
    expect(await readdir(directory)).toEqual([]);
  });

  it('names the file when it cannot be opened', async () => {
    await expect(readSafetensors(join(directory, 'missing.safetensors'))).rejects.toThrow(
      /cannot open .*missing.safetensors/,
    );
  });

  it('writes bytes that a hand-built little-endian reader agrees with', async () => {
    const path = join(directory, 'le.safetensors');
    await writeSafetensors(path, new Map([['x', { shape: [1], data: new Float32Array([1.5]) }]]));
    const bytes = await readFile(path);
    expect(bytes.readFloatLE(bytes.length - 4)).toBe(1.5);
  });
});
