// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
//
// Linked only into the ThreadSanitizer build: libtbb allocates with malloc here, never with libtbbmalloc.
//
// At its first allocation libtbb dlopens libtbbmalloc (from its own folder) and from then on takes from it the
// items passed between filters (a TokenRef each), filter nodes and the bookkeeping of an
// enumerable_thread_specific (its 8-byte construction callback). TSan sees neither tbbmalloc's malloc nor its
// free, so it keeps the last accesses to a freed block and checks them against those of whoever gets the block
// next, and tbbmalloc passes blocks between threads (those of a thread that ended go to the next thread that
// needs one). With two runs at once, one run's thread destroyed its DecodeState ETS and ended, and a worker
// of the other run got the callback's block for a TokenRef: TSan reported `~enumerable_thread_specific`
// against `TokenRef(TokenRef&&)` at one address (2-3% of CI runs; every time in a loop of 300 pairs of runs,
// along with the same pair the other way round and TBB's filter_node against TokenRef). The edge that orders
// them is free -> malloc inside tbbmalloc; no TsanHandoff of ours can stand in for it, since the free happens
// in TBB's inline code, before any code of ours could release.
//
// When libtbbmalloc cannot be loaded, libtbb falls back to malloc and free (oneTBB src/tbb/allocator.cpp,
// initialize_handler_pointers), which TSan intercepts: each block then starts without history, as every other
// heap block does, and every access after its allocation is checked as before. Only this dlopen is refused;
// the test "TSan sees TBB's allocations" checks that libtbbmalloc stays out of the process.
#include <dlfcn.h>

#include <cstring>

extern "C" void* dlopen(const char* file, int mode) {
    if (file != nullptr && std::strstr(file, "libtbbmalloc") != nullptr) return nullptr;
    using Dlopen = void* (*)(const char*, int);
    static const auto next = reinterpret_cast<Dlopen>(dlsym(RTLD_NEXT, "dlopen"));  // TSan's interceptor, then libc's
    return next(file, mode);
}
