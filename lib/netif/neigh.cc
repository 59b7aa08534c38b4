#include "netif/neigh.hh"

#include <bit>

namespace skiff {

NeighTable::NeighTable(const NeighConfig& cfg) : cfg_(cfg) {
  const size_t cap = cfg.capacity ? cfg.capacity : 1;
  entries_.resize(cap);
  const size_t nb = std::bit_ceil(cap * 2);
  buckets_.assign(nb, -1);
  mask_ = nb - 1;
  free_.reserve(cap);
  for (size_t i = cap; i-- > 0;) free_.push_back(static_cast<int32_t>(i));
}

void NeighTable::unlink_hash(NeighEntry* e) {
  const int32_t idx = static_cast<int32_t>(e - entries_.data());
  int32_t* link = &buckets_[bucket(e->ip)];
  while (*link >= 0) {
    if (*link == idx) {
      *link = e->hnext;
      e->hnext = -1;
      return;
    }
    link = &entries_[*link].hnext;
  }
}

NeighEntry* NeighTable::create(wire::Ipv4Addr ip, Instant now) {
  if (free_.empty()) {
    // Evict a resolved entry, scanning round-robin (incomplete ones hold queued packets: keep them).
    const size_t n = entries_.size();
    for (size_t k = 0; k < n; ++k) {
      NeighEntry& c = entries_[evict_cursor_];
      evict_cursor_ = (evict_cursor_ + 1) % n;
      if (c.state == NeighState::Reachable) {
        remove(&c);
        break;
      }
    }
    if (free_.empty()) return nullptr;
  }
  const int32_t idx = free_.back();
  free_.pop_back();
  NeighEntry& e = entries_[idx];
  e = NeighEntry{};
  e.ip = ip;
  e.state = NeighState::Incomplete;
  e.last_used = now;
  size_t b = bucket(ip);
  e.hnext = buckets_[b];
  buckets_[b] = idx;
  ++used_;
  return &e;
}

void NeighTable::remove(NeighEntry* e) {
  if (e->state == NeighState::Free) return;
  drop_queue(e);
  unlink_hash(e);
  e->state = NeighState::Free;
  free_.push_back(static_cast<int32_t>(e - entries_.data()));
  --used_;
}

bool NeighTable::enqueue(NeighEntry* e, Pktbuf& p) {
  if (e->qlen >= cfg_.queue_per_entry || queued_total_ >= cfg_.queue_total) return false;
  rte_mbuf* m = p.release();
  pkt_meta(m)->qnext = nullptr;
  if (e->qtail) {
    pkt_meta(e->qtail)->qnext = m;
  } else {
    e->qhead = m;
  }
  e->qtail = m;
  ++e->qlen;
  ++queued_total_;
  return true;
}

rte_mbuf* NeighTable::take_queue(NeighEntry* e) {
  rte_mbuf* head = e->qhead;
  queued_total_ -= e->qlen;
  e->qhead = e->qtail = nullptr;
  e->qlen = 0;
  return head;
}

size_t NeighTable::drop_queue(NeighEntry* e) {
  const size_t n = e->qlen;
  rte_mbuf* m = take_queue(e);
  while (m) {
    rte_mbuf* next = pkt_meta(m)->qnext;
    rte_pktmbuf_free(m);
    m = next;
  }
  return n;
}

NeighTable::~NeighTable() {
  for (auto& e : entries_)
    if (e.state != NeighState::Free) drop_queue(&e);
}

}  // namespace skiff
