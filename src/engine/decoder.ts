/**
 * Inference forward over a KV cache: one call processes R token rows, each a (slot, position,
 * token) triple, for prefill and decoding alike. Every row's keys and values are written into the
 * cache before attention, so a prefill row attends to the rows before it in the same call. Logits
 * are computed only for the rows that need them (the last row of each sequence).
 */
import { ShapeError } from '../errors.js';
import type { FloatArray } from './kernels/kernels.js';
import { KvCache } from './kv-cache.js';
import type { Transformer } from './transformer.js';

/** One decoder call's rows. */
export interface DecoderRows {
  /** Number of rows. */
  R: number;
  /** Token id of each row (R). */
  tokens: Int32Array;
  /** Cache slot of each row (R). */
  slots: Int32Array;
  /** Position of each row in its slot (R). */
  positions: Int32Array;
  /** Rows whose logits are wanted, in output order (R2). */
  logitRows: Int32Array;
}

/** Runs the model over cached sequences; holds the KV cache and its scratch buffers. */
export class Decoder {
  readonly cache: KvCache;
  private capacity = 0;
  private scratch: Record<string, FloatArray> = {};

  constructor(
    readonly model: Transformer,
    slots: number,
    maxT: number,
    /** Most rows per call (default 1024). */
    readonly maxRows = 1024,
  ) {
    if (maxT > model.config.max_position_embeddings) {
      throw new ShapeError(
        `Decoder: maxT ${maxT} exceeds max_position_embeddings ${model.config.max_position_embeddings}`,
      );
    }
    this.cache = new KvCache(model.dims, slots, maxT, model.allocate);
  }

  /** Processes the rows; returns the logits (R2,V) of `rows.logitRows` (a view valid until the next call). */
  run(rows: DecoderRows): FloatArray {
    const { R, tokens, slots, positions, logitRows } = rows;
    const { L, C, H, KVH, D, F, V } = this.model.dims;
    const { S, maxT, paddedT } = { S: this.cache.slots, maxT: this.cache.maxT, paddedT: this.cache.paddedT };
    for (let r = 0; r < R; r++) {
      if (slots[r]! < 0 || slots[r]! >= S || positions[r]! < 0 || positions[r]! >= maxT) {
        throw new ShapeError(
          `Decoder.run: row ${r} has slot ${slots[r]} and position ` +
            `${positions[r]}; expected slot < ${S} and position < ${maxT}`,
        );
      }
    }
    if (R > this.maxRows) throw new ShapeError(`Decoder.run: ${R} rows exceed maxRows ${this.maxRows}`);
    const R2 = logitRows.length;
    this.ensure(Math.max(R, 1));
    const s = this.scratch;
    const x = s.x!.subarray(0, R * C); // residual stream (R,C)
    const norm = s.norm!.subarray(0, R * C); // (R,C)
    const rstd = s.rstd!.subarray(0, R); // (R)
    const q = s.q!.subarray(0, R * H * D); // (R,H,D)
    const k = s.k!.subarray(0, R * KVH * D); // (R,KVH,D)
    const v = s.v!.subarray(0, R * KVH * D); // (R,KVH,D)
    const attention = s.attention!.subarray(0, R * H * D); // (R,H,D)
    const projection = s.projection!.subarray(0, R * C); // (R,C)
    const gate = s.gate!.subarray(0, R * F); // (R,F)
    const up = s.up!.subarray(0, R * F); // (R,F)
    const hidden = s.hidden!.subarray(0, R * F); // silu(gate)*up (R,F)
    const kern = this.model.kernels;
    const w = this.model.weights;
    const config = this.model.config;

    kern.embeddingForward(x, tokens, w.embedding, R, C, V);
    for (let l = 0; l < L; l++) {
      const lw = w.layers[l]!;
      const layerCache = this.cache.layers[l]!;
      kern.rmsnormForward(norm, rstd, x, lw.norm1, R, C, config.rms_norm_eps);
      kern.matmulForward(q, norm, lw.qWeight, lw.qBias, R, C, H * D);
      kern.matmulForward(k, norm, lw.kWeight, lw.kBias, R, C, KVH * D);
      kern.matmulForward(v, norm, lw.vWeight, lw.vBias, R, C, KVH * D);
      kern.rope(q, q, positions, R, H, D, config.rope_theta, false);
      kern.rope(k, k, positions, R, KVH, D, config.rope_theta, false);
      kern.attentionCached(
        attention,
        q,
        k,
        v,
        layerCache.keys,
        layerCache.values,
        slots,
        positions,
        R,
        S,
        paddedT,
        H,
        KVH,
        D,
      );
      kern.matmulForward(projection, attention, lw.oWeight, null, R, H * D, C);
      kern.add(x, x, projection, R * C);
      kern.rmsnormForward(norm, rstd, x, lw.norm2, R, C, config.rms_norm_eps);
      kern.matmulForward(gate, norm, lw.gateWeight, null, R, C, F);
      kern.matmulForward(up, norm, lw.upWeight, null, R, C, F);
      kern.swigluForward(hidden, gate, up, R * F);
      kern.matmulForward(projection, hidden, lw.downWeight, null, R, F, C);
      kern.add(x, x, projection, R * C);
    }
    // Gather the rows that need logits, then the final norm and the LM head on those only.
    const selected = s.selected!.subarray(0, R2 * C); // (R2,C)
    for (let i = 0; i < R2; i++) {
      const r = logitRows[i]!;
      if (r < 0 || r >= R) throw new ShapeError(`Decoder.run: logit row ${r} is outside [0, ${R})`);
      selected.set(x.subarray(r * C, (r + 1) * C), i * C);
    }
    const selectedNorm = s.selectedNorm!.subarray(0, R2 * C);
    kern.rmsnormForward(selectedNorm, rstd.subarray(0, R2), selected, w.finalNorm, R2, C, config.rms_norm_eps);
    const logits = s.logits!.subarray(0, R2 * V); // (R2,V)
    kern.matmulForward(logits, selectedNorm, w.lmHead, null, R2, C, V);
    return logits;
  }

  private ensure(R: number): void {
    if (R <= this.capacity) return;
    const capacity = Math.max(R, 64);
    const { C, H, KVH, D, F, V } = this.model.dims;
    const allocate = this.model.allocate;
    this.scratch = {
      x: allocate(capacity * C),
      norm: allocate(capacity * C),
      rstd: allocate(capacity),
      q: allocate(capacity * H * D),
      k: allocate(capacity * KVH * D),
      v: allocate(capacity * KVH * D),
      attention: allocate(capacity * H * D),
      projection: allocate(capacity * C),
      gate: allocate(capacity * F),
      up: allocate(capacity * F),
      hidden: allocate(capacity * F),
      selected: allocate(capacity * C),
      selectedNorm: allocate(capacity * C),
      logits: allocate(capacity * V),
    };
    this.capacity = capacity;
  }
}
