import { describe, expect, it } from 'vitest';
import { runCaptured } from './run-captured.js';

describe('turnwise', () => {
  it('lists every command with its summary on --help', async () => {
    const { code, out } = await runCaptured(['--help']);
    expect(code).toBe(0);
    const text = out.join('\n');
    for (const name of ['credit', 'data', 'demo', 'eval', 'experiment', 'report', 'serve', 'train']) {
      expect(text).toMatch(new RegExp(`^  ${name} +\\S`, 'm'));
    }
    expect(text).not.toMatch(/cannot load/);
  });

  it('names an unknown command and the known ones', async () => {
    const { code, errors } = await runCaptured(['trian']);
    expect(code).toBe(2);
    expect(errors[0]).toMatch(/unknown command "trian"; expected one of: credit, data, demo/);
  });
});
