import { describe, expect, it } from 'vitest';
import { splitOverrides } from './cli-args.js';
import { main } from './main.js';

describe('command-line config overrides', () => {
  it('separates dotted and top-level config keys from the command’s own flags', () => {
    expect(
      splitOverrides(
        ['--rl.groupSize=8', '--seed=3', '--out=x', '--eval', 'run1', '--config=a.json'],
        ['out', 'config'],
      ),
    ).toEqual({
      overrides: ['--rl.groupSize=8', '--seed=3'],
      rest: ['--out=x', '--eval', 'run1', '--config=a.json'],
    });
  });

  it('fails `turnwise train` on a bad override with the key, the value and what is allowed', async () => {
    const errors: string[] = [];
    const original = console.error;
    console.error = (message: string) => errors.push(message);
    try {
      expect(await main(['train', '--advantage.kind=ppo'])).toBe(2);
      expect(await main(['train', '--rl.groupSise=4'])).toBe(2);
    } finally {
      console.error = original;
    }
    expect(errors[0]).toMatch(/advantage\.kind.*got "ppo".*"mt-grpo"/);
    expect(errors[1]).toMatch(/unknown config key "rl\.groupSise".*allowed keys under rl/);
  });
});
