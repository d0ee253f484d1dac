import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../testing/serve-for-test.js';
import { decodeForwardBackwardRequest, PROTOBUF_CONTENT_TYPE, ProtoTypes } from './tinker-proto.js';

/*
 * Bodies encoded by the Tinker SDK's own generated descriptor (tinker_public_pb2.py) the way its
 * request_conv.forward_backward_request_to_proto writes them: seq_id 1, cross_entropy, datums
 * [5,6,7,8] and [9,10,11] for model-2, the first model of a fresh server (tokens int32, target_tokens int64, weights float32, shapes set);
 * FORWARD_ONLY adds forward_only = true; ZSTD is FORWARD_BACKWARD through zstandard.ZstdCompressor();
 * SPARSE is importance_sampling with clip_low 0.5 and advantages as a 1x3 CSR matrix with 0.25 at column 2.
 */
const SDK = {
  FORWARD_BACKWARD:
    '0a076d6f64656c2d3210011a640a100a0e0a0c050000000600000007000000121e0a077765696768747312130a0c0000803f0000803f' +
    '0000803f180122010312300a0d7461726765745f746f6b656e73121f0a18060000000000000007000000000000000800000000000000' +
    '18022201031a540a0c0a0a0a08090000000a000000121a0a0777656967687473120f0a080000803f0000803f180122010212280a0d74' +
    '61726765745f746f6b656e7312170a100a000000000000000b000000000000001802220102220d63726f73735f656e74726f7079',
  FORWARD_ONLY:
    '0a076d6f64656c2d3210011a640a100a0e0a0c05000000060000000700000012300a0d7461726765745f746f6b656e73121f0a180600' +
    '000000000000070000000000000008000000000000001802220103121e0a077765696768747312130a0c0000803f0000803f0000803f' +
    '18012201031a540a0c0a0a0a08090000000a000000121a0a0777656967687473120f0a080000803f0000803f180122010212280a0d74' +
    '61726765745f746f6b656e7312170a100a000000000000000b000000000000001802220102220d63726f73735f656e74726f70793001',
  ZSTD:
    '28b52ffd20d69d040062881d2130e5560740a6eaf664d1f2829cce6460c0c8e5d8d3d53fc4c517be490da16f2405009859554a4694ce' +
    '4ae244b62283843f472c96b91ba0b57ddb03f7ff1d02352b3268e706af584ac9caac51955315a9ce1bdbacb8e023c07e3f2cad938922' +
    '33ed89b5dd6c0b6c07de0b7f2e41eb71302c529a97f60b00200b9011c009430040c632ec0606068378048110864cb83d',
  SPARSE:
    '0a076d6f64656c2d3210021a7e0a100a0e0a0c05000000060000000700000012380a0a616476616e7461676573122a12220a04000080' +
    '3e1210000000000000000001000000000000001a08020000000000000018012202010312300a0d7461726765745f746f6b656e73121f' +
    '0a1806000000000000000700000000000000080000000000000018022201032213696d706f7274616e63655f73616d706c696e672a13' +
    '0a08636c69705f6c6f7711000000000000e03f',
};
const bytes = (hex: string) => Buffer.from(hex, 'hex');

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({});
});
afterAll(() => server.close());

async function json(path: string, body: unknown, base = server.url): Promise<any> {
  const response = await fetch(base + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return response.json();
}

async function newModel(base = server.url): Promise<string> {
  const session = await json('/api/v1/create_session', { tags: [], sdk_version: '0.25.0' }, base);
  const created = await json(
    '/api/v1/create_model',
    { session_id: session.session_id, model_seq_id: 0, base_model: 'test/bigram', lora_config: { rank: 8 } },
    base,
  );
  return (await json('/api/v1/retrieve_future', { request_id: created.request_id }, base)).model_id;
}

/** Polls a future as the SDK does (`Accept: application/x-protobuf`) and returns the answer's bytes or JSON. */
async function retrieve(
  requestId: string,
  base = server.url,
): Promise<{ type: string; bytes: Uint8Array; json?: any }> {
  for (;;) {
    const response = await fetch(`${base}/api/v1/retrieve_future`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: PROTOBUF_CONTENT_TYPE },
      body: JSON.stringify({ request_id: requestId }),
    });
    const type = response.headers.get('content-type') ?? '';
    const body = new Uint8Array(await response.arrayBuffer());
    if (type.includes(PROTOBUF_CONTENT_TYPE)) return { type, bytes: body };
    const parsed = JSON.parse(Buffer.from(body).toString('utf8'));
    if (parsed.type !== 'try_again') return { type, bytes: body, json: parsed };
  }
}

async function postProto(body: Uint8Array, headers: Record<string, string> = {}, base = server.url): Promise<any> {
  const response = await fetch(`${base}/api/v1/forward_backward`, {
    method: 'POST',
    headers: { 'content-type': PROTOBUF_CONTENT_TYPE, ...headers },
    body,
  });
  return { status: response.status, body: await response.json() };
}

describe('the SDK protobuf wire format', () => {
  it('decodes the SDK-encoded forward_backward into the JSON request it stands for', () => {
    const decoded = decodeForwardBackwardRequest(bytes(SDK.FORWARD_BACKWARD));
    expect(decoded.forwardOnly).toBe(false);
    expect(decoded.body).toEqual({
      model_id: 'model-2',
      seq_id: 1,
      forward_backward_input: {
        loss_fn: 'cross_entropy',
        loss_fn_config: {},
        data: [
          {
            model_input: { chunks: [{ type: 'encoded_text', tokens: [5, 6, 7] }] },
            loss_fn_inputs: {
              target_tokens: { data: [6, 7, 8], dtype: 'int64', shape: [3] },
              weights: { data: [1, 1, 1], dtype: 'float32', shape: [3] },
            },
          },
          {
            model_input: { chunks: [{ type: 'encoded_text', tokens: [9, 10] }] },
            loss_fn_inputs: {
              target_tokens: { data: [10, 11], dtype: 'int64', shape: [2] },
              weights: { data: [1, 1], dtype: 'float32', shape: [2] },
            },
          },
        ],
      },
    });
    expect(decodeForwardBackwardRequest(bytes(SDK.FORWARD_ONLY)).forwardOnly).toBe(true);
  });

  it('expands a sparse CSR tensor and keeps loss_fn_config', () => {
    const decoded = decodeForwardBackwardRequest(bytes(SDK.SPARSE)).body as any;
    expect(decoded.forward_backward_input.loss_fn_config).toEqual({ clip_low: 0.5 });
    expect(decoded.forward_backward_input.data[0].loss_fn_inputs.advantages.data).toEqual([0, 0, 0.25]);
  });

  it('trains on the SDK bytes, plain and zstd-compressed, and answers the result as protobuf', async () => {
    for (const [body, headers] of [
      [bytes(SDK.FORWARD_BACKWARD), {}],
      [bytes(SDK.ZSTD), { 'content-encoding': 'zstd' }],
    ] as const) {
      // A fresh server, so the model the fixture names (model-2, seq_id 1) is the first one made.
      const own = await startTestServer({});
      try {
        expect(await newModel(own.url)).toBe('model-2');
        const submitted = await postProto(body, headers, own.url);
        expect(submitted.status).toBe(200);
        const answer = await retrieve(submitted.body.request_id, own.url);
        expect(answer.type).toContain(PROTOBUF_CONTENT_TYPE);
        const output = ProtoTypes.ForwardBackwardOutput.toObject(
          ProtoTypes.ForwardBackwardOutput.decode(answer.bytes),
          { longs: Number },
        ) as any;
        expect(output.loss_fn_output_type).toBe('ArrayRecord');
        expect(Number.isFinite(output.metrics['loss:sum'])).toBe(true);
        const record = output.loss_fn_outputs[0];
        expect(record.num_datums).toBe(2);
        const offsets = new BigInt64Array(new Uint8Array(record.fields.logprobs.offsets).slice().buffer);
        expect([...offsets].map(Number)).toEqual([0, 12, 20]);
        const logprobs = new Float32Array(new Uint8Array(record.fields.logprobs.data).slice().buffer);
        expect(logprobs).toHaveLength(5);
        for (const value of logprobs) expect(value).toBeLessThan(0);
      } finally {
        await own.close();
      }
    }
  });

  it('runs forward_only as a forward pass', async () => {
    const model = await newModel();
    const message = ProtoTypes.ForwardBackwardRequest.decode(bytes(SDK.FORWARD_ONLY)) as any;
    const submitted = await postProto(
      ProtoTypes.ForwardBackwardRequest.encode({ ...message, model_id: model }).finish(),
    );
    const answer = await retrieve(submitted.body.request_id);
    const output = ProtoTypes.ForwardBackwardOutput.decode(answer.bytes) as any;
    expect(output.loss_fn_outputs[0].num_datums.toString()).toBe('2');
  });

  it('answers samples as a protobuf SampleResponse, and JSON to a client that asks for JSON', async () => {
    const model = await newModel();
    const saved = await json('/api/v1/save_weights_for_sampler', { model_id: model, seq_id: 1 });
    const session = (await retrieve(saved.request_id)).json.sampling_session_id;
    const request = {
      sampling_session_id: session,
      prompt: { chunks: [{ type: 'encoded_text', tokens: [5, 6] }] },
      num_samples: 2,
      sampling_params: { max_tokens: 4, temperature: 1, seed: 3 },
    };
    const asked = await json('/api/v1/asample', request);
    const answer = await retrieve(asked.request_id);
    const response = ProtoTypes.SampleResponse.decode(answer.bytes) as any;
    expect(response.sequences).toHaveLength(2);
    const plain = await json('/api/v1/retrieve_future', { request_id: asked.request_id });
    for (const [index, sequence] of response.sequences.entries()) {
      const tokens = new Int32Array(new Uint8Array(sequence.tokens).slice().buffer);
      expect([...tokens]).toEqual(plain.sequences[index].tokens);
      expect(sequence.stop_reason).toBe(plain.sequences[index].stop_reason === 'length' ? 1 : 0);
      expect(new Float32Array(new Uint8Array(sequence.logprobs).slice().buffer)).toHaveLength(tokens.length);
    }
  });

  it('refuses protobuf on JSON routes, malformed protobuf and torn arrays with one-line 4xx messages', async () => {
    const onJson = await fetch(`${server.url}/api/v1/optim_step`, {
      method: 'POST',
      headers: { 'content-type': PROTOBUF_CONTENT_TYPE },
      body: bytes(SDK.FORWARD_BACKWARD),
    });
    expect(onJson.status).toBe(415);
    expect(((await onJson.json()) as { detail: string }).detail).toMatch(/optim_step takes JSON/);
    const garbage = await postProto(new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0x0f]));
    expect(garbage.status).toBe(400);
    expect(garbage.body.detail).toMatch(/not a valid protobuf ForwardBackwardRequest/);
    const torn = ProtoTypes.ForwardBackwardRequest.encode({
      model_id: 'model-1',
      seq_id: 1,
      loss_fn: 'cross_entropy',
      data: [{ model_input: [{ encoded_text: { tokens: new Uint8Array(5) } }] }],
    }).finish();
    const tornAnswer = await postProto(torn);
    expect(tornAnswer.status).toBe(400);
    expect(tornAnswer.body.detail).toBe(
      'data[0].model_input[0].encoded_text.tokens has 5 bytes, not a whole number of 4-byte int32 values',
    );
    const badZstd = await postProto(bytes(SDK.FORWARD_BACKWARD), { 'content-encoding': 'zstd' });
    expect(badZstd.status).toBe(400);
    expect(badZstd.body.detail).toMatch(/not valid zstd/);
  });

  it('answers weights_info for its own checkpoints (the SDK loads state with it) and auth/token with a JWT', async () => {
    const model = await newModel();
    const saved = await json('/api/v1/save_weights', { model_id: model, seq_id: 1, path: 'step-1' });
    const path = (await retrieve(saved.request_id)).json.path;
    expect(await json('/api/v1/weights_info', { tinker_path: path })).toEqual({
      base_model: 'test/bigram',
      is_lora: true,
      lora_rank: 8,
      train_unembed: null,
      train_mlp: null,
      train_attn: null,
    });
    const unknown = await fetch(`${server.url}/api/v1/weights_info`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ tinker_path: 'tinker://nope/weights/x' }),
    });
    expect(unknown.status).toBe(404);
    const token = await json('/api/v1/auth/token', {});
    expect(token.jwt.split('.')).toHaveLength(3);
  });
});

describe('hostile protobuf tensors', () => {
  const sparse = (crow: number[], columns: number[], values: number[], shape: number[]) =>
    ProtoTypes.ForwardBackwardRequest.encode({
      model_id: 'm',
      loss_fn: 'cross_entropy',
      data: [
        {
          model_input: [{ encoded_text: { tokens: new Uint8Array(new Int32Array([1, 2]).buffer) } }],
          loss_fn_inputs: {
            advantages: {
              dtype: 1,
              shape,
              sparse_csr: {
                values: new Uint8Array(new Float32Array(values).buffer),
                crow_indices: new Uint8Array(new BigInt64Array(crow.map(BigInt)).buffer),
                col_indices: new Uint8Array(new BigInt64Array(columns.map(BigInt)).buffer),
              },
            },
          },
        },
      ],
    }).finish();

  it('refuses CSR matrices that would expand without bound or revisit values, naming the tensor', () => {
    const cases = [
      sparse([0, 1], [0], [1], [1, 1e9]),
      sparse([0, 1, 0, 1], [0], [1], [3, 2]),
      sparse([0, 2], [0], [1], [1, 2]),
      sparse([0, 1], [5], [1], [1, 2]),
    ];
    for (const body of cases)
      expect(() => decodeForwardBackwardRequest(body)).toThrow(/^data\[0\]\.loss_fn_inputs\.advantages\.sparse_csr/);
    expect(
      (decodeForwardBackwardRequest(sparse([0, 1, 2], [1, 0], [2, 3], [2, 2])).body as any).forward_backward_input
        .data[0].loss_fn_inputs.advantages.data,
    ).toEqual([0, 2, 3, 0]);
  });
});
