import { describe, expect, it } from 'vitest';
import { ChatTemplateRenderer } from '../rollout/chat-template-renderer.js';
import { ByteTokenizer } from '../testing/byte-tokenizer.js';
import { createToyTask } from '../testing/toy-task.js';
import type { TrainConfig } from './config.js';
import { checkContextLength, longestPrompt } from './context-check.js';

const task = createToyTask(3);
const renderer = new ChatTemplateRenderer({ tokenizer: new ByteTokenizer() });
const configWith = (maxCompletionTokens: number) =>
  ({ data: { trainSplit: 'train', evalSplit: 'dev' }, rl: { maxCompletionTokens } }) as unknown as TrainConfig;

describe('checkContextLength', async () => {
  const prompt = (await longestPrompt(task, renderer, ['train', 'dev', 'test']))!.tokens;

  it('passes a context that holds the longest prompt and the whole budget', async () => {
    const fit = await checkContextLength({ config: configWith(100), task, renderer, contextLength: prompt + 100 });
    expect(fit).toEqual({ longest: expect.objectContaining({ tokens: prompt }) });
  });

  it('reports the budget a shorter context leaves, down to half of it', async () => {
    const fit = await checkContextLength({ config: configWith(100), task, renderer, contextLength: prompt + 50 });
    expect(fit?.cutBudget).toBe(50);
  });

  it('refuses a context that leaves less than half the budget, naming the prompt and the way out', async () => {
    await expect(
      checkContextLength({ config: configWith(100), task, renderer, contextLength: prompt + 49 }),
    ).rejects.toThrow(
      new RegExp(
        `^the model's context holds ${prompt + 49} tokens .*longest prompt \\(${prompt} tokens, \\w+ row "[^"]+"\\) ` +
          `leaves 49 of rl.maxCompletionTokens 100; expected a context of at least ${prompt + 50} .* at most 98$`,
      ),
    );
  });
});
