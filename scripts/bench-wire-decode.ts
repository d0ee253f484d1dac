/**
 * What reading one forward_backward chunk costs `turnwise serve` on its event loop, by wire format:
 * the SDK's protobuf (decoded to the request the routes validate), the same request as JSON, and
 * the protobuf zstd-compressed (when the `zstd` command is here to compress it; the server only
 * decompresses). The request is built as the SDK builds it: int32 tokens, int64 targets, float32
 * logprobs and advantages, `--datums` datums of `--tokens` tokens (default 64 x 4000, about 5 MB,
 * the SDK's chunk limit). Prints the median of `--runs` runs and each format's ratio to JSON.
 *
 *   npx tsx scripts/bench-wire-decode.ts [--datums 64] [--tokens 4000] [--runs 7]
 */
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { decodeBody } from '../src/backends/server/http-io.js';
import { decodeForwardBackwardRequest, ProtoTypes } from '../src/backends/server/tinker-proto.js';
import { Random } from '../src/random.js';

const { values } = parseArgs({
  options: {
    datums: { type: 'string', default: '64' },
    tokens: { type: 'string', default: '4000' },
    runs: { type: 'string', default: '7' },
  },
});
const datums = Number(values.datums);
const tokens = Number(values.tokens);
const runs = Number(values.runs);

const random = new Random(0);
const bytes = (array: Int32Array | Float32Array | BigInt64Array) => new Uint8Array(array.buffer);
const tensor = (dtype: number, data: Uint8Array, length: number) => ({ dtype, shape: [length], dense: data });
const data = Array.from({ length: datums }, () => {
  const ids = Array.from({ length: tokens }, () => random.int(150_000));
  return {
    model_input: [{ encoded_text: { tokens: bytes(Int32Array.from(ids.slice(0, -1))) } }],
    loss_fn_inputs: {
      target_tokens: tensor(2, bytes(BigInt64Array.from(ids.slice(1), BigInt)), tokens - 1),
      logprobs: tensor(1, bytes(Float32Array.from(ids.slice(1), () => -random.next())), tokens - 1),
      advantages: tensor(1, bytes(new Float32Array(tokens - 1).fill(0.5)), tokens - 1),
    },
  };
});
const proto = Buffer.from(
  ProtoTypes.ForwardBackwardRequest.encode({
    model_id: 'model-1',
    seq_id: 1,
    loss_fn: 'importance_sampling',
    data,
  }).finish(),
);
const json = JSON.stringify(decodeForwardBackwardRequest(proto).body);
const compressed = spawnSync('zstd', ['-c', '-3'], { input: proto, maxBuffer: 1 << 30 });
const zstd = compressed.status === 0 ? compressed.stdout : undefined;

function median(work: () => unknown): number {
  const times: number[] = [];
  for (let run = 0; run < runs; run++) {
    const start = performance.now();
    work();
    times.push(performance.now() - start);
  }
  return times.sort((a, b) => a - b)[Math.floor(runs / 2)]!;
}

const jsonMs = median(() => JSON.parse(json));
const rows: [string, number, number][] = [
  ['JSON.parse (the JSON wire)', json.length, jsonMs],
  ['protobuf decode to the request', proto.length, median(() => decodeForwardBackwardRequest(proto))],
];
if (zstd) {
  rows.push(['zstd decode (fzstd)', zstd.length, median(() => decodeBody(zstd, 'zstd', 1 << 30))]);
  rows.push([
    'zstd + protobuf decode',
    zstd.length,
    median(() => decodeForwardBackwardRequest(decodeBody(zstd, 'zstd', 1 << 30))),
  ]);
}
console.log(`forward_backward of ${datums} datums x ${tokens} tokens, median of ${runs} runs`);
console.log('| step | bytes on the wire | median ms | ratio to JSON |');
console.log('|---|---:|---:|---:|');
for (const [name, size, ms] of rows)
  console.log(`| ${name} | ${size} | ${ms.toFixed(1)} | ${(ms / jsonMs).toFixed(2)} |`);
if (!zstd) console.log('(no zstd command here: the zstd rows are left out)');
