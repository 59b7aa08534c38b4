#pragma once
// The receiver's index over its out-of-order queue: the ranges of sequence space it holds, sorted and
// disjoint, each with its first and last segment on the queue and how recently it grew (for the order of
// SACK blocks, RFC 2018 §4). With it an arriving segment finds its place by binary search over the ranges
// and links in next to a range's end in O(1); SACK blocks come from the ranges, not from a walk over every
// queued segment. So the queue may hold a whole window of a fast, lossy path (thousands of segments) and an
// out-of-order segment still costs O(log ranges) plus, when it opens a new range between two others, one
// memmove of the ranges after it (Linux keeps an rb-tree of segments for the same reason, CVE-2018-5390).
//
// The array grows by doubling from the general allocator, once per connection and only for connections
// that see reordering or loss; nothing is allocated per packet once it has grown.

#include <mimalloc.h>

#include <cstdint>
#include <cstring>

#include "wire/seqnum.hh"

struct rte_mbuf;

namespace skiff {

struct OooRange {
  wire::SeqNum left, right;  // [left, right): held, contiguous, not touching the neighbours
  rte_mbuf* first;           // its segments on the out-of-order queue, first and last
  rte_mbuf* last;
  uint64_t stamp;            // when it last grew or was reported as holding a duplicate (larger = later)
};

class OooIndex {
 public:
  OooIndex() = default;
  OooIndex(const OooIndex&) = delete;
  OooIndex& operator=(const OooIndex&) = delete;
  ~OooIndex() { mi_free(r_); }

  uint32_t size() const { return n_; }
  bool empty() const { return n_ == 0; }
  OooRange& operator[](uint32_t i) { return r_[i]; }
  const OooRange& operator[](uint32_t i) const { return r_[i]; }

  // The index of the first range that starts after `s` (n = none): ranges [0, i) start at or before it.
  uint32_t upper_bound(wire::SeqNum s) const {
    uint32_t lo = 0, hi = n_;
    while (lo < hi) {
      const uint32_t mid = (lo + hi) / 2;
      if (r_[mid].left.gt(s)) {
        hi = mid;
      } else {
        lo = mid + 1;
      }
    }
    return lo;
  }
  // Inserts `r` at position i. False if the array could not grow (the caller drops the segment).
  bool insert(uint32_t i, const OooRange& r) {
    if (n_ == cap_ && !grow()) return false;
    std::memmove(r_ + i + 1, r_ + i, (n_ - i) * sizeof(OooRange));
    r_[i] = r;
    ++n_;
    return true;
  }
  void erase(uint32_t i, uint32_t count = 1) {
    std::memmove(r_ + i, r_ + i + count, (n_ - i - count) * sizeof(OooRange));
    n_ -= count;
  }
  void clear() { n_ = 0; }

 private:
  bool grow() {
    const uint32_t cap = cap_ ? cap_ * 2 : 16;
    auto* r = static_cast<OooRange*>(mi_realloc(r_, cap * sizeof(OooRange)));
    if (!r) return false;
    r_ = r;
    cap_ = cap;
    return true;
  }

  OooRange* r_ = nullptr;
  uint32_t n_ = 0, cap_ = 0;
};

}  // namespace skiff
