#pragma once
// The neighbour (ARP) table of one interface on one shard: fixed capacity, no allocation after start.
// Entries hold a bounded queue of packets waiting for resolution (per entry and per table).

#include <cstdint>
#include <vector>

#include "base/time.hh"
#include "core/config.hh"
#include "mem/pktbuf.hh"
#include "wire/addr.hh"

namespace skiff {

enum class NeighState : uint8_t { Free, Incomplete, Reachable };

struct NeighEntry {
  wire::Ipv4Addr ip;
  wire::MacAddr mac;
  NeighState state = NeighState::Free;
  uint8_t probes = 0;            // requests sent since the last confirmation
  uint16_t qlen = 0;
  Instant confirmed{};           // last reachability confirmation (reply, or request to us)
  Instant updated{};             // last time the MAC changed
  Instant last_request{};        // last ARP request sent for this entry
  Instant last_used{};
  int32_t hnext = -1;            // hash chain
  rte_mbuf* qhead = nullptr;     // packets waiting for resolution, linked through PktMeta::qnext
  rte_mbuf* qtail = nullptr;
};

class NeighTable {
 public:
  explicit NeighTable(const NeighConfig& cfg);
  ~NeighTable();
  NeighTable(const NeighTable&) = delete;
  NeighTable& operator=(const NeighTable&) = delete;

  NeighEntry* lookup(wire::Ipv4Addr ip) {
    for (int32_t i = buckets_[bucket(ip)]; i >= 0; i = entries_[i].hnext)
      if (entries_[i].ip == ip) return &entries_[i];
    return nullptr;
  }
  // Reachability confirmed by an upper layer (TCP forward progress: the neighbour delivered our segments
  // and its answers reached us, as Linux's dst_confirm): a resolved entry is trusted for another
  // `reachable` from `now`, so a long transfer never stops to re-resolve. Unresolved entries are left alone.
  void confirm(wire::Ipv4Addr ip, Instant now) {
    NeighEntry* e = lookup(ip);
    if (!e || e->state != NeighState::Reachable) return;
    e->confirmed = now;
    e->probes = 0;
  }
  // Creates an entry (state Incomplete, no MAC), evicting a resolved one if full; nullptr if impossible.
  NeighEntry* create(wire::Ipv4Addr ip, Instant now);
  void remove(NeighEntry* e);

  // Queues a packet on an entry; false (and the packet is left with the caller) when queues are full.
  bool enqueue(NeighEntry* e, Pktbuf& p);
  // Takes the queued packets out, in order, as a chain linked through PktMeta::qnext (nullptr-ended).
  rte_mbuf* take_queue(NeighEntry* e);
  // Frees the queued packets; returns how many.
  size_t drop_queue(NeighEntry* e);

  size_t size() const { return used_; }
  size_t queued_total() const { return queued_total_; }
  size_t capacity() const { return entries_.size(); }
  const NeighConfig& config() const { return cfg_; }
  template <class F>
  void for_each(F&& f) {
    for (auto& e : entries_)
      if (e.state != NeighState::Free) f(e);
  }

 private:
  size_t bucket(wire::Ipv4Addr ip) const {
    uint32_t h = ip.host() * 0x9e3779b1u;
    return (h >> 16) & mask_;
  }
  void unlink_hash(NeighEntry* e);

  NeighConfig cfg_;
  std::vector<NeighEntry> entries_;
  std::vector<int32_t> buckets_;
  std::vector<int32_t> free_;
  size_t mask_ = 0;
  size_t used_ = 0;
  size_t queued_total_ = 0;
  size_t evict_cursor_ = 0;
};

}  // namespace skiff
