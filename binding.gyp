{
  "targets": [
    {
      "target_name": "turnwise_kernels",
      "sources": [
        "native/kernels.c",
        "native/gemm.c",
        "native/pool.c",
        "native/scratch.c",
        "native/simd-avx512.c",
        "native/simd-avx2.c",
        "native/simd-generic.c"
      ],
      "cflags": ["-O3", "-std=gnu11", "-fno-math-errno", "-fno-trapping-math", "-Wall", "-Wextra", "-Wno-unused-parameter", "-pthread"],
      "cflags!": ["-O2", "-O0"],
      "ldflags": ["-pthread"],
      "defines": ["NAPI_VERSION=8"],
      "xcode_settings": {
        "OTHER_CFLAGS": ["-O3", "-std=gnu11", "-fno-math-errno"]
      }
    }
  ]
}
