#pragma once
// IPv4 reassembly (RFC 791 §3.2, RFC 815) with bounded memory. Why not rte_ip_frag: it cannot report a
// timed-out datagram (we owe an ICMP time exceeded, RFC 792/1122 §3.2.1.4) and it does not discard a
// datagram on overlap (RFC 5722's rule, which we apply to IPv4 as Linux does since FragmentSmack).

#include <cstdint>
#include <vector>

#include "base/time.hh"
#include "core/config.hh"
#include "mem/pktbuf.hh"
#include "wire/addr.hh"

namespace skiff {

class Shard;

class Reassembler {
 public:
  explicit Reassembler(const Ipv4Config& cfg);
  Reassembler(const Reassembler&) = delete;
  Reassembler& operator=(const Reassembler&) = delete;

  // Takes a validated fragment (data at its IP header, trimmed to the IP total length). Returns the
  // whole datagram (data at the IP header, total length and checksum fixed, fragment fields cleared) once
  // the last missing piece arrives; otherwise an empty Pktbuf. Drops are counted on `sh`.
  // `link_bcast`: the fragment came in a link-layer broadcast or multicast frame (no ICMP error about it).
  Pktbuf feed(Shard& sh, Pktbuf frag, bool link_bcast = false);
  // Abandons datagrams older than the timeout; sends ICMP time exceeded for those holding a first fragment.
  void expire(Shard& sh, Instant now);
  // Frees everything (shutdown).
  void clear();

  size_t datagrams() const { return used_; }
  size_t bytes_held() const { return bytes_; }

 private:
  struct Frag {
    uint16_t off, end;  // payload bytes [off, end)
    Pktbuf buf;
  };
  struct Entry {
    wire::Ipv4Addr src, dst;
    uint16_t id = 0;
    uint8_t proto = 0;
    bool in_use = false;
    bool have_last = false;
    uint16_t total = 0;      // payload length, known once the last fragment arrived
    uint32_t received = 0;   // payload bytes held
    uint32_t truesize = 0;   // buffer bytes held
    uint16_t nfrags = 0;
    uint8_t ecn = 0;         // the ECN codepoints seen (bit 1 << codepoint: RFC 3168 §5.3)
    bool first_link_bcast = false;  // the first fragment came as a link-layer broadcast (RFC 1122 §3.2.2)
    Instant created{};
    int32_t hnext = -1, older = -1, newer = -1;
    Frag* frags = nullptr;   // cfg.reass_max_frags slots, sorted by offset
  };

  int32_t find(wire::Ipv4Addr src, wire::Ipv4Addr dst, uint16_t id, uint8_t proto) const;
  int32_t create(Shard& sh, wire::Ipv4Addr src, wire::Ipv4Addr dst, uint16_t id, uint8_t proto, Instant now);
  void release(int32_t idx);  // frees fragments, unlinks
  void kill(Shard& sh, int32_t idx, bool failed);
  size_t bucket(wire::Ipv4Addr src, wire::Ipv4Addr dst, uint16_t id, uint8_t proto) const;
  Pktbuf assemble(Shard& sh, int32_t idx);
  static uint32_t max_end(const Entry& e);

  Ipv4Config cfg_;
  std::vector<Entry> entries_;
  std::vector<Frag> frag_arena_;
  std::vector<int32_t> buckets_;
  std::vector<int32_t> free_;
  int32_t oldest_ = -1, newest_ = -1;
  size_t mask_ = 0;
  size_t used_ = 0;
  size_t bytes_ = 0;
};

}  // namespace skiff
