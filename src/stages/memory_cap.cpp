// Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
#include "memory_cap.h"

#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>
#include <c10/core/alignment.h>
#include <c10/util/Exception.h>

#include <atomic>
#include <cstdlib>
#include <limits>
#include <mutex>
#include <new>
#include <stdexcept>

namespace arpipe {
namespace {

// The counters. Relaxed order is enough: each is a number on its own, nothing else is published through it.
std::atomic<std::int64_t> g_cap{0};
std::atomic<std::int64_t> g_live{0};

// Every block we hand out starts kPrefix bytes into the block the wrapped allocator gave us; the prefix
// holds what freeing needs. Why not keep that in a heap context, as DataPtr allows? Because LibTorch's
// oneDNN glue (IDeepRegistration.cpp) calls GetAllocator(CPU)->raw_allocate() for its scratch memory, and
// raw_allocate() asserts that a DataPtr's context is its data pointer, then frees through raw_deleter() with
// that pointer alone. So the context must be the data, and the deleter must find the size from the data.
// kPrefix is LibTorch's own CPU alignment (64), so the data stays as aligned as the wrapped allocator's.
constexpr std::size_t kPrefix = c10::gAlignment;

struct Prefix {
    std::int64_t bytes;             // what the caller asked for, the figure the counters carry
    void* inner_context;            // the wrapped allocator's DataPtr, taken apart: its context...
    c10::DeleterFnPtr inner_deleter;  // ...and the function that frees it
};
static_assert(sizeof(Prefix) <= kPrefix, "the prefix must fit in front of the data without breaking its alignment");

[[noreturn]] void refuse(std::int64_t asked, std::int64_t cap, std::int64_t live) {
    // c10::OutOfMemoryError is a c10::Error, the type LibTorch's own allocation failures have, so every caller
    // that copes with those copes with this. (The TorchScript interpreter re-throws it as std::runtime_error.)
    TORCH_CHECK_WITH(OutOfMemoryError, false, "the model asked for ", format_bytes(asked), " with ",
                     format_bytes(live), " in use, over the inference memory cap of ", format_bytes(cap),
                     " (--max-memory)");
    std::abort();  // not reached: TORCH_CHECK_WITH with a false condition always throws
}

class CappedAllocator final : public c10::Allocator {
public:
    explicit CappedAllocator(c10::Allocator* inner) : inner_(inner) {}

    c10::DataPtr allocate(std::size_t n) const override {
        if (n == 0) return inner_->allocate(0);  // no memory behind it, nothing to count
        constexpr auto most = static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max()) - kPrefix;
        const std::int64_t cap = g_cap.load(std::memory_order_relaxed);
        if (n > most) refuse(std::numeric_limits<std::int64_t>::max(), cap, g_live.load(std::memory_order_relaxed));
        const auto asked = static_cast<std::int64_t>(n);

        // Reserve the bytes before asking for them, so that two threads cannot both slip under the cap.
        if (cap > 0) {
            std::int64_t live = g_live.load(std::memory_order_relaxed);
            do {
                if (asked > cap - live) refuse(asked, cap, live);
            } while (!g_live.compare_exchange_weak(live, live + asked, std::memory_order_relaxed));
        } else {
            g_live.fetch_add(asked, std::memory_order_relaxed);
        }

        c10::DataPtr inner;
        try {
            inner = inner_->allocate(n + kPrefix);
        } catch (...) {
            g_live.fetch_sub(asked, std::memory_order_relaxed);
            throw;
        }
        auto* base = static_cast<char*>(inner.get());
        if (base == nullptr) {  // LibTorch's allocator throws rather than return nothing; a host's might not
            g_live.fetch_sub(asked, std::memory_order_relaxed);
            TORCH_CHECK_WITH(OutOfMemoryError, false, "the CPU allocator returned no memory for ", format_bytes(asked));
        }
        new (base) Prefix{asked, inner.get_context(), inner.get_deleter()};
        (void)inner.release_context();  // the prefix owns the block now; `inner` forgets it
        void* data = base + kPrefix;
        return {data, data, &release, inner.device()};
    }

    c10::DeleterFnPtr raw_deleter() const override { return &release; }

    static void release(void* data) noexcept {
        if (data == nullptr) return;
        const Prefix p = *reinterpret_cast<const Prefix*>(static_cast<char*>(data) - kPrefix);
        g_live.fetch_sub(p.bytes, std::memory_order_relaxed);
        if (p.inner_deleter != nullptr) p.inner_deleter(p.inner_context);
    }

private:
    c10::Allocator* inner_;
};

std::once_flag g_install_once;

// A higher priority than LibTorch's own registration (REGISTER_ALLOCATOR, priority 0): c10::SetAllocator keeps
// an allocator unless the newcomer's priority is at least as high, so a library that registers the default
// again later at priority 0 does not take ours out. Not 255, so a host that really means to replace the CPU
// allocator after us still can.
constexpr std::uint8_t kPriority = 100;

void install_once() {
    std::call_once(g_install_once, [] {
        // Wrap whatever allocator is current (normally c10::GetDefaultCPUAllocator(), or a host's own). The
        // wrapper lives as long as the process: SetCPUAllocator does not take ownership, and tensors freed
        // during static destruction still call into it.
        static CappedAllocator* const wrapper = new CappedAllocator(c10::GetCPUAllocator());
        c10::SetCPUAllocator(wrapper, kPriority);
    });
}

}  // namespace

void install_memory_cap(std::int64_t bytes) {
    if (bytes < 0) throw std::invalid_argument("the memory cap must be 0 (none) or a positive number of bytes");
    if (bytes > 0) install_once();
    g_cap.store(bytes, std::memory_order_relaxed);
}

}  // namespace arpipe
