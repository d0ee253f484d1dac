/**
 * The key/value cache of the decoder: S slots of up to maxT positions per layer, in the layout the
 * `attentionCached` kernel reads and writes (per slot and KV head: keys transposed in tiles of
 * KEY_TILE positions, values row-major; see Kernels.attentionCached). A slot holds one sequence's
 * keys and values; a prefix can be copied from one slot to another (forking the shared prompt of a
 * group of rollouts).
 */
import { ShapeError } from '../errors.js';
import { KEY_TILE, type FloatArray } from './kernels/kernels.js';
import type { ModelDims } from './model-config.js';

/** Keys and values of one layer. */
export interface LayerCache {
  /** (S,KVH,paddedT/KEY_TILE,D,KEY_TILE): each slot and head's keys, transposed by tiles. */
  keys: FloatArray;
  /** (S,KVH,paddedT,D). */
  values: FloatArray;
}

/** The longest typed array V8 allocates. */
const MAX_ARRAY_LENGTH = 2 ** 32;

/** The KV cache of all layers. */
export class KvCache {
  readonly layers: LayerCache[];
  /** Positions stored per slot: maxT rounded up to a multiple of KEY_TILE (the kernels' maxT). */
  readonly paddedT: number;
  private readonly KVH: number;
  private readonly D: number;

  constructor(
    dims: ModelDims,
    /** Number of slots (sequences held at once). */
    readonly slots: number,
    /** Positions per slot. */
    readonly maxT: number,
    allocate: (length: number) => FloatArray,
    /** Touch every page at construction (default false). */
    prefault = false,
  ) {
    if (!(Number.isInteger(slots) && slots > 0 && Number.isInteger(maxT) && maxT > 0)) {
      throw new ShapeError(`KvCache: slots (${slots}) and maxT (${maxT}) must be integers > 0`);
    }
    this.KVH = dims.KVH;
    this.D = dims.D;
    this.paddedT = Math.ceil(maxT / KEY_TILE) * KEY_TILE;
    const length = slots * dims.KVH * this.paddedT * dims.D;
    if (length > MAX_ARRAY_LENGTH) {
      throw new ShapeError(
        `KvCache: ${slots} slots x ${maxT} positions x ${dims.KVH * dims.D} (KV heads x head size) is ${length} ` +
          `floats a layer; one array holds at most ${MAX_ARRAY_LENGTH}: ` +
          'decode fewer sequences at once or shorten the context',
      );
    }
    // Pages are committed lazily, as slots fill up (a first write into fresh memory costs a page
    // fault, slow on virtual machines, so long-lived caches pay it once); `prefault` pays it now.
    this.layers = Array.from({ length: dims.L }, () => {
      const keys = allocate(length);
      const values = allocate(length);
      if (prefault) {
        keys.fill(0);
        values.fill(0);
      }
      return { keys, values };
    });
  }

  /** Bytes held by the cache. */
  get bytes(): number {
    return this.layers.reduce((sum, layer) => sum + layer.keys.byteLength + layer.values.byteLength, 0);
  }

  /** Copies positions [0, length) of slot `source` into slot `target`, in every layer. */
  copyPrefix(source: number, target: number, length: number): void {
    if (source === target || length === 0) return;
    if (length < 0 || length > this.maxT)
      throw new ShapeError(`KvCache.copyPrefix: length ${length} is outside [0, ${this.maxT}]`);
    const head = this.paddedT * this.D; // floats per (slot, head), keys and values alike
    // Whole key tiles: positions past `length` in the last one are beyond the target's tokens, never read.
    const keyFloats = Math.ceil(length / KEY_TILE) * KEY_TILE * this.D;
    const valueFloats = length * this.D;
    for (const cache of this.layers) {
      for (let h = 0; h < this.KVH; h++) {
        const from = (source * this.KVH + h) * head;
        const to = (target * this.KVH + h) * head;
        cache.keys.copyWithin(to, from, from + keyFloats);
        cache.values.copyWithin(to, from, from + valueFloats);
      }
    }
  }
}
