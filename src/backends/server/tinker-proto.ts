/**
 * The protobuf wire format of the Tinker Python SDK (0.25+): it posts forward_backward as
 * `application/x-protobuf` (zstd-compressed with `Content-Encoding: zstd` when `client/config` says
 * `proto_compress_fwdbwd`) and asks `retrieve_future` for `SampleResponse` and
 * `ForwardBackwardOutput` results with `Accept: application/x-protobuf`. Everything else stays JSON.
 *
 * `TINKER_PROTO` is our own schema of the messages the SDK uses, written against the field numbers
 * and types of its generated descriptor (`tinker/proto/tinker_public_pb2.py`, package
 * `tinker_public`); protobufjs parses it once. Arrays travel as little-endian bytes: tokens int32,
 * tensors in their dtype, per-datum output offsets int64 byte offsets into one batched buffer.
 */
import protobuf from 'protobufjs';
import type { ForwardBackwardOutput, SampledSequence, TensorData } from '../tinker/wire-schema.js';
import { HttpError } from './http-io.js';

/** The proto3 schema (package `tinker_public`), the subset of messages the SDK sends and reads. */
export const TINKER_PROTO = `
syntax = "proto3";
package tinker_public;

enum StopReason { STOP_REASON_STOP = 0; STOP_REASON_LENGTH = 1; }
enum DType {
  DTYPE_UNSPECIFIED = 0; DTYPE_FLOAT32 = 1; DTYPE_INT64 = 2; DTYPE_INT32 = 3; DTYPE_BFLOAT16 = 4;
}

message SampledSequence {
  StopReason stop_reason = 1;
  bytes tokens = 2;              // int32 little-endian
  optional bytes logprobs = 3;   // float32, one per token
}
message TopkPromptLogprobs { bytes token_ids = 1; bytes logprobs = 2; uint32 k = 3; uint32 prompt_length = 4; }
message SampleResponse {
  repeated SampledSequence sequences = 1;
  optional bytes prompt_logprobs = 2;   // float32, NaN where absent (the first prompt token)
  optional TopkPromptLogprobs topk_prompt_logprobs = 3;
  int32 prompt_cache_hit_tokens = 4;
}

message SparseCsr { bytes values = 1; bytes crow_indices = 2; bytes col_indices = 3; }
message Tensor {
  oneof encoding { bytes dense = 1; SparseCsr sparse_csr = 2; }
  DType dtype = 3;
  repeated int64 shape = 4;
}
message BatchedTensor { bytes data = 1; bytes offsets = 2; DType dtype = 3; repeated int64 trailing_shape = 4; }
message ArrayRecord { string type_tag = 1; map<string, BatchedTensor> fields = 2; int64 num_datums = 3; }
message ForwardBackwardOutput {
  string loss_fn_output_type = 1;
  repeated ArrayRecord loss_fn_outputs = 2;
  map<string, double> metrics = 3;
}

message EncodedTextChunk { bytes tokens = 1; }
message ImageChunk { bytes data = 1; string format = 2; optional int32 expected_tokens = 3; }
message DmelChunk { bytes dmel = 1; }
message Chunk { oneof chunk { EncodedTextChunk encoded_text = 1; ImageChunk image = 2; DmelChunk dmel = 3; } }
message Datum { repeated Chunk model_input = 1; map<string, Tensor> loss_fn_inputs = 2; }
message ForwardBackwardRequest {
  string model_id = 1;
  int32 seq_id = 2;
  repeated Datum data = 3;
  string loss_fn = 4;
  map<string, double> loss_fn_config = 5;
  bool forward_only = 6;
}
`;

/** The content type of protobuf bodies, as the SDK sends and accepts it. */
export const PROTOBUF_CONTENT_TYPE = 'application/x-protobuf';

const ROOT = protobuf.parse(TINKER_PROTO, { keepCase: true }).root;
/** The message types, for encoding requests as the SDK does (tests, other clients). */
export const ProtoTypes = {
  ForwardBackwardRequest: ROOT.lookupType('tinker_public.ForwardBackwardRequest'),
  ForwardBackwardOutput: ROOT.lookupType('tinker_public.ForwardBackwardOutput'),
  SampleResponse: ROOT.lookupType('tinker_public.SampleResponse'),
};

/** Most values one sparse tensor may expand to (a context window of logits-free per-token inputs fits easily). */
const MAX_DENSE_VALUES = 4 * 1024 * 1024;

const DTYPE = { float32: 1, int64: 2, int32: 3, bfloat16: 4 } as const;
const DTYPE_NAMES: Record<number, keyof typeof DTYPE> = { 1: 'float32', 2: 'int64', 3: 'int32', 4: 'bfloat16' };
const WIDTH: Record<keyof typeof DTYPE, number> = { float32: 4, int64: 8, int32: 4, bfloat16: 2 };

/** A decoded forward_backward body: the JSON request it stands for, and whether it is forward-only. */
export interface DecodedForwardBackward {
  forwardOnly: boolean;
  /** `{model_id, seq_id, forward_backward_input | forward_input}`, as the JSON routes validate it. */
  body: Record<string, unknown>;
}

/** Decodes the SDK's protobuf `ForwardBackwardRequest`, refusing malformed arrays with 400. */
export function decodeForwardBackwardRequest(bytes: Uint8Array): DecodedForwardBackward {
  let message: Record<string, unknown>;
  try {
    message = ProtoTypes.ForwardBackwardRequest.toObject(ProtoTypes.ForwardBackwardRequest.decode(bytes), {
      longs: Number,
      defaults: true,
      arrays: true,
      objects: true,
    });
  } catch (error) {
    throw new HttpError(
      400,
      `request body is not a valid protobuf ForwardBackwardRequest: ${(error as Error).message}`,
    );
  }
  const data = (message.data as Record<string, unknown>[]).map((datum, index) => ({
    model_input: {
      chunks: (datum.model_input as Record<string, unknown>[]).map((chunk, chunkIndex) => {
        const where = `data[${index}].model_input[${chunkIndex}]`;
        const text = chunk.encoded_text as { tokens: Uint8Array } | undefined;
        if (!text)
          throw new HttpError(
            400,
            `${where} is a ${chunk.image ? 'image' : chunk.dmel ? 'dmel' : 'empty'} chunk; ` +
              `this server takes encoded_text chunks only`,
          );
        return { type: 'encoded_text', tokens: numbers(text.tokens, 'int32', `${where}.encoded_text.tokens`) };
      }),
    },
    loss_fn_inputs: Object.fromEntries(
      Object.entries(datum.loss_fn_inputs as Record<string, Record<string, unknown>>).map(([name, tensor]) => [
        name,
        decodeTensor(tensor, `data[${index}].loss_fn_inputs.${name}`),
      ]),
    ),
  }));
  const forwardOnly = message.forward_only === true;
  const input = { data, loss_fn: message.loss_fn, loss_fn_config: message.loss_fn_config };
  return {
    forwardOnly,
    body: {
      model_id: message.model_id,
      seq_id: message.seq_id,
      [forwardOnly ? 'forward_input' : 'forward_backward_input']: input,
    },
  };
}

/** Encodes a finished sample (the JSON result the host resolved) as a protobuf `SampleResponse`. */
export function encodeSampleResponse(result: {
  sequences: SampledSequence[];
  prompt_logprobs?: (number | null)[] | null;
}): Uint8Array {
  const message: Record<string, unknown> = {
    sequences: result.sequences.map((sequence) => ({
      stop_reason: sequence.stop_reason === 'length' ? 1 : 0,
      tokens: bytesOf(Int32Array.from(sequence.tokens)),
      ...(sequence.logprobs ? { logprobs: bytesOf(Float32Array.from(sequence.logprobs)) } : {}),
    })),
  };
  if (result.prompt_logprobs)
    message.prompt_logprobs = bytesOf(Float32Array.from(result.prompt_logprobs, (value) => value ?? Number.NaN));
  return ProtoTypes.SampleResponse.encode(ProtoTypes.SampleResponse.fromObject(message)).finish();
}

/**
 * Encodes a forward_backward result as a protobuf `ForwardBackwardOutput`: one `ArrayRecord` whose
 * fields batch every datum's tensor (float32 data, int64 byte offsets, trailing shape of rank-1 = []).
 */
export function encodeForwardBackwardOutput(result: ForwardBackwardOutput): Uint8Array {
  const outputs = result.loss_fn_outputs;
  const names = outputs.length > 0 ? Object.keys(outputs[0]!) : [];
  const fields: Record<string, unknown> = {};
  for (const name of names) {
    const rows = outputs.map((output) => output[name]?.data ?? []);
    const offsets = new BigInt64Array(rows.length + 1);
    for (const [index, row] of rows.entries()) offsets[index + 1] = offsets[index]! + BigInt(row.length * 4);
    fields[name] = { data: bytesOf(Float32Array.from(rows.flat())), offsets: bytesOf(offsets), dtype: DTYPE.float32 };
  }
  const message = {
    loss_fn_output_type: result.loss_fn_output_type,
    loss_fn_outputs:
      outputs.length > 0 ? [{ type_tag: result.loss_fn_output_type, fields, num_datums: outputs.length }] : [],
    metrics: result.metrics,
  };
  return ProtoTypes.ForwardBackwardOutput.encode(ProtoTypes.ForwardBackwardOutput.fromObject(message)).finish();
}

/** Which protobuf message a finished future's JSON result is, if any. */
export function protoResultKind(result: unknown): 'sample' | 'forward_backward' | undefined {
  if (typeof result !== 'object' || result === null) return undefined;
  if (Array.isArray((result as { sequences?: unknown }).sequences)) return 'sample';
  if (Array.isArray((result as { loss_fn_outputs?: unknown }).loss_fn_outputs)) return 'forward_backward';
  return undefined;
}

function decodeTensor(tensor: Record<string, unknown>, where: string): TensorData {
  const dtype = DTYPE_NAMES[tensor.dtype as number];
  if (!dtype) throw new HttpError(400, `${where}.dtype is ${String(tensor.dtype)}; expected float32 or int64`);
  const shape = (tensor.shape as number[]).map(Number);
  const sparse = tensor.sparse_csr as
    | { values: Uint8Array; crow_indices: Uint8Array; col_indices: Uint8Array }
    | undefined;
  if (!sparse) return { data: numbers(tensor.dense as Uint8Array, dtype, `${where}.dense`), dtype, shape };
  const values = numbers(sparse.values, dtype, `${where}.sparse_csr.values`);
  const rowStarts = numbers(sparse.crow_indices, 'int64', `${where}.sparse_csr.crow_indices`);
  const columns = numbers(sparse.col_indices, 'int64', `${where}.sparse_csr.col_indices`);
  const width = shape.length >= 2 ? shape[shape.length - 1]! : (shape[0] ?? 0);
  const rows = rowStarts.length - 1;
  const size = rows * width;
  // The dense tensor may not outgrow what a dense body of the same datum could carry.
  if (rows < 0 || columns.length !== values.length || size > MAX_DENSE_VALUES)
    throw new HttpError(
      400,
      `${where}.sparse_csr is ${Math.max(rows, 0)}x${width} with ${values.length} values and ${columns.length} ` +
        `column indices; expected a CSR matrix of at most ${MAX_DENSE_VALUES} values`,
    );
  // Row starts rise from 0 to the value count, so the loop below visits each value once.
  const monotone = rowStarts.every((start, row) => (row === 0 ? start === 0 : start >= rowStarts[row - 1]!));
  if (!monotone || rowStarts[rows] !== values.length)
    throw new HttpError(400, `${where}.sparse_csr.crow_indices must rise from 0 to ${values.length}, the value count`);
  const dense = new Array<number>(size).fill(0);
  for (let row = 0; row < rows; row++) {
    for (let at = rowStarts[row]!; at < rowStarts[row + 1]!; at++) {
      const column = columns[at];
      if (column === undefined || column < 0 || column >= width || at < 0)
        throw new HttpError(400, `${where}.sparse_csr index ${at} is outside the ${rows}x${width} matrix`);
      dense[row * width + column] = values[at]!;
    }
  }
  return { data: dense, dtype, shape };
}

/** Little-endian bytes as numbers, refusing a length that is not a whole number of elements. */
function numbers(bytes: Uint8Array, dtype: keyof typeof DTYPE, where: string): number[] {
  const width = WIDTH[dtype];
  if (bytes.length % width !== 0)
    throw new HttpError(400, `${where} has ${bytes.length} bytes, not a whole number of ${width}-byte ${dtype} values`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = bytes.length / width;
  const out = new Array<number>(count);
  for (let index = 0; index < count; index++) {
    const at = index * width;
    out[index] =
      dtype === 'float32'
        ? view.getFloat32(at, true)
        : dtype === 'int32'
          ? view.getInt32(at, true)
          : dtype === 'int64'
            ? Number(view.getBigInt64(at, true))
            : new Float32Array(new Uint32Array([view.getUint16(at, true) << 16]).buffer)[0]!;
  }
  return out;
}

function bytesOf(array: Int32Array | Float32Array | BigInt64Array): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}
