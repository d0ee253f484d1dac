import { describe, expect, it } from 'vitest';
import { main } from './main.js';
import { runCaptured } from './run-captured.js';

describe('turnwise experiment', () => {
  it('rejects an unknown experiment, bad seeds and unknown methods with what is expected', async () => {
    const unknown = await runCaptured(['experiment', 'nope']);
    expect(unknown.code).toBe(2);
    expect(unknown.errors[0]).toMatch(/unknown experiment "nope"; expected: paper/);
    expect((await runCaptured(['experiment', 'paper', '--seeds=1,x'])).errors[0]).toMatch(
      /--seeds must be comma-separated non-negative integers/,
    );
    expect((await runCaptured(['experiment', 'paper', '--methods=ppo'])).errors[0]).toMatch(
      /"ppo" is not an estimator; expected one of grpo-or, grpo-mr, mt-grpo/,
    );
  });

  it('prints help for demo, train, eval and report', async () => {
    const out: string[] = [];
    const original = console.log;
    console.log = (message: string) => out.push(message);
    try {
      for (const name of ['demo', 'train', 'eval', 'report', 'experiment'])
        expect(await main([name, '--help'])).toBe(0);
    } finally {
      console.log = original;
    }
    expect(out.join('\n')).toMatch(/usage: turnwise demo/);
    expect(out.join('\n')).toMatch(/usage: turnwise experiment paper/);
  });
});
