/**
 * Entity-disjoint splits. An entity's split is a pure function of its name (md5 of the normalised
 * name, bucket 0-9), so every question about one entity lands in one split and a rebuild gives the
 * same assignment. Countries use 70/10/20 instead of 80/10/10 so that the template-held-out
 * families (two-hop bridges and flag -> country, test only) get enough test countries.
 */
import { createHash } from 'node:crypto';
import { matchKey } from './text-match.js';
import type { EntitySplit } from './types.js';

/** Families whose questions appear only in the test split (template held out). */
export const HELD_OUT_FAMILIES: ReadonlySet<string> = new Set([
  'flag_reverse',
  'bridge_anthem_capital',
  'bridge_capital_highest',
]);

/** The bucket 0-9 of an entity name. */
export function entityBucket(entity: string): number {
  const digest = createHash('md5').update(matchKey(entity)).digest();
  return digest.readUInt32BE(0) % 10;
}

/** The split of an entity: countries 70/10/20, all other entities 80/10/10. */
export function splitOfEntity(entity: string, isCountry: boolean): EntitySplit {
  const bucket = entityBucket(entity);
  const trainBuckets = isCountry ? 7 : 8;
  if (bucket < trainBuckets) return 'train';
  if (bucket === trainBuckets) return 'dev';
  return 'test';
}

/** A stable 32-bit hash of a string, for deterministic selection orders. */
export function stableHash(text: string): number {
  return createHash('md5').update(text).digest().readUInt32BE(0);
}

/** The items in a stable pseudo-random order: by the hash of their key, ties by the key. */
export function byHash<T>(items: readonly T[], key: (item: T) => string): T[] {
  return items
    .map((item) => ({ item, hash: stableHash(key(item)), key: key(item) }))
    .sort((a, b) => a.hash - b.hash || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map(({ item }) => item);
}
