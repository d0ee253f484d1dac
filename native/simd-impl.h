/*
 * The kernels written once with GCC vector extensions, W float lanes wide. Included by
 * simd-avx512.c (W=16), simd-avx2.c (W=8) and simd-generic.c (W=4, baseline code for any CPU),
 * each of which sets the target first; this file then defines the table `TABLE_NAME`.
 * Tails shorter than W are handled with partial loads and masks, so any size works.
 */
#include <float.h>
#include <math.h>
#include <string.h>

#include "simd.h"

typedef float vf __attribute__((vector_size(W * 4)));
typedef int vi __attribute__((vector_size(W * 4)));
typedef float vf_half __attribute__((vector_size(W * 2)));
typedef double vd __attribute__((vector_size(W * 4)));

static inline vf vload(const float *p) { vf v; memcpy(&v, p, sizeof v); return v; }
static inline void vstore(float *p, vf v) { memcpy(p, &v, sizeof v); }
static inline vf vsplat(float x) { return x - (vf){0}; /* exact for every x, folds to a broadcast */ }
/* Loads n < W floats, the other lanes set to `fill`. */
static inline vf vload_partial(const float *p, long n, float fill) {
  vf v = vsplat(fill);
  memcpy(&v, p, (size_t)n * 4);
  return v;
}
static inline void vstore_partial(float *p, vf v, long n) { memcpy(p, &v, (size_t)n * 4); }
static inline vf vselect(vi mask, vf a, vf b) { return (vf)((mask & (vi)a) | (~mask & (vi)b)); }
static inline vf vmax(vf a, vf b) { return vselect(a > b, a, b); }
static inline vf vmin(vf a, vf b) { return vselect(a < b, a, b); }
/* Lanes [0, n) all ones, the rest zero. */
static inline vi vlanes_below(long n) {
  vi lanes;
  for (int i = 0; i < W; i++) lanes[i] = i;
  return lanes < (vi){0} + (int)n;
}
static inline float hsum(vf v) {
  float sum = 0;
  for (int i = 0; i < W; i++) sum += v[i];
  return sum;
}
static inline float hmax(vf v) {
  float best = v[0];
  for (int i = 1; i < W; i++) best = v[i] > best ? v[i] : best;
  return best;
}

/* exp(x), Cephes polynomial, ~2 ulp; inputs below -87.3 give ~1e-38 (callers mask lanes that must be 0). */
static inline vf vexp(vf x) {
  x = vmin(vmax(x, vsplat(-87.3365448f)), vsplat(88.3762626f));
  vf t = x * 1.44269504088896341f + 12582912.0f; /* round(x*log2e) in the low mantissa bits */
  vf n = t - 12582912.0f;
  vi exponent = (vi)t - 0x4B400000;
  vf r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  vf y = vsplat(1.9875691500e-4f);
  y = y * r + 1.3981999507e-3f;
  y = y * r + 8.3334519073e-3f;
  y = y * r + 4.1665795894e-2f;
  y = y * r + 1.6666665459e-1f;
  y = y * r + 5.0000001201e-1f;
  y = y * r * r + r + 1.0f;
  return (vf)((vi)y + (exponent << 23));
}

/* ---------------------------------------------------------------- GEMM micro-kernel */

/* The accumulator tile of both micro-kernels starts at zero; when it will be added to c, c's rows
 * are prefetched while the k loop runs. Always inlined, so the tile stays in registers. */
static inline __attribute__((always_inline)) void FN(tile_start)(vf acc[MR][2], const float *c, long ldc, int accumulate) {
  for (int i = 0; i < MR; i++) acc[i][0] = acc[i][1] = (vf){0};
  if (accumulate)
    for (int i = 0; i < MR; i++) {
      __builtin_prefetch(c + i * ldc, 1, 3);
      __builtin_prefetch(c + i * ldc + 2 * W - 1, 1, 3);
    }
}

/* c(MR,NR) = tile (+ bias[j]) (+ c when accumulating). */
static inline __attribute__((always_inline)) void FN(tile_store)(vf acc[MR][2], float *c, long ldc, int accumulate, const float *bias) {
  vf bias0 = bias ? vload(bias) : (vf){0}, bias1 = bias ? vload(bias + W) : (vf){0};
#pragma GCC unroll 16
  for (int i = 0; i < MR; i++) {
    float *row = c + i * ldc;
    vf c0 = acc[i][0] + bias0, c1 = acc[i][1] + bias1;
    if (accumulate) {
      c0 += vload(row);
      c1 += vload(row + W);
    }
    vstore(row, c0);
    vstore(row + W, c1);
  }
}

/* c(MR,NR) (+)= sum_k a[k*a_stride+i] * b[k*NR+j] (+ bias[j]); NR = 2 vectors. */
static void FN(gemm_kernel)(long kc, const float *a, long a_stride, const float *b, float *c, long ldc, int accumulate, const float *bias) {
  vf acc[MR][2];
  FN(tile_start)(acc, c, ldc, accumulate);
  for (long k = 0; k < kc; k++) {
    vf b0 = vload(b), b1 = vload(b + W);
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) {
      vf ai = vsplat(a[i]);
      acc[i][0] += ai * b0;
      acc[i][1] += ai * b1;
    }
    a += a_stride;
    b += 2 * W;
  }
  FN(tile_store)(acc, c, ldc, accumulate, bias);
}

/* c(MR,NR) (+)= sum_k a[i*lda+k] * b[k*NR+j] (+ bias[j]): A read in place from MR rows of a
 * row-major matrix (no packing), its MR rows walked in step. */
static void FN(gemm_kernel_rows)(long kc, const float *a, long lda, const float *b, float *c, long ldc, int accumulate, const float *bias) {
  vf acc[MR][2];
  FN(tile_start)(acc, c, ldc, accumulate);
  for (long k = 0; k < kc; k++) {
    vf b0 = vload(b), b1 = vload(b + W);
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) {
      vf ai = vsplat(a[i * lda + k]);
      acc[i][0] += ai * b0;
      acc[i][1] += ai * b1;
    }
    b += 2 * W;
  }
  FN(tile_store)(acc, c, ldc, accumulate, bias);
}

/* Transposes W rows of W floats in registers: r[i][j] becomes r[j][i] (log2(W) interleave stages). */
static inline void FN(transpose_block)(vf r[W]) {
  vi lo, hi;
  for (int m = 0; m < W / 2; m++) {
    lo[2 * m] = m, lo[2 * m + 1] = W + m;
    hi[2 * m] = W / 2 + m, hi[2 * m + 1] = W + W / 2 + m;
  }
  for (int stage = 1; stage < W; stage *= 2) {
    vf next[W];
#pragma GCC unroll 16
    for (int i = 0; i < W / 2; i++) {
      next[2 * i] = __builtin_shuffle(r[i], r[i + W / 2], lo);
      next[2 * i + 1] = __builtin_shuffle(r[i], r[i + W / 2], hi);
    }
#pragma GCC unroll 16
    for (int i = 0; i < W; i++) r[i] = next[i];
  }
}

/* panel[k*nr + j] = src[j*ld + k] for k < kc, j < cols; zero for cols <= j < nr (nr a multiple of W):
 * a B panel of the GEMM from a transposed operand (the (OC,C) weight of a forward), W x W blocks
 * transposed in registers. */
static void FN(pack_transposed)(float *panel, const float *src, long ld, long kc, long cols, long nr) {
  long k = 0;
  for (; k + W <= kc; k += W) {
    for (long j0 = 0; j0 < nr; j0 += W) {
      vf r[W];
#pragma GCC unroll 16
      for (int j = 0; j < W; j++) r[j] = j0 + j < cols ? vload(src + (j0 + j) * ld + k) : (vf){0};
      FN(transpose_block)(r);
#pragma GCC unroll 16
      for (int kk = 0; kk < W; kk++) vstore(panel + (k + kk) * nr + j0, r[kk]);
    }
  }
  for (; k < kc; k++)
    for (long j = 0; j < nr; j++) panel[k * nr + j] = j < cols ? src[j * ld + k] : 0;
}

#define TRANSPOSE_CHUNK 256 /* source rows per staged chunk: 1 KB of each destination row per copy */

/* dst[j*ld_dst + i] = src[i*ld_src + j] for i < rows, j < cols: W x W blocks transposed in
 * registers. When ld_dst is a multiple of 1024 floats, the W destination rows written in step
 * all fall in one cache set (4x slower at 4096); the blocks then go through a staging block and
 * each destination row gets one contiguous copy per chunk instead. */
static void FN(transpose)(float *dst, long ld_dst, const float *src, long ld_src, long rows, long cols) {
  int staged = ld_dst % 1024 == 0;
  float stage[W * TRANSPOSE_CHUNK] __attribute__((aligned(64)));
  for (long i0 = 0; i0 < rows; i0 += TRANSPOSE_CHUNK) {
    long count = rows - i0 < TRANSPOSE_CHUNK ? rows - i0 : TRANSPOSE_CHUNK;
    long j0 = 0;
    for (; j0 + W <= cols; j0 += W) {
      float *out = staged ? stage : dst + j0 * ld_dst + i0;
      long ld_out = staged ? TRANSPOSE_CHUNK : ld_dst;
      long i = 0;
      for (; i + W <= count; i += W) {
        vf r[W];
#pragma GCC unroll 16
        for (int t = 0; t < W; t++) r[t] = vload(src + (i0 + i + t) * ld_src + j0);
        FN(transpose_block)(r);
#pragma GCC unroll 16
        for (int t = 0; t < W; t++) vstore(out + t * ld_out + i, r[t]);
      }
      for (; i < count; i++)
        for (int t = 0; t < W; t++) out[t * ld_out + i] = src[(i0 + i) * ld_src + j0 + t];
      if (staged)
        for (int t = 0; t < W; t++) memcpy(dst + (j0 + t) * ld_dst + i0, stage + t * TRANSPOSE_CHUNK, (size_t)count * 4);
    }
    for (long j = j0; j < cols; j++)
      for (long i = 0; i < count; i++) dst[j * ld_dst + i0 + i] = src[(i0 + i) * ld_src + j];
  }
}

/* ---------------------------------------------------------------- elementwise and rows */

static void FN(rmsnorm_forward)(float *out, float *rstd, const float *inp, const float *weight, long rows, long C, float eps) {
  long full = C / W * W;
  for (long n = 0; n < rows; n++) {
    const float *x = inp + n * C;
    float *y = out + n * C;
    vf acc = (vf){0};
    for (long c = 0; c < full; c += W) {
      vf xv = vload(x + c);
      acc += xv * xv;
    }
    float sum = hsum(acc);
    for (long c = full; c < C; c++) sum += x[c] * x[c];
    float r = 1.0f / sqrtf(sum / (float)C + eps);
    rstd[n] = r;
    for (long c = 0; c < full; c += W) vstore(y + c, vload(x + c) * r * vload(weight + c));
    for (long c = full; c < C; c++) y[c] = x[c] * r * weight[c];
  }
}

static void FN(rmsnorm_backward)(float *dinp, float *dweight_partial, const float *dout, const float *inp, const float *weight, const float *rstd, long rows, long C) {
  long full = C / W * W;
  for (long n = 0; n < rows; n++) {
    const float *x = inp + n * C, *g = dout + n * C;
    float *dx = dinp + n * C;
    float r = rstd[n];
    vf acc = (vf){0};
    for (long c = 0; c < full; c += W) acc += vload(g + c) * vload(weight + c) * vload(x + c);
    float dot = hsum(acc);
    for (long c = full; c < C; c++) dot += g[c] * weight[c] * x[c];
    float coefficient = r * r * dot / (float)C;
    for (long c = 0; c < full; c += W) {
      vf xv = vload(x + c), gv = vload(g + c);
      vstore(dx + c, vload(dx + c) + r * (gv * vload(weight + c) - xv * coefficient));
      vstore(dweight_partial + c, vload(dweight_partial + c) + gv * xv * r);
    }
    for (long c = full; c < C; c++) {
      dx[c] += r * (g[c] * weight[c] - x[c] * coefficient);
      dweight_partial[c] += g[c] * x[c] * r;
    }
  }
}

static void FN(rope_rows)(float *out, const float *inp, const int *positions, long rows, long H, long D, const float *cos_table, const float *sin_table, int inverse) {
  long half = D / 2, full = half / W * W;
  float sign = inverse ? -1.0f : 1.0f;
  for (long n = 0; n < rows; n++) {
    const float *cs = cos_table + (long)positions[n] * half, *sn = sin_table + (long)positions[n] * half;
    for (long h = 0; h < H; h++) {
      const float *x = inp + (n * H + h) * D;
      float *y = out + (n * H + h) * D;
      for (long i = 0; i < full; i += W) {
        vf x1 = vload(x + i), x2 = vload(x + i + half), c = vload(cs + i), s = vload(sn + i) * sign;
        vstore(y + i, x1 * c - x2 * s);
        vstore(y + i + half, x2 * c + x1 * s);
      }
      for (long i = full; i < half; i++) {
        float x1 = x[i], x2 = x[i + half], c = cs[i], s = sn[i] * sign;
        y[i] = x1 * c - x2 * s;
        y[i + half] = x2 * c + x1 * s;
      }
    }
  }
}

static void FN(swiglu_forward)(float *out, const float *gate, const float *up, long n) {
  long i = 0;
  for (; i + W <= n; i += W) {
    vf g = vload(gate + i);
    vstore(out + i, g / (1.0f + vexp(-g)) * vload(up + i));
  }
  if (i < n) {
    vf g = vload_partial(gate + i, n - i, 0);
    vstore_partial(out + i, g / (1.0f + vexp(-g)) * vload_partial(up + i, n - i, 0), n - i);
  }
}

static inline void FN(swiglu_backward_vector)(vf g, vf u, vf d, vf *dg, vf *du) {
  vf sigmoid = 1.0f / (1.0f + vexp(-g));
  *dg += d * u * sigmoid * (1.0f + g * (1.0f - sigmoid));
  *du += d * g * sigmoid;
}

static void FN(swiglu_backward)(float *dgate, float *dup, const float *dout, const float *gate, const float *up, long n) {
  long i = 0;
  for (; i + W <= n; i += W) {
    vf dg = vload(dgate + i), du = vload(dup + i);
    FN(swiglu_backward_vector)(vload(gate + i), vload(up + i), vload(dout + i), &dg, &du);
    vstore(dgate + i, dg);
    vstore(dup + i, du);
  }
  if (i < n) {
    long rest = n - i;
    vf dg = vload_partial(dgate + i, rest, 0), du = vload_partial(dup + i, rest, 0);
    FN(swiglu_backward_vector)(vload_partial(gate + i, rest, 0), vload_partial(up + i, rest, 0), vload_partial(dout + i, rest, 0), &dg, &du);
    vstore_partial(dgate + i, dg, rest);
    vstore_partial(dup + i, du, rest);
  }
}

static void FN(add)(float *out, const float *a, const float *b, long n) {
  long i = 0;
  for (; i + W <= n; i += W) vstore(out + i, vload(a + i) + vload(b + i));
  for (; i < n; i++) out[i] = a[i] + b[i];
}

static void FN(logprobs_forward)(float *logprobs, float *lse, float *entropy, const float *logits, const int *targets, long rows, long V, float inv_temperature) {
  long full = V / W * W, rest = V - full;
  vi tail = vlanes_below(rest);
  for (long n = 0; n < rows; n++) {
    const float *x = logits + n * V;
    vf maxv = vsplat(-INFINITY);
    for (long i = 0; i < full; i += W) maxv = vmax(maxv, vload(x + i));
    if (rest) maxv = vmax(maxv, vload_partial(x + full, rest, -INFINITY));
    float xmax = hmax(maxv), max = xmax * inv_temperature;
    vf sum = (vf){0}, weighted = (vf){0};
    for (long i = 0; i < full; i += W) {
      vf z = vload(x + i) * inv_temperature;
      vf e = vexp(z - max);
      sum += e;
      weighted += e * z;
    }
    if (rest) {
      vf z = vload_partial(x + full, rest, 0) * inv_temperature;
      vf e = vselect(tail, vexp(z - max), (vf){0});
      sum += e;
      weighted += e * z;
    }
    float total = hsum(sum);
    float log_total = logf(total);
    lse[n] = max + log_total;
    /* (x_t - xmax)*invT is exact for the arg-max target, so a certain token gets logprob 0 */
    logprobs[n] = (x[targets[n]] - xmax) * inv_temperature - log_total;
    float row_lse = max + log_total;
    if (entropy) entropy[n] = row_lse - hsum(weighted) / total;
  }
}

/* e(V) = exp(x*invT - max(x)*invT) (the terms of logprobs_forward); returns their sum, *xmax = max(x). */
static float FN(softmax_weights)(float *e, const float *x, long V, float inv_temperature, float *xmax_out) {
  long full = V / W * W, rest = V - full;
  vi tail = vlanes_below(rest);
  vf maxv = vsplat(-INFINITY);
  for (long i = 0; i < full; i += W) maxv = vmax(maxv, vload(x + i));
  if (rest) maxv = vmax(maxv, vload_partial(x + full, rest, -INFINITY));
  float xmax = hmax(maxv), max = xmax * inv_temperature;
  vf sum = (vf){0};
  for (long i = 0; i < full; i += W) {
    vf w = vexp(vload(x + i) * inv_temperature - max);
    vstore(e + i, w);
    sum += w;
  }
  if (rest) {
    vf w = vselect(tail, vexp(vload_partial(x + full, rest, 0) * inv_temperature - max), (vf){0});
    vstore_partial(e + full, w, rest);
    sum += w;
  }
  *xmax_out = xmax;
  return hsum(sum);
}

/* The first v whose cumulative weight e[0..v] exceeds target (a block of W at a time); the last
 * v with weight when rounding leaves the target unreached. */
static long FN(scan_weights)(const float *e, long V, double target) {
  long full = V / W * W;
  double cumulative = 0;
  long i = 0;
  for (; i < full; i += W) {
    double block = hsum(vload(e + i));
    if (cumulative + block > target) break;
    cumulative += block;
  }
  long last = -1;
  for (; i < V; i++) {
    cumulative += e[i];
    if (e[i] > 0) last = i;
    if (cumulative > target) return i;
  }
  if (last >= 0) return last;
  for (long v = V - 1; v >= 0; v--)
    if (e[v] > 0) return v;
  return 0;
}

/* out[b] = max(x[16b .. 16b+16)) for b < blocks. */
static void FN(block_maxima)(float *out, const float *x, long blocks) {
  for (long b = 0; b < blocks; b++) {
    vf best = vload(x + b * 16);
#pragma GCC unroll 4
    for (int v = 1; v < 16 / W; v++) best = vmax(best, vload(x + b * 16 + v * W));
    out[b] = hmax(best);
  }
}

static void FN(logprobs_backward)(float *dlogits, const float *dlogprobs, const float *logits, const float *lse, const int *targets, long rows, long V, float inv_temperature) {
  long full = V / W * W, rest = V - full;
  for (long n = 0; n < rows; n++) {
    float scale = dlogprobs[n] * inv_temperature;
    if (scale == 0) continue;
    const float *x = logits + n * V;
    float *dx = dlogits + n * V;
    float row_lse = lse[n];
    for (long i = 0; i < full; i += W) vstore(dx + i, vload(dx + i) - scale * vexp(vload(x + i) * inv_temperature - row_lse));
    if (rest) vstore_partial(dx + full, vload_partial(dx + full, rest, 0) - scale * vexp(vload_partial(x + full, rest, 0) * inv_temperature - row_lse), rest);
    dx[targets[n]] += scale;
  }
}

static void FN(adamw)(float *params, const float *grads, float *m, float *v, long n, float lr, float beta1, float beta2, float eps, float decay, float step_size, float correction2_sqrt, float grad_scale) {
  (void)lr;
  float inv_correction2_sqrt = 1.0f / correction2_sqrt;
  for (long i = 0; i < n; i++) {
    float g = grads[i] * grad_scale;
    float mi = beta1 * m[i] + (1.0f - beta1) * g;
    float vi_ = beta2 * v[i] + (1.0f - beta2) * g * g;
    m[i] = mi;
    v[i] = vi_;
    params[i] = params[i] * decay - step_size * mi / (sqrtf(vi_) * inv_correction2_sqrt + eps);
  }
}

static double FN(sum_squares)(const float *x, long n) {
  vd acc0 = (vd){0}, acc1 = (vd){0};
  long i = 0;
  for (; i + W <= n; i += W) {
    vf_half lo, hi;
    memcpy(&lo, x + i, sizeof lo);
    memcpy(&hi, x + i + W / 2, sizeof hi);
    vd dlo = __builtin_convertvector(lo, vd), dhi = __builtin_convertvector(hi, vd);
    acc0 += dlo * dlo;
    acc1 += dhi * dhi;
  }
  double sum = 0;
  for (int l = 0; l < W / 2; l++) sum += acc0[l] + acc1[l];
  for (; i < n; i++) sum += (double)x[i] * (double)x[i];
  return sum;
}

static void FN(column_sums)(float *sums, const float *dout, long rows, long OC) {
  long full = OC / W * W;
  for (long n = 0; n < rows; n++) {
    const float *row = dout + n * OC;
    for (long o = 0; o < full; o += W) vstore(sums + o, vload(sums + o) + vload(row + o));
    for (long o = full; o < OC; o++) sums[o] += row[o];
  }
}

/* ---------------------------------------------------------------- attention */

static inline long round_up(long x, long m) { return (x + m - 1) / m * m; }

/* max(scores[0..t]) over `blocks` vectors, ignoring lanes past t in the last one. */
static inline float FN(row_max)(const float *scores, long t, long blocks) {
  vf best = vsplat(-INFINITY);
  for (long jb = 0; jb + 1 < blocks; jb++) best = vmax(best, vload(scores + jb * W));
  vi keep_last = vlanes_below((t + 1) - (blocks - 1) * W);
  best = vmax(best, vselect(keep_last, vload(scores + (blocks - 1) * W), vsplat(-INFINITY)));
  return hmax(best);
}

/* Packs rows j<T of x(B,T,heads,D) at (b, head) as transposed (D, tp) and/or padded rows (T, dp). */
static void FN(pack_head)(float *transposed, float *padded, const float *x, long b, long head, long T, long heads, long D, long tp, long dp) {
  for (long j = 0; j < T; j++) {
    const float *src = x + ((b * T + j) * heads + head) * D;
    if (transposed)
      for (long d = 0; d < D; d++) transposed[d * tp + j] = src[d];
    if (padded) {
      memcpy(padded + j * dp, src, (size_t)D * 4);
      memset(padded + j * dp + D, 0, (size_t)(dp - D) * 4);
    }
  }
  if (transposed)
    for (long d = 0; d < D; d++) memset(transposed + d * tp + T, 0, (size_t)(tp - T) * 4);
}

/* Softmax weights p[0..t] = exp(scores - shift), zero for t < j < blocks*W; returns their sum. */
static inline float FN(exp_scores)(float *scores, long t, long blocks, float shift) {
  vf sum = (vf){0};
  vi keep_last = vlanes_below((t + 1) - (blocks - 1) * W);
  for (long jb = 0; jb < blocks; jb++) {
    vf e = vexp(vload(scores + jb * W) - shift);
    if (jb == blocks - 1) e = vselect(keep_last, e, (vf){0});
    vstore(scores + jb * W, e);
    sum += e;
  }
  return hsum(sum);
}

/* Queries per block: every key and value row loaded is used by QB queries. */
#define QB 4

/* scores(QB, stride tp)[i][0..blocks*W) = qs(QB, stride dp)[i] . kt(D, stride tp), two key vectors at a time. */
static inline void FN(score_blocks_multi)(float *scores, const float *qs, long dp, const float *kt, long tp, long D, long blocks) {
  for (long jb = 0; jb < blocks; jb += 2) {
    int two = jb + 1 < blocks;
    vf a[QB][2];
    for (int i = 0; i < QB; i++) a[i][0] = a[i][1] = (vf){0};
    const float *col = kt + jb * W;
    for (long d = 0; d < D; d++) {
      vf k0 = vload(col + d * tp), k1 = two ? vload(col + d * tp + W) : (vf){0};
#pragma GCC unroll 4
      for (int i = 0; i < QB; i++) {
        vf qi = vsplat(qs[i * dp + d]);
        a[i][0] += qi * k0;
        a[i][1] += qi * k1;
      }
    }
    for (int i = 0; i < QB; i++) {
      vstore(scores + i * tp + jb * W, a[i][0]);
      if (two) vstore(scores + i * tp + (jb + 1) * W, a[i][1]);
    }
  }
}

/* acc(QB, stride dp)[i] (+)= sum_{j<count} p(QB, stride tp)[i][j] * rows[j] (rows of dp floats). */
static inline void FN(weighted_rows_multi)(float *acc, const float *p, long tp, const float *rows, long count, long dp) {
  for (long c0 = 0; c0 < dp; c0 += 2 * W) {
    int two = dp - c0 >= 2 * W;
    vf a[QB][2];
    for (int i = 0; i < QB; i++) a[i][0] = a[i][1] = (vf){0};
    for (long j = 0; j < count; j++) {
      const float *row = rows + j * dp + c0;
      vf v0 = vload(row), v1 = two ? vload(row + W) : (vf){0};
#pragma GCC unroll 4
      for (int i = 0; i < QB; i++) {
        vf pi = vsplat(p[i * tp + j]);
        a[i][0] += pi * v0;
        a[i][1] += pi * v1;
      }
    }
    for (int i = 0; i < QB; i++) {
      vstore(acc + i * dp + c0, vload(acc + i * dp + c0) + a[i][0]);
      if (two) vstore(acc + i * dp + c0 + W, vload(acc + i * dp + c0 + W) + a[i][1]);
    }
  }
}

/* Loads the block's query rows (times `scale`) into rows(QB, stride dp), zero past nq and D. */
static inline void FN(load_query_rows)(float *rows, long dp, const float *x, long b, long t0, long nq, long h, long T, long H, long D, float scale) {
  memset(rows, 0, sizeof(float) * (size_t)(QB * dp));
  for (long i = 0; i < nq; i++) {
    const float *src = x + ((b * T + t0 + i) * H + h) * D;
    for (long d = 0; d < D; d++) rows[i * dp + d] = src[d] * scale;
  }
}

/* Turns score rows into softmax numerators exp(s - shift_i) for keys j <= t0+i, 0 for the other keys < blocks*W. */
static inline void FN(block_softmax)(float *scores, long tp, long t0, long nq, long blocks, const float *shift) {
  for (long i = 0; i < QB; i++) {
    float *row = scores + i * tp;
    if (i >= nq) {
      memset(row, 0, sizeof(float) * (size_t)(blocks * W));
      continue;
    }
    long t = t0 + i, own = (t + 1 + W - 1) / W;
    FN(exp_scores)(row, t, own, shift[i]);
    memset(row + own * W, 0, sizeof(float) * (size_t)((blocks - own) * W));
  }
}

static void FN(attention_forward_head)(float *out, float *lse, const float *q, const float *k, const float *v, long b, long h, long T, long H, long KVH, long D) {
  long kvh = h / (H / KVH), tp = round_up(T + QB, W), dp = round_up(D, W);
  float *kt = thread_scratch(0, (size_t)(D * tp));
  float *vp = thread_scratch(1, (size_t)(T * dp));
  float *work = thread_scratch(2, (size_t)(QB * tp + 2 * QB * dp));
  float *scores = work, *qs = work + QB * tp, *acc = qs + QB * dp;
  FN(pack_head)(kt, NULL, k, b, kvh, T, KVH, D, tp, dp);
  FN(pack_head)(NULL, vp, v, b, kvh, T, KVH, D, tp, dp);
  float scale = 1.0f / sqrtf((float)D);
  for (long t0 = 0; t0 < T; t0 += QB) {
    long nq = T - t0 < QB ? T - t0 : QB, count = t0 + nq, blocks = (count + W - 1) / W;
    FN(load_query_rows)(qs, dp, q, b, t0, nq, h, T, H, D, scale);
    FN(score_blocks_multi)(scores, qs, dp, kt, tp, D, blocks);
    float shift[QB] = {0};
    for (long i = 0; i < nq; i++) shift[i] = FN(row_max)(scores + i * tp, t0 + i, (t0 + i + W) / W);
    FN(block_softmax)(scores, tp, t0, nq, blocks, shift);
    memset(acc, 0, sizeof(float) * (size_t)(QB * dp));
    FN(weighted_rows_multi)(acc, scores, tp, vp, count, dp);
    for (long i = 0; i < nq; i++) {
      const float *row = scores + i * tp;
      vf sumv = (vf){0};
      for (long jb = 0; jb < blocks; jb++) sumv += vload(row + jb * W);
      float sum = hsum(sumv), inv = 1.0f / sum;
      lse[(b * H + h) * T + t0 + i] = shift[i] + logf(sum);
      float *orow = out + ((b * T + t0 + i) * H + h) * D;
      for (long d = 0; d < D; d++) orow[d] = acc[i * dp + d] * inv;
    }
  }
}

static void FN(attention_backward_group)(float *dq, float *dk, float *dv, const float *dout, const float *q, const float *k, const float *v, const float *out, const float *lse, long b, long kvh, long T, long H, long KVH, long D) {
  long group = H / KVH, tp = round_up(T + QB, W), dp = round_up(D, W);
  float *kt = thread_scratch(0, (size_t)(2 * D * tp));
  float *vt = kt + D * tp;
  float *kp = thread_scratch(1, (size_t)(3 * T * dp));
  float *dkp = kp + T * dp, *dvp = dkp + T * dp;
  float *work = thread_scratch(2, (size_t)(2 * QB * tp + 3 * QB * dp));
  float *p = work, *ds = work + QB * tp, *qs = ds + QB * tp, *go = qs + QB * dp, *dqacc = go + QB * dp;
  FN(pack_head)(kt, kp, k, b, kvh, T, KVH, D, tp, dp);
  FN(pack_head)(vt, NULL, v, b, kvh, T, KVH, D, tp, dp);
  memset(dkp, 0, sizeof(float) * (size_t)(2 * T * dp));
  float scale = 1.0f / sqrtf((float)D);
  for (long h = kvh * group; h < (kvh + 1) * group; h++) {
    for (long t0 = 0; t0 < T; t0 += QB) {
      long nq = T - t0 < QB ? T - t0 : QB, count = t0 + nq, blocks = (count + W - 1) / W;
      FN(load_query_rows)(qs, dp, q, b, t0, nq, h, T, H, D, scale);
      FN(load_query_rows)(go, dp, dout, b, t0, nq, h, T, H, D, 1.0f);
      float shift[QB] = {0}, delta[QB] = {0};
      for (long i = 0; i < nq; i++) {
        long row = ((b * T + t0 + i) * H + h) * D;
        shift[i] = lse[(b * H + h) * T + t0 + i];
        for (long d = 0; d < D; d++) delta[i] += dout[row + d] * out[row + d];
      }
      FN(score_blocks_multi)(p, qs, dp, kt, tp, D, blocks);
      FN(block_softmax)(p, tp, t0, nq, blocks, shift);
      FN(score_blocks_multi)(ds, go, dp, vt, tp, D, blocks);
      for (long i = 0; i < QB; i++)
        for (long jb = 0; jb < blocks; jb++) {
          vf pv = vload(p + i * tp + jb * W);
          vstore(ds + i * tp + jb * W, pv * (vload(ds + i * tp + jb * W) - delta[i]));
        }
      memset(dqacc, 0, sizeof(float) * (size_t)(QB * dp));
      FN(weighted_rows_multi)(dqacc, ds, tp, kp, count, dp);
      for (long i = 0; i < nq; i++) {
        float *dqrow = dq + ((b * T + t0 + i) * H + h) * D;
        for (long d = 0; d < D; d++) dqrow[d] += dqacc[i * dp + d] * scale;
      }
      /* dk_j += sum_i ds[i][j] qs_i; dv_j += sum_i p[i][j] go_i: one vector of columns at a time, so
       * the block's query and output-gradient vectors stay in registers across the keys j. */
      for (long c = 0; c < dp; c += W) {
        vf qv[QB], gv[QB];
        for (int i = 0; i < QB; i++) {
          qv[i] = vload(qs + i * dp + c);
          gv[i] = vload(go + i * dp + c);
        }
        for (long j = 0; j < count; j++) {
          float *dkrow = dkp + j * dp + c, *dvrow = dvp + j * dp + c;
          vf dkv = vload(dkrow), dvv = vload(dvrow);
#pragma GCC unroll 4
          for (int i = 0; i < QB; i++) {
            dkv += vsplat(ds[i * tp + j]) * qv[i];
            dvv += vsplat(p[i * tp + j]) * gv[i];
          }
          vstore(dkrow, dkv);
          vstore(dvrow, dvv);
        }
      }
    }
  }
  for (long j = 0; j < T; j++) {
    long row = ((b * T + j) * KVH + kvh) * D;
    for (long d = 0; d < D; d++) {
      dk[row + d] += dkp[j * dp + d];
      dv[row + d] += dvp[j * dp + d];
    }
  }
}

/* Scores of one query against two key tiles (2*KEY_TILE positions), even and odd d summed apart. */
static inline void FN(score_tile_pair)(float *scores, const float *qs, const float *k0, long D) {
  enum { TV = KEY_TILE / W };
  const float *k1 = k0 + KEY_TILE * D;
  vf a0[TV], a1[TV], b0[TV], b1[TV];
  for (int v = 0; v < TV; v++) a0[v] = a1[v] = b0[v] = b1[v] = (vf){0};
  long d = 0;
  for (; d + 2 <= D; d += 2) {
    vf q0 = vsplat(qs[d]), q1 = vsplat(qs[d + 1]);
    const float *r0 = k0 + d * KEY_TILE, *r1 = k1 + d * KEY_TILE;
#pragma GCC unroll 4
    for (int v = 0; v < TV; v++) {
      a0[v] += q0 * vload(r0 + v * W);
      a1[v] += q0 * vload(r1 + v * W);
      b0[v] += q1 * vload(r0 + KEY_TILE + v * W);
      b1[v] += q1 * vload(r1 + KEY_TILE + v * W);
    }
  }
  if (d < D) {
    vf q0 = vsplat(qs[d]);
    for (int v = 0; v < TV; v++) {
      a0[v] += q0 * vload(k0 + d * KEY_TILE + v * W);
      a1[v] += q0 * vload(k1 + d * KEY_TILE + v * W);
    }
  }
  for (int v = 0; v < TV; v++) {
    vstore(scores + v * W, a0[v] + b0[v]);
    vstore(scores + KEY_TILE + v * W, a1[v] + b1[v]);
  }
}

/* Scores of one query against one key tile, summed in the same order as score_tile_pair. */
static inline void FN(score_tile)(float *scores, const float *qs, const float *k0, long D) {
  enum { TV = KEY_TILE / W };
  vf a0[TV], b0[TV];
  for (int v = 0; v < TV; v++) a0[v] = b0[v] = (vf){0};
  long d = 0;
  for (; d + 2 <= D; d += 2) {
    vf q0 = vsplat(qs[d]), q1 = vsplat(qs[d + 1]);
    for (int v = 0; v < TV; v++) {
      a0[v] += q0 * vload(k0 + d * KEY_TILE + v * W);
      b0[v] += q1 * vload(k0 + (d + 1) * KEY_TILE + v * W);
    }
  }
  if (d < D) {
    vf q0 = vsplat(qs[d]);
    for (int v = 0; v < TV; v++) a0[v] += q0 * vload(k0 + d * KEY_TILE + v * W);
  }
  for (int v = 0; v < TV; v++) vstore(scores + v * W, a0[v] + b0[v]);
}

/* out(NV vectors) = sum_j p[j] * v_rows[j*D ..], j < count, two positions per step (even and odd j summed apart). */
static inline __attribute__((always_inline)) void FN(weighted_values)(float *out, const float *p, const float *v_rows, long count, long D, float inv, const int NV) {
  vf a[4], b[4];
  for (int v = 0; v < NV; v++) a[v] = b[v] = (vf){0};
  long j = 0;
  for (; j + 2 <= count; j += 2) {
    vf p0 = vsplat(p[j]), p1 = vsplat(p[j + 1]);
    const float *r0 = v_rows + j * D, *r1 = r0 + D;
    for (int v = 0; v < NV; v++) {
      a[v] += p0 * vload(r0 + v * W);
      b[v] += p1 * vload(r1 + v * W);
    }
  }
  if (j < count) {
    vf p0 = vsplat(p[j]);
    for (int v = 0; v < NV; v++) a[v] += p0 * vload(v_rows + j * D + v * W);
  }
  for (int v = 0; v < NV; v++) vstore(out + v * W, (a[v] + b[v]) * inv);
}

/* One query (already scaled) against positions 0..count-1 of a cache slot: og(D) = softmax(q.k) v.
 * `scores` holds at least `tiles*KEY_TILE` floats. */
static void FN(cached_query)(float *og, const float *qs, const float *k_slot, const float *v_slot, long count, long D, float *scores) {
  long tiles = (count + KEY_TILE - 1) / KEY_TILE, blocks = (count + W - 1) / W;
  /* Scores tile by tile; the key tiles of this (slot, head) are one contiguous stream. */
  long tile_floats = KEY_TILE * D;
  long t = 0;
  for (; t + 2 <= tiles; t += 2) {
    /* Two tiles ahead: keys, and the values read after the softmax (kept in L2 meanwhile). */
    long ahead = t + 2 + 2 <= tiles ? 2 * tile_floats : t + 2 < tiles ? tile_floats : 0;
    const float *kp = k_slot + (t + 2) * tile_floats, *vp = v_slot + (t + 2) * tile_floats;
    for (long e = 0; e < ahead; e += 16) {
      __builtin_prefetch(kp + e, 0, 3);
      __builtin_prefetch(vp + e, 0, 2);
    }
    FN(score_tile_pair)(scores + t * KEY_TILE, qs, k_slot + t * KEY_TILE * D, D);
  }
  if (t < tiles) FN(score_tile)(scores + t * KEY_TILE, qs, k_slot + t * KEY_TILE * D, D);
  float max = FN(row_max)(scores, count - 1, blocks);
  float inv = 1.0f / FN(exp_scores)(scores, count - 1, blocks, max);
  /* Values in chunks of up to 4 vectors held in registers; a tail narrower than W by scalars. */
  long d0 = 0;
  for (; d0 + 4 * W <= D; d0 += 4 * W) FN(weighted_values)(og + d0, scores, v_slot + d0, count, D, inv, 4);
  long rest = (D - d0) / W;
  if (rest == 3) FN(weighted_values)(og + d0, scores, v_slot + d0, count, D, inv, 3);
  else if (rest == 2) FN(weighted_values)(og + d0, scores, v_slot + d0, count, D, inv, 2);
  else if (rest == 1) FN(weighted_values)(og + d0, scores, v_slot + d0, count, D, inv, 1);
  d0 += rest * W;
  for (; d0 < D; d0++) {
    float a = 0, b = 0;
    long j = 0;
    for (; j + 2 <= count; j += 2) {
      a += scores[j] * v_slot[j * D + d0];
      b += scores[j + 1] * v_slot[(j + 1) * D + d0];
    }
    if (j < count) a += scores[j] * v_slot[j * D + d0];
    og[d0] = (a + b) * inv;
  }
}

/* Queries scored together against each key tile (every tile vector loaded serves QR queries);
 * QR x (KEY_TILE/W) x 2 accumulators stay in registers. */
#define QR (W >= KEY_TILE ? 4 : W * 4 >= KEY_TILE * 2 ? 2 : 1)

/* Scores of QR queries against one key tile: per query and lane, the same sums in the same order
 * as score_tile (even d, odd d, then their sum), so a query's scores never depend on its company. */
static inline __attribute__((always_inline)) void FN(score_tile_multi)(float *const *scores, const float *const *qs, const float *k0, long D) {
  enum { TV = KEY_TILE / W };
  vf a[QR][TV], b[QR][TV];
  for (int r = 0; r < QR; r++)
    for (int v = 0; v < TV; v++) a[r][v] = b[r][v] = (vf){0};
  long d = 0;
  for (; d + 2 <= D; d += 2) {
    vf k0v[TV], k1v[TV];
    for (int v = 0; v < TV; v++) {
      k0v[v] = vload(k0 + d * KEY_TILE + v * W);
      k1v[v] = vload(k0 + (d + 1) * KEY_TILE + v * W);
    }
#pragma GCC unroll 4
    for (int r = 0; r < QR; r++) {
      vf q0 = vsplat(qs[r][d]), q1 = vsplat(qs[r][d + 1]);
      for (int v = 0; v < TV; v++) {
        a[r][v] += q0 * k0v[v];
        b[r][v] += q1 * k1v[v];
      }
    }
  }
  if (d < D)
    for (int r = 0; r < QR; r++) {
      vf q0 = vsplat(qs[r][d]);
      for (int v = 0; v < TV; v++) a[r][v] += q0 * vload(k0 + d * KEY_TILE + v * W);
    }
  for (int r = 0; r < QR; r++)
    for (int v = 0; v < TV; v++) vstore(scores[r] + v * W, a[r][v] + b[r][v]);
}

/* og[r](NV vectors) = sum_j p[r][j] v_rows[j] for QR queries: positions j < shared in pairs for
 * all queries at once (each value vector loaded once), then each query's own remaining positions;
 * per query and lane the same order as weighted_values (even j, odd j, the odd tail into the even
 * sum). */
static inline __attribute__((always_inline)) void FN(weighted_values_multi)(float *const *og, const float *const *p, const float *v_rows, long shared, const long *counts, long D, const float *invs, const int NV) {
  vf a[QR][2], b[QR][2];
  for (int r = 0; r < QR; r++)
    for (int v = 0; v < NV; v++) a[r][v] = b[r][v] = (vf){0};
  long j = 0;
  for (; j + 2 <= shared; j += 2) {
    const float *r0 = v_rows + j * D, *r1 = r0 + D;
    vf x0[2], x1[2];
    for (int v = 0; v < NV; v++) {
      x0[v] = vload(r0 + v * W);
      x1[v] = vload(r1 + v * W);
    }
#pragma GCC unroll 4
    for (int r = 0; r < QR; r++) {
      vf p0 = vsplat(p[r][j]), p1 = vsplat(p[r][j + 1]);
      for (int v = 0; v < NV; v++) {
        a[r][v] += p0 * x0[v];
        b[r][v] += p1 * x1[v];
      }
    }
  }
  for (int r = 0; r < QR; r++) {
    long jr = j;
    for (; jr + 2 <= counts[r]; jr += 2) {
      vf p0 = vsplat(p[r][jr]), p1 = vsplat(p[r][jr + 1]);
      const float *r0 = v_rows + jr * D, *r1 = r0 + D;
      for (int v = 0; v < NV; v++) {
        a[r][v] += p0 * vload(r0 + v * W);
        b[r][v] += p1 * vload(r1 + v * W);
      }
    }
    if (jr < counts[r]) {
      vf p0 = vsplat(p[r][jr]);
      for (int v = 0; v < NV; v++) a[r][v] += p0 * vload(v_rows + jr * D + v * W);
    }
    for (int v = 0; v < NV; v++) vstore(og[r] + v * W, (a[r][v] + b[r][v]) * invs[r]);
  }
}

/* QR queries (already scaled) of one (slot, KV head), query r against positions 0..counts[r]-1:
 * each query's output is bit-identical to cached_query's for it alone. `scores` holds QR rows of
 * `padded` floats (the largest count's whole tiles). */
static void FN(cached_queries)(float *const *og, const float *const *qs, const long *counts, const float *k_slot, const float *v_slot, long D, float *scores, long padded) {
  long most = 0, fewest = counts[0];
  for (int r = 0; r < QR; r++) {
    most = counts[r] > most ? counts[r] : most;
    fewest = counts[r] < fewest ? counts[r] : fewest;
  }
  long tiles = (most + KEY_TILE - 1) / KEY_TILE;
  float *rows[QR];
  for (int r = 0; r < QR; r++) rows[r] = scores + r * padded;
  for (long t = 0; t < tiles; t++) {
    if (t + 2 < tiles)
      for (long e = 0; e < KEY_TILE * D; e += 16) {
        __builtin_prefetch(k_slot + (t + 2) * KEY_TILE * D + e, 0, 3);
        __builtin_prefetch(v_slot + (t + 2) * KEY_TILE * D + e, 0, 2);
      }
    float *at[QR];
    for (int r = 0; r < QR; r++) at[r] = rows[r] + t * KEY_TILE;
    FN(score_tile_multi)(at, qs, k_slot + t * KEY_TILE * D, D);
  }
  float invs[QR];
  for (int r = 0; r < QR; r++) {
    long blocks = (counts[r] + W - 1) / W;
    float max = FN(row_max)(rows[r], counts[r] - 1, blocks);
    invs[r] = 1.0f / FN(exp_scores)(rows[r], counts[r] - 1, blocks, max);
  }
  const float *p[QR];
  for (int r = 0; r < QR; r++) p[r] = rows[r];
  long d0 = 0;
  float *out[QR];
  for (; d0 + 2 * W <= D; d0 += 2 * W) {
    for (int r = 0; r < QR; r++) out[r] = og[r] + d0;
    FN(weighted_values_multi)(out, p, v_slot + d0, fewest, counts, D, invs, 2);
  }
  if (d0 + W <= D) {
    for (int r = 0; r < QR; r++) out[r] = og[r] + d0;
    FN(weighted_values_multi)(out, p, v_slot + d0, fewest, counts, D, invs, 1);
    d0 += W;
  }
  for (; d0 < D; d0++)
    for (int r = 0; r < QR; r++) {
      const float *sg = p[r];
      float a = 0, b = 0;
      long j = 0;
      for (; j + 2 <= counts[r]; j += 2) {
        a += sg[j] * v_slot[j * D + d0];
        b += sg[j + 1] * v_slot[(j + 1) * D + d0];
      }
      if (j < counts[r]) a += sg[j] * v_slot[j * D + d0];
      og[r][d0] = (a + b) * invs[r];
    }
}

static void FN(attention_cached_rows)(float *out, const float *q, const float *k_slot, const float *v_slot, long i0, long n, long kvh, const int *positions, long H, long KVH, long D) {
  long G = H / KVH, queries = n * G, most = 0;
  for (long r = 0; r < n; r++) most = positions[i0 + r] + 1 > most ? positions[i0 + r] + 1 : most;
  long padded = (most + KEY_TILE - 1) / KEY_TILE * KEY_TILE;
  float *scores = thread_scratch(3, (size_t)(QR * padded + queries * D));
  float *qs = scores + QR * padded;
  float scale = 1.0f / sqrtf((float)D);
  /* Query e = (row r, head g of the group), rows in order. */
  for (long e = 0; e < queries; e++) {
    const float *qrow = q + ((i0 + e / G) * H + kvh * G + e % G) * D;
    for (long d = 0; d < D; d++) qs[e * D + d] = qrow[d] * scale;
  }
  long e = 0;
  for (; QR > 1 && e + 1 < queries; e += QR) {
    /* A short last group repeats its first query; the repeats' outputs go to a scratch row. */
    const float *qp[QR];
    float *og[QR];
    long counts[QR];
    float discard[MAX_HEAD_DIM];
    for (int r = 0; r < QR; r++) {
      long at = e + r < queries ? e + r : e;
      qp[r] = qs + at * D;
      counts[r] = positions[i0 + at / G] + 1;
      og[r] = e + r < queries ? out + ((i0 + at / G) * H + kvh * G + at % G) * D : discard;
    }
    FN(cached_queries)(og, qp, counts, k_slot, v_slot, D, scores, padded);
  }
  for (; e < queries; e++)
    FN(cached_query)(out + ((i0 + e / G) * H + kvh * G + e % G) * D, qs + e * D, k_slot, v_slot, positions[i0 + e / G] + 1, D, scores);
}

#define SIMD_KERNEL_ENTRY(type, name, parameters) .name = FN(name),
const simd_table TABLE_NAME = {
    .name = SIMD_NAME,
    .gemm_mr = MR,
    .gemm_nr = 2 * W,
    SIMD_KERNELS(SIMD_KERNEL_ENTRY)
};
#undef SIMD_KERNEL_ENTRY
