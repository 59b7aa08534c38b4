#pragma once
// The shard's TCP lookup tables (Linux's ehash/bhash/listening hash):
//   connections  by 4-tuple (SYN-RECEIVED through TIME-WAIT), intrusive chains in a power-of-two table;
//   bound ports  by local port (listeners, bound and connected sockets), chains through InetSock::bind_next.

#include <cstdint>
#include <cstddef>
#include <unordered_map>
#include <vector>

#include "wire/addr.hh"

namespace skiff {

struct TcpSock;
struct InetSock;

class TcpTable {
 public:
  explicit TcpTable(unsigned log2_buckets = 16);

  TcpSock* lookup(wire::Ipv4Addr laddr, uint16_t lport, wire::Ipv4Addr raddr, uint16_t rport) const;
  void add(TcpSock* tp);
  void remove(TcpSock* tp);
  // A listener on (laddr, lport): an exact address beats the wildcard.
  InetSock* listener(wire::Ipv4Addr laddr, uint16_t lport) const;

  InetSock*& port_bucket(uint16_t port) { return ports_[port]; }
  void bind_add(InetSock* s);
  void bind_remove(InetSock* s);
  size_t connections() const { return count_; }

  // 4-tuples this shard owns by RSS but lent to a connection on another shard (several shards): a socket
  // whose port was fixed before its destination was known, or that the RSS map could not steer home, asks
  // the owner before its SYN (tcp_v4_connect), so one 4-tuple never lives on two shards. The owner forwards
  // the tuple's segments to the borrower (a listener of its own on that port must not see them). Bounded
  // by the other shards' connections. `seq` tells the borrower's requests apart.
  struct Lent {
    uint8_t shard;
    uint32_t seq;
  };
  const Lent* lent(wire::Ipv4Addr laddr, uint16_t lport, wire::Ipv4Addr raddr, uint16_t rport) const {
    if (lent_.empty()) return nullptr;
    auto it = lent_.find(FlowKey{laddr.host(), raddr.host(), lport, rport});
    return it == lent_.end() ? nullptr : &it->second;
  }
  // Lends the tuple to `shard` unless it is in use here or lent already.
  bool lend(wire::Ipv4Addr laddr, uint16_t lport, wire::Ipv4Addr raddr, uint16_t rport, Lent to);
  // Takes it back if it is still lent under `seq` to `shard` (a stale release is ignored).
  void take_back(wire::Ipv4Addr laddr, uint16_t lport, wire::Ipv4Addr raddr, uint16_t rport, Lent from);
  size_t lent_count() const { return lent_.size(); }
  uint32_t lend_seq = 0;  // this shard's requests so far
  // Packet buffers held on the shard's out-of-order queues, all connections together (bounded at half the
  // shard's pool, so reassembly can never starve reception).
  uint32_t ooo_bufs = 0;
  // Connections owed an ACK for out-of-order data that arrived in the burst being processed: one ACK each
  // once the burst is done (tcp_flush_deferred_acks), carrying the newest SACK blocks, instead of one per
  // segment. Slots of connections freed meanwhile are cleared.
  static constexpr unsigned kDeferredAcks = 64;
  TcpSock* deferred_acks[kDeferredAcks] = {};
  unsigned n_deferred_acks = 0;
  // The shard's budget of RFC 5961 challenge ACKs in the current second (send_challenge_ack), drawn at
  // random each second; challenge_sec: the second it was drawn for (~0: none yet).
  uint64_t challenge_sec = ~uint64_t{0};
  uint32_t challenge_left = 0;
  template <class F>
  void for_each(F&& f) {
    for (TcpSock* head : buckets_)
      for (TcpSock* t = head; t;) {
        TcpSock* next = next_of(t);
        f(t);
        t = next;
      }
  }

 private:
  static TcpSock* next_of(TcpSock* t);
  size_t bucket(wire::Ipv4Addr l, uint16_t lp, wire::Ipv4Addr r, uint16_t rp) const;

  struct FlowKey {
    uint32_t l, r;
    uint16_t lp, rp;
    bool operator==(const FlowKey&) const = default;
  };
  struct FlowKeyHash {
    size_t operator()(const FlowKey& k) const {
      uint64_t h = (uint64_t{k.l} << 32 | k.r) * 0x9e3779b97f4a7c15ull ^ (uint64_t{k.lp} << 16 | k.rp);
      h *= 0xbf58476d1ce4e5b9ull;
      return static_cast<size_t>(h ^ (h >> 31));
    }
  };
  std::unordered_map<FlowKey, Lent, FlowKeyHash> lent_;
  std::vector<TcpSock*> buckets_;
  std::vector<InetSock*> ports_;
  uint64_t seed_;
  size_t mask_;
  size_t count_ = 0;
};

}  // namespace skiff
