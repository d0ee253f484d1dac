import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../testing/serve-for-test.js';
import { TINKER_PROTO } from './tinker-proto.js';

/**
 * A Python client built from our .proto (protoc + google.protobuf, e.g. Debian's protobuf-compiler
 * and python3-protobuf) trains `turnwise serve` one step over the SDK's wire format. Skipped, with
 * the reason, where python3 with google.protobuf or protoc is missing.
 */
function findPython(): { python?: string; reason?: string } {
  if (spawnSync('protoc', ['--version']).status !== 0) return { reason: 'protoc is not installed' };
  for (const python of ['python3', '/usr/bin/python3']) {
    if (spawnSync(python, ['-c', 'import google.protobuf']).status === 0) return { python };
  }
  return { reason: 'no python3 with google.protobuf (apt-get install python3-protobuf)' };
}

const found = findPython();
if (found.reason) console.warn(`skipping the Python protobuf client test: ${found.reason}`);

let server: TestServer;
beforeAll(async () => {
  if (found.python) server = await startTestServer({ apiKey: 'python-key' });
});
afterAll(async () => {
  await server?.close();
});

describe.skipIf(!found.python)('a Python client built from our .proto', () => {
  it('trains turnwise serve one step with protobuf bodies and results', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'turnwise-proto-'));
    writeFileSync(join(directory, 'tinker_public.proto'), TINKER_PROTO);
    execFileSync('protoc', [`--proto_path=${directory}`, `--python_out=${directory}`, 'tinker_public.proto']);
    const script = fileURLToPath(new URL('./python-proto-client.py', import.meta.url));
    // Asynchronously: the server answers from this process's event loop.
    const { stdout: output } = await promisify(execFile)(
      found.python!,
      [script, server.url, 'python-key', 'test/bigram'],
      { env: { ...process.env, PYTHONPATH: directory }, encoding: 'utf8', timeout: 60_000 },
    );
    const seen = JSON.parse(output.trim().split('\n').pop()!);
    expect(seen.finite).toBe(true);
    expect(seen.num_datums).toBe(2);
    expect(seen.nll_after).toBeLessThan(seen.nll_before);
    expect(seen.samples).toHaveLength(2);
    for (const tokens of seen.samples) expect(tokens.length).toBeGreaterThan(0);
    expect(seen.weights_info).toMatchObject({ base_model: 'test/bigram', is_lora: true, lora_rank: 4 });
  });
});
