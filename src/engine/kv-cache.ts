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
  /** (S,maxT,KVH,D) followed by a staging area of (stagingRows,KVH,D). */
  keys: FloatArray;
  /** (S,maxT,KVH,D) followed by a staging area of (stagingRows,KVH,D). */
  values: FloatArray;
  /** Views of the staging areas, where the decoder computes new rows' keys and values. */
  stagedKeys: FloatArray;
  stagedValues: FloatArray;
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
    /** Most rows written at once (the staging area's size). */
    readonly stagingRows: number,
    allocate: (length: number) => FloatArray,
    /** Touch every page at construction (default false). */
    prefault = false,
  ) {
    if (!(slots > 0 && maxT > 0 && stagingRows > 0)) {
      throw new ShapeError(`KvCache: slots (${slots}), maxT (${maxT}) and stagingRows (${stagingRows}) must be > 0`);
    }
    this.rowSize = dims.KVH * dims.D;
    const cached = slots * maxT * this.rowSize;
    const length = cached + stagingRows * this.rowSize;
    // Pages are committed lazily, as slots fill up (a first write into fresh memory costs a page
    // fault, slow on virtual machines, so long-lived caches pay it once); `prefault` pays it now.
    this.layers = Array.from({ length: dims.L }, () => {
      const keys = allocate(length);
      const values = allocate(length);
      if (prefault) {
        keys.fill(0);
        values.fill(0);
      }
      return { keys, values, stagedKeys: keys.subarray(cached), stagedValues: values.subarray(cached) };
    });
  }

  /** Bytes held by the cache. */
  get bytes(): number {
    return this.layers.reduce((sum, layer) => sum + layer.keys.byteLength + layer.values.byteLength, 0);
  }

  /** Moves R staged rows of layer `layer` (keys and values, (R,KVH,D)) to (slots[r], positions[r]). */
  commit(layer: number, slots: Int32Array, positions: Int32Array, R: number): void {
    if (R > this.stagingRows) throw new ShapeError(`KvCache.commit: ${R} rows exceed the staging area of ${this.stagingRows}`);
    const cache = this.layers[layer]!;
    const size = this.rowSize;
    const staging = this.slots * this.maxT * size;
    for (let r = 0; r < R; r++) {
      const destination = (slots[r]! * this.maxT + positions[r]!) * size;
      const source = staging + r * size;
      cache.keys.copyWithin(destination, source, source + size);
      cache.values.copyWithin(destination, source, source + size);
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
