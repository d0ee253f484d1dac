import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeGguf, encodeGguf, floatToHalf, writeGguf, type GgufContents } from './gguf-writer.js';
import { halfToFloat } from './safetensors.js';

const dir = mkdtempSync(join(tmpdir(), 'turnwise-gguf-writer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const contents = (): GgufContents => ({
  metadata: new Map([
    ['general.architecture', { type: 'string', value: 'llama' }],
    ['llama.block_count', { type: 'uint32', value: 3 }],
    ['llama.rope.freq_base', { type: 'float32', value: 10000 }],
    ['tokenizer.ggml.add_bos_token', { type: 'bool', value: false }],
    ['tokenizer.ggml.tokens', { type: 'array', itemType: 'string', value: ['a', 'Ġb', '<|im_end|>'] }],
    ['tokenizer.ggml.token_type', { type: 'array', itemType: 'int32', value: [1, 1, 3] }],
  ]),
  tensors: [
    {
      name: 'token_embd.weight',
      shape: [3, 5],
      data: Float32Array.from({ length: 15 }, (_, i) => i / 7),
      dtype: 'F32',
    },
    { name: 'output_norm.weight', shape: [5], data: Float32Array.of(1, -2, 0.5, 3, 1e-3), dtype: 'F16' },
  ],
});

describe('GGUF container', () => {
  it('round-trips metadata and tensors, dimensions innermost first on disk', () => {
    const bytes = encodeGguf(contents());
    expect(Buffer.from(bytes.subarray(0, 4)).toString('latin1')).toBe('GGUF');
    const decoded = decodeGguf(bytes);
    expect(decoded.version).toBe(3);
    expect(decoded.metadata.get('general.architecture')).toBe('llama');
    expect(decoded.metadata.get('llama.block_count')).toBe(3);
    expect(decoded.metadata.get('llama.rope.freq_base')).toBe(10000);
    expect(decoded.metadata.get('tokenizer.ggml.add_bos_token')).toBe(false);
    expect(decoded.metadata.get('tokenizer.ggml.tokens')).toEqual(['a', 'Ġb', '<|im_end|>']);
    expect(decoded.metadata.get('tokenizer.ggml.token_type')).toEqual([1, 1, 3]);
    const embedding = decoded.tensors.get('token_embd.weight')!;
    expect(embedding.shape).toEqual([3, 5]);
    expect(embedding.data).toEqual(contents().tensors[0]!.data);
    const norm = decoded.tensors.get('output_norm.weight')!;
    expect(norm.dtype).toBe('F16');
    expect(Array.from(norm.data)).toEqual([1, -2, 0.5, 3, halfToFloat(floatToHalf(1e-3))]);
    // The first tensor info stores ne = [5, 3] (columns first), as ggml does.
    const text = Buffer.from(bytes).toString('latin1');
    const info = text.indexOf('token_embd.weight') + 'token_embd.weight'.length;
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    expect(view.getUint32(info, true)).toBe(2);
    expect([Number(view.getBigUint64(info + 4, true)), Number(view.getBigUint64(info + 12, true))]).toEqual([5, 3]);
  });

  it('starts the data section and every tensor at a multiple of 32 bytes', () => {
    const bytes = encodeGguf(contents());
    // 15 floats = 60 bytes, padded to 64; the F16 tensor follows at offset 64 of the data section.
    const tail = bytes.length - 64 - 32;
    expect(tail % 32).toBe(0);
    expect(new Float32Array(bytes.slice(tail, tail + 60).buffer)).toEqual(contents().tensors[0]!.data);
  });

  it('converts to F16 with round to nearest even, subnormals and the largest finite value', () => {
    expect(floatToHalf(1)).toBe(0x3c00);
    expect(floatToHalf(-2)).toBe(0xc000);
    expect(floatToHalf(65504)).toBe(0x7bff);
    expect(floatToHalf(2 ** -24)).toBe(0x0001);
    expect(floatToHalf(2 ** -26)).toBe(0x0000);
    expect(floatToHalf(1 + 2 ** -11)).toBe(0x3c00); // halfway, rounds to the even mantissa
    expect(floatToHalf(1 + 3 * 2 ** -11)).toBe(0x3c02);
    for (const value of [0.1, -3.25, 1e-5, 1234.5, 6e-8]) {
      expect(Math.abs(halfToFloat(floatToHalf(value)) - value)).toBeLessThanOrEqual(
        Math.abs(value) * 2 ** -11 + 2 ** -25,
      );
    }
  });

  it('refuses a value beyond F16 range, naming the tensor, and a shape that does not match the data', () => {
    const big = contents();
    big.tensors[1]!.data[2] = 1e6;
    expect(() => encodeGguf(big)).toThrow(/output_norm\.weight: value 1000000 at index 2 does not fit F16/);
    const wrong = { ...contents(), tensors: [{ ...contents().tensors[0]!, shape: [4, 5] }] };
    expect(() => encodeGguf(wrong)).toThrow(/token_embd\.weight: shape \[4, 5\] holds 20 values, got 15/);
  });

  it('streams the same bytes to a file as it encodes in memory', async () => {
    const path = join(dir, 'model.gguf');
    const size = await writeGguf(path, contents());
    const written = readFileSync(path);
    expect(written.length).toBe(size);
    expect(Buffer.compare(written, Buffer.from(encodeGguf(contents())))).toBe(0);
  });

  it('refuses a file that is not GGUF or is truncated, in one line', () => {
    expect(() => decodeGguf(Buffer.from('PK\u0003\u0004 not gguf'), 'x.gguf')).toThrow(/x\.gguf: not a GGUF file/);
    const bytes = encodeGguf(contents());
    expect(() => decodeGguf(bytes.subarray(0, 40), 'cut.gguf')).toThrow(/cut\.gguf: truncated at byte/);
  });
});
