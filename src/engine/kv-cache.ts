/**
 * The key/value cache of the decoder: S slots of up to maxT positions per layer, the layout the
 * `attentionCached` kernel reads. A slot holds one sequence's keys and values; a prefix can be
 * copied from one slot to another (forking the shared prompt of a group of rollouts).
 */
import { ShapeError } from '../errors.js';
import type { FloatArray } from './kernels/kernels.js';
import type { ModelDims } from './model-config.js';

/** Keys and values of one layer. */
export interface LayerCache {
  /** (S,maxT,KVH,D) */
  keys: FloatArray;
  /** (S,maxT,KVH,D) */
  values: FloatArray;
}

/** The KV cache of all layers. */
export class KvCache {
  readonly layers: LayerCache[];
  /** Floats per cached position (KVH*D). */
  readonly rowSize: number;

  constructor(
    dims: ModelDims,
    /** Number of slots (sequences held at once). */
    readonly slots: number,
    /** Positions per slot. */
    readonly maxT: number,
    allocate: (length: number) => FloatArray,
  ) {
    if (!(slots > 0 && maxT > 0)) throw new ShapeError(`KvCache: slots (${slots}) and maxT (${maxT}) must be > 0`);
    this.rowSize = dims.KVH * dims.D;
    this.layers = Array.from({ length: dims.L }, () => ({
      keys: allocate(slots * maxT * this.rowSize),
      values: allocate(slots * maxT * this.rowSize),
    }));
  }

  /** Bytes held by the cache. */
  get bytes(): number {
    return this.layers.reduce((sum, layer) => sum + layer.keys.byteLength + layer.values.byteLength, 0);
  }

  /** Writes rows of keys and values (R,KVH,D) of layer `layer` at (slots[r], positions[r]). */
  write(layer: number, keys: FloatArray, values: FloatArray, slots: Int32Array, positions: Int32Array, R: number): void {
    const cache = this.layers[layer]!;
    const size = this.rowSize;
    for (let r = 0; r < R; r++) {
      const destination = (slots[r]! * this.maxT + positions[r]!) * size;
      cache.keys.set(keys.subarray(r * size, (r + 1) * size), destination);
      cache.values.set(values.subarray(r * size, (r + 1) * size), destination);
    }
  }

  /** Copies positions [0, length) of slot `source` into slot `target`, in every layer. */
  copyPrefix(source: number, target: number, length: number): void {
    if (source === target || length === 0) return;
    const size = this.rowSize;
    const from = source * this.maxT * size;
    const to = target * this.maxT * size;
    for (const cache of this.layers) {
      cache.keys.copyWithin(to, from, from + length * size);
      cache.values.copyWithin(to, from, from + length * size);
    }
  }
}
