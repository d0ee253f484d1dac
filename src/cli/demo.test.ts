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
});
