import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCaptured } from './run-captured.js';

describe('turnwise demo', () => {
  it('refuses a remote backend before building data or warm-starting, pointing at turnwise train', async () => {
    const { code, errors } = await runCaptured([
      'demo',
      '--backend.kind=tinker',
      '--backend.baseUrl=http://127.0.0.1:9',
      '--backend.baseModel=Qwen/Qwen3-8B',
      '--backend.tokenizerDir=/nonexistent',
      '--task.dir=/nonexistent/turnwise-demo-test',
    ]);
    expect(code).not.toBe(0);
    expect(errors.join('\n')).toMatch(/backend\.kind tinker is for `turnwise train --backend\.kind=tinker`/);
  });

  it('prints its usage with --help', async () => {
    const { code, out } = await runCaptured(['demo', '--help']);
    expect(code).toBe(0);
    expect(out.join('\n')).toMatch(/usage: turnwise demo/);
  });

  it('keeps an earlier demo: its directory is refused before any work unless --overwrite', async () => {
    const out = mkdtempSync(join(tmpdir(), 'turnwise-demo-again-'));
    mkdirSync(join(out, 'mt-grpo-seed0'), { recursive: true });
    writeFileSync(join(out, 'mt-grpo-seed0', 'metrics.jsonl'), '{"step":1}\n');
    const data = join(out, 'no-data-here');
    const again = await runCaptured(['demo', '--out', out, `--task.dir=${data}`]);
    expect(again.code).toBe(2);
    expect(again.errors.join('\n')).toMatch(
      /the demo directory ".*mt-grpo-seed0" already holds a run \(metrics\.jsonl\); keep it and write elsewhere with --out DIR, or give --overwrite/,
    );
    expect(readFileSync(join(out, 'mt-grpo-seed0', 'metrics.jsonl'), 'utf8')).toBe('{"step":1}\n');
    expect(existsSync(data)).toBe(false);
  });
});
