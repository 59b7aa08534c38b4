#pragma once
// The shard's TCP lookup tables (Linux's ehash/bhash/listening hash):
//   connections  by 4-tuple (SYN-RECEIVED through TIME-WAIT), intrusive chains in a power-of-two table;
//   bound ports  by local port (listeners, bound and connected sockets), chains through InetSock::bind_next.

#include <cstdint>
#include <cstddef>
#include <unordered_map>
#include <vector>

#include "base/siphash.hh"
#include "base/time.hh"
#include "wire/addr.hh"

namespace skiff {

// Fast Open server keys (Linux's tcp_fastopen_context): cookies are made with key[0] and accepted under any
// of the `count` keys, so a key can be rotated without failing the cookies clients hold.
struct FastOpenKeys {
  SipKey key[2];
  uint8_t count = 0;
};

// What the Fast Open client remembers of a server, for one of our addresses (RFC 7413 §4.1.1; a cookie is
// valid for one address pair; Linux keeps it in tcp_metrics, by source and destination): the cookie its
// last SYN-ACK gave us, its MSS (the SYN's data is sized by it), which form of the option it
// answers, and how its SYNs with data fared.
struct FastOpenEntry {
  uint32_t daddr = 0;     // the server, host order (0: a free slot)
  uint32_t saddr = 0;     // our address
  uint8_t cookie_len = 0;  // 0: none yet
  bool exp = false;        // its cookie came in the experimental option (kind 254, magic 0xF989)
  uint8_t try_exp = 0;     // a request went unanswered: 1 ask in the experimental form next, 2 back to RFC 7413's
  uint8_t syn_loss = 0;    // SYNs with data in a row that went unanswered (the server saw only a retransmission)
  uint16_t mss = 0;        // the MSS its last SYN-ACK announced (0: unknown)
  Instant last_syn_loss{};
  uint64_t used = 0;       // for replacement: the least recently used of a set goes
  uint8_t cookie[16] = {};
};

// The shard's Fast Open client cache: a fixed table of kSets sets of kWays (a shard's memory does not grow
// with the servers it talks to), keyed by (our address, server address); the least recently used entry of a
// set makes room. Each shard learns its own cookies (a server's cookie depends only on the address pair).
class FastOpenCache {
 public:
  static constexpr unsigned kSets = 256, kWays = 4;
  FastOpenCache() : e_(size_t{kSets} * kWays) {}
  FastOpenEntry* find(wire::Ipv4Addr local, wire::Ipv4Addr server) {
    FastOpenEntry* set = set_of(local.host(), server.host());
    for (unsigned i = 0; i < kWays; ++i)
      if (set[i].daddr == server.host() && set[i].saddr == local.host()) {
        set[i].used = ++tick_;
        return &set[i];
      }
    return nullptr;
  }
  // The address pair's entry, made (replacing the least recently used of its set) if it had none.
  FastOpenEntry& get(wire::Ipv4Addr local, wire::Ipv4Addr server) {
    if (FastOpenEntry* e = find(local, server)) return *e;
    FastOpenEntry* set = set_of(local.host(), server.host());
    FastOpenEntry* victim = &set[0];
    for (unsigned i = 1; i < kWays; ++i)
      if (set[i].used < victim->used) victim = &set[i];
    *victim = FastOpenEntry{};
    victim->daddr = server.host();
    victim->saddr = local.host();
    victim->used = ++tick_;
    return *victim;
  }

 private:
  FastOpenEntry* set_of(uint32_t l, uint32_t a) {
    const uint32_t h = ((a ^ (l * 0x85ebca6bu)) * 0x9e3779b1u) >> 24;  // kSets == 256: the top 8 bits
    return &e_[size_t{h} * kWays];
  }
  std::vector<FastOpenEntry> e_;
  uint64_t tick_ = 0;
};

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
  FastOpenCache fastopen;  // the Fast Open client's cookies, by server
  FastOpenKeys fastopen_keys;  // the Fast Open server's keys for listeners without their own (count 0: unset)
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
