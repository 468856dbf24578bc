#!/usr/bin/env bash
# Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
#
# Is the BLAS that LibTorch will load (libblas.so.3) safe to call from several threads at once? arpipe runs
# inference on every TBB worker concurrently, and LibTorch sends nn.Linear, LSTM cells and small or batch-1
# convolutions (im2col + sgemm) to BLAS. Two threads call sgemm on fixed inputs 200000 times each and compare
# every result with a reference computed alone; any difference means wrong model outputs under arpipe -j N.
#
#   tools/bench/blas_thread_safety.sh                     # the system's libblas.so.3
#   LD_LIBRARY_PATH=/path/to/other/blas tools/bench/blas_thread_safety.sh
#
# Exit status 0: no wrong result seen; 1: wrong results (the BLAS is not thread-safe). Needs gcc.
set -euo pipefail
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/race.c" <<'C'
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
void sgemm_(const char*, const char*, const int*, const int*, const int*, const float*, const float*, const int*,
            const float*, const int*, const float*, float*, const int*);
enum { M = 416, N = 24, K = 108, ROUNDS = 200000 };  /* the im2col product of a 3x3 conv, 12 -> 24 channels */
static float A[4][M * K], B[4][K * N], R[4][M * N];
static int bad;
static float worst;
static void mm(int j, float* c) {
    const float one = 1, zero = 0;
    const int m = M, n = N, k = K;
    sgemm_("N", "N", &m, &n, &k, &one, A[j], &m, B[j], &k, &zero, c, &m);
}
static void* work(void* arg) {
    float* c = malloc(sizeof(float) * M * N);
    for (long i = 0; i < ROUNDS; ++i) {
        const int j = (int)((i + (long)arg) % 4);
        mm(j, c);
        if (memcmp(c, R[j], sizeof(float) * M * N) != 0) {
            __atomic_add_fetch(&bad, 1, __ATOMIC_RELAXED);
            for (int q = 0; q < M * N; ++q) {
                const float d = c[q] > R[j][q] ? c[q] - R[j][q] : R[j][q] - c[q];
                if (d > worst) worst = d; /* racy max: only printed */
            }
        }
    }
    free(c);
    return NULL;
}
int main(void) {
    srand(1);
    for (int j = 0; j < 4; ++j) {
        for (int i = 0; i < M * K; ++i) A[j][i] = (float)rand() / (float)RAND_MAX - 0.5f;
        for (int i = 0; i < K * N; ++i) B[j][i] = (float)rand() / (float)RAND_MAX - 0.5f;
        mm(j, R[j]);
    }
    pthread_t t[2];
    for (long i = 0; i < 2; ++i) pthread_create(&t[i], NULL, work, (void*)i);
    for (int i = 0; i < 2; ++i) pthread_join(t[i], NULL);
    printf("%d of %d concurrent sgemm results were wrong (largest error %g)\n", bad, 2 * ROUNDS, worst);
    return bad == 0 ? 0 : 1;
}
C
gcc -O2 "$work/race.c" -o "$work/race" -lblas -lpthread
echo "libblas.so.3 -> $(ldd "$work/race" | awk '/libblas|openblas/ {print $3}' | tr '\n' ' ')"
"$work/race"
