#pragma once
// An intrusive FIFO of packets, linked through PktMeta::qnext (no allocation to queue a packet).

#include <cstdint>

#include "mem/pktbuf.hh"

namespace skiff {

class PktQueue {
 public:
  PktQueue() = default;
  PktQueue(const PktQueue&) = delete;
  PktQueue& operator=(const PktQueue&) = delete;
  ~PktQueue() { purge(); }

  void push(Pktbuf p) {
    rte_mbuf* m = p.release();
    pkt_meta(m)->qnext = nullptr;
    if (tail_) {
      pkt_meta(tail_)->qnext = m;
    } else {
      head_ = m;
    }
    tail_ = m;
    ++count_;
  }
  // Links `p` in right after `prev` (at the front when `prev` is null): for queues kept in an order of
  // their own (TCP's out-of-order queue, sorted by sequence).
  void insert_after(rte_mbuf* prev, Pktbuf p) {
    rte_mbuf* m = p.release();
    if (!prev) {
      pkt_meta(m)->qnext = head_;
      head_ = m;
    } else {
      pkt_meta(m)->qnext = pkt_meta(prev)->qnext;
      pkt_meta(prev)->qnext = m;
    }
    if (!pkt_meta(m)->qnext) tail_ = m;
    ++count_;
  }
  // Unlinks and returns the packet right after `prev` (the first when `prev` is null); empty if none.
  Pktbuf remove_after(rte_mbuf* prev) {
    rte_mbuf* m = prev ? pkt_meta(prev)->qnext : head_;
    if (!m) return {};
    rte_mbuf* nx = pkt_meta(m)->qnext;
    if (prev) {
      pkt_meta(prev)->qnext = nx;
    } else {
      head_ = nx;
    }
    if (tail_ == m) tail_ = prev;
    pkt_meta(m)->qnext = nullptr;
    --count_;
    return Pktbuf(m);
  }
  // The oldest packet, still queued (nullptr when empty).
  rte_mbuf* front() const { return head_; }
  rte_mbuf* back() const { return tail_; }
  rte_mbuf* next(rte_mbuf* m) const { return pkt_meta(m)->qnext; }
  Pktbuf pop() {
    rte_mbuf* m = head_;
    if (!m) return {};
    head_ = pkt_meta(m)->qnext;
    if (!head_) tail_ = nullptr;
    pkt_meta(m)->qnext = nullptr;
    --count_;
    return Pktbuf(m);
  }
  // Frees everything; returns how many packets were freed.
  uint32_t purge() {
    uint32_t n = 0;
    while (head_) {
      pop().reset();
      ++n;
    }
    return n;
  }
  bool empty() const { return head_ == nullptr; }
  uint32_t size() const { return count_; }

 private:
  rte_mbuf* head_ = nullptr;
  rte_mbuf* tail_ = nullptr;
  uint32_t count_ = 0;
};

}  // namespace skiff
