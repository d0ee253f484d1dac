import { describe, expect, it } from 'vitest';
import { stopOnSigint } from './pipeline.js';

describe('Ctrl-C handling', () => {
  it('turns the first SIGINT into a stop request instead of killing the process', () => {
    const messages: string[] = [];
    const stop = stopOnSigint((message) => messages.push(message));
    try {
      expect(stop.shouldStop()).toBe(false);
      process.emit('SIGINT', 'SIGINT');
      expect(stop.shouldStop()).toBe(true);
      expect(messages[0]).toMatch(/saving a checkpoint/);
    } finally {
      stop.dispose();
    }
    expect(process.listenerCount('SIGINT')).toBe(0);
  });
});
