import { describe, expect, it } from 'vitest';
import type { Env, EnvStep } from '../env/env.js';
import { ToolEnv } from '../env/tool-env.js';
import { defineReward } from '../rewards/reward-function.js';
import { createPaperRubric } from '../rewards/paper-rubric.js';
import { Rubric } from '../rewards/rubric.js';
import type { Message } from '../types.js';
import { scriptedRollout } from './scripted-rollout.js';

/** A non-tool environment written against the Env interface: guess a number, hear higher/lower. */
class GuessEnv implements Env<{ secret: number }> {
  readonly stop = [];
  private secret = 0;
  reset(row: { secret: number }): Message[] {
    this.secret = row.secret;
    return [{ role: 'user', content: 'Guess my number between 1 and 10.' }];
  }
  step(message: Message): EnvStep {
    const guess = Number(message.content.trim());
    const base = { toolCalls: [], isToolResult: false, toolFailed: false };
    if (guess === this.secret) return { ...base, done: true, stopReason: 'answered' };
    return { ...base, done: false, reply: { role: 'user', content: guess < this.secret ? 'higher' : 'lower' } };
  }
}

describe('scriptedRollout', () => {
  it('tests a custom Env through the real loop, with per-turn rewards', async () => {
    const closer = defineReward<{ secret: number }>({
      name: 'closer',
      level: 'turn',
      score: ({ trajectory, row }) =>
        trajectory.turns.map((turn) => 1 / (1 + Math.abs(Number(turn.assistant.content) - row.secret))),
    });
    const trajectory = await scriptedRollout({
      env: new GuessEnv(),
      row: { secret: 7 },
      replies: ['3', '9', '7'],
      rubric: new Rubric([closer]),
    });
    expect(trajectory.stopReason).toBe('answered');
    expect(trajectory.turns.map((turn) => turn.env?.content)).toEqual(['higher', 'lower', undefined]);
    expect(trajectory.turnRewards).toEqual([0.2, 1 / 3, 1]);
  });

  it('scores a paper episode with the paper rubric', async () => {
    const trajectory = await scriptedRollout({
      env: new ToolEnv({ tools: [] }),
      row: { question: 'q', answers: ['x'] },
      replies: ['<reasoning>no tools</reasoning>\n<answer>x</answer>'],
      rubric: createPaperRubric(),
    });
    expect(trajectory.turnRewards).toEqual([0]);
    expect(trajectory.outcomeReward).toBeCloseTo(1.9, 12);
  });
});
