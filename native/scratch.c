/* Per-thread scratch buffers (64-byte aligned, grown on demand, kept for the thread's lifetime). */
#include <stdio.h>
#include <stdlib.h>

#include "simd.h"

#define SLOTS 4

static _Thread_local struct {
  float *data;
  size_t capacity;
} slots[SLOTS];

float *thread_scratch(int slot, size_t floats) {
  if (floats < 16) floats = 16;
  if (slots[slot].capacity < floats) {
    free(slots[slot].data);
    size_t capacity = floats + floats / 4;
    void *data = NULL;
    if (posix_memalign(&data, 64, capacity * sizeof(float)) != 0) {
      /* Cannot continue a kernel without its workspace; the sizes are validated beforehand. */
      fprintf(stderr, "turnwise native kernels: out of memory allocating %zu bytes of scratch\n", capacity * sizeof(float));
      abort();
    }
    slots[slot].data = data;
    slots[slot].capacity = capacity;
  }
  return slots[slot].data;
}
