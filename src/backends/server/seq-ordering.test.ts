import { describe, expect, it } from 'vitest';
import { SeqOrdering } from './seq-ordering.js';

function harness(gapTimeoutMs = 1000) {
  const ordering = new SeqOrdering('model-1', gapTimeoutMs);
  const started: string[] = [];
  const failed: [string, string][] = [];
  let counter = 0;
  const admit = (seqId: number | undefined, hash = `h${seqId}`) =>
    ordering.admit(seqId, {
      hash,
      createFuture: () => `r${++counter}`,
      start: (id) => started.push(id),
      fail: (id, message) => failed.push([id, message]),
    });
  return { admit, started, failed };
}

describe('SeqOrdering', () => {
  it('starts requests in seq_id order whatever order they arrive in', () => {
    const { admit, started } = harness();
    const third = admit(3);
    const second = admit(2);
    expect(started).toEqual([]);
    const first = admit(1);
    expect(started).toEqual([first, second, third]);
    const unordered = admit(undefined);
    expect(started.at(-1)).toBe(unordered);
  });

  it('returns the original future for a resend and refuses a reused seq_id with 409', () => {
    const { admit, started } = harness();
    const first = admit(1, 'same');
    expect(admit(1, 'same')).toBe(first);
    expect(started).toEqual([first]);
    expect(() => admit(1, 'other')).toThrow(/sequence number was reused/);
  });

  it('fails a request whose predecessor never arrives, naming the missing seq_id', async () => {
    const { admit, started, failed } = harness(20);
    admit(1);
    const orphan = admit(3);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(started).toHaveLength(1);
    expect(failed).toEqual([[orphan, 'seq_id 3 waited 20 ms for seq_id 2, which never arrived']]);
  });
});
