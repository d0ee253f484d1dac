import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.js';
import { createEstimator, ESTIMATOR_KINDS } from './create-estimator.js';
import { createMtGrpo } from './mt-grpo.js';
import { workedVectorGroup } from './worked-vector.js';

describe('createEstimator', () => {
  it('creates every kind under its own name', () => {
    for (const kind of ESTIMATOR_KINDS) expect(createEstimator({ kind }).name).toBe(kind);
  });

  it('passes options through: mt-grpo lambda', () => {
    const group = workedVectorGroup();
    expect(createEstimator({ kind: 'mt-grpo', lambda: 0.25 }).estimate(group)).toEqual(
      createMtGrpo({ lambda: 0.25 }).estimate(group),
    );
    expect(createEstimator({ kind: 'mt-grpo' }).estimate(group)).toEqual(createMtGrpo().estimate(group));
    expect(createEstimator({ kind: 'mt-grpo', lambda: 0.25 }).estimate(group)).not.toEqual(
      createMtGrpo().estimate(group),
    );
  });

  it('rejects an unknown kind, naming the kinds it accepts', () => {
    expect(() => createEstimator({ kind: 'ppo' })).toThrow(ConfigError);
    expect(() => createEstimator({ kind: 'ppo' })).toThrow(
      /kinds: grpo-or, grpo-mr, mt-grpo, mt-grpo-k, rloo, dr-grpo/,
    );
  });

  it('rejects a bad option value, naming the key', () => {
    expect(() => createEstimator({ kind: 'mt-grpo', lambda: 'one' })).toThrow(/estimator\.lambda/);
    expect(() => createEstimator({ kind: 'mt-grpo-k', alpha: 2 })).toThrow(/estimator\.alpha/);
    expect(() => createEstimator({ kind: 'rloo', reward: 'turn' })).toThrow(/estimator\.reward/);
  });

  it('rejects an option that belongs to another kind', () => {
    expect(() => createEstimator({ kind: 'grpo-or', lambda: 1 })).toThrow(ConfigError);
  });
});
