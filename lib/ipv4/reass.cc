#include "ipv4/reass.hh"

#include <bit>

#include "stack/shard.hh"
#include "wire/icmp.hh"
#include "wire/ipv4.hh"

namespace skiff {

using wire::Ipv4View;

Reassembler::Reassembler(const Ipv4Config& cfg) : cfg_(cfg) {
  const size_t cap = cfg.reass_max_datagrams ? cfg.reass_max_datagrams : 1;
  const size_t maxf = cfg.reass_max_frags ? cfg.reass_max_frags : 1;
  cfg_.reass_max_frags = maxf;
  entries_.resize(cap);
  frag_arena_.resize(cap * maxf);
  const size_t nb = std::bit_ceil(cap * 2);
  buckets_.assign(nb, -1);
  mask_ = nb - 1;
  for (size_t i = cap; i-- > 0;) {
    free_.push_back(static_cast<int32_t>(i));
    entries_[i].frags = frag_arena_.data() + i * maxf;
  }
}

size_t Reassembler::bucket(wire::Ipv4Addr src, wire::Ipv4Addr dst, uint16_t id, uint8_t proto) const {
  uint64_t h = (uint64_t{src.host()} << 32 | dst.host()) * 0x9e3779b97f4a7c15ull;
  h ^= (uint64_t{id} << 8 | proto) * 0xc2b2ae3d27d4eb4full;
  return (h >> 40) & mask_;
}

int32_t Reassembler::find(wire::Ipv4Addr src, wire::Ipv4Addr dst, uint16_t id, uint8_t proto) const {
  for (int32_t i = buckets_[bucket(src, dst, id, proto)]; i >= 0; i = entries_[i].hnext) {
    const Entry& e = entries_[i];
    if (e.src == src && e.dst == dst && e.id == id && e.proto == proto) return i;
  }
  return -1;
}

int32_t Reassembler::create(Shard& sh, wire::Ipv4Addr src, wire::Ipv4Addr dst, uint16_t id, uint8_t proto,
                            Instant now) {
  if (free_.empty()) {
    // Table full: the oldest incomplete datagram makes room (it is the likeliest to be lost anyway).
    if (oldest_ < 0) return -1;
    sh.drops.add(Drop::FragTableFull, entries_[oldest_].nfrags);
    kill(sh, oldest_, true);
  }
  const int32_t idx = free_.back();
  free_.pop_back();
  Entry& e = entries_[idx];
  e.src = src;
  e.dst = dst;
  e.id = id;
  e.proto = proto;
  e.in_use = true;
  e.have_last = false;
  e.ecn = 0;
  e.first_link_bcast = false;
  e.total = 0;
  e.received = 0;
  e.truesize = 0;
  e.nfrags = 0;
  e.created = now;
  const size_t b = bucket(src, dst, id, proto);
  e.hnext = buckets_[b];
  buckets_[b] = idx;
  // Append as the newest.
  e.newer = -1;
  e.older = newest_;
  if (newest_ >= 0) entries_[newest_].newer = idx;
  newest_ = idx;
  if (oldest_ < 0) oldest_ = idx;
  ++used_;
  return idx;
}

void Reassembler::release(int32_t idx) {
  Entry& e = entries_[idx];
  for (uint16_t i = 0; i < e.nfrags; ++i) e.frags[i].buf.reset();
  bytes_ -= e.truesize;
  int32_t* link = &buckets_[bucket(e.src, e.dst, e.id, e.proto)];
  while (*link >= 0 && *link != idx) link = &entries_[*link].hnext;
  if (*link == idx) *link = e.hnext;
  e.hnext = -1;
  if (e.older >= 0) entries_[e.older].newer = e.newer; else oldest_ = e.newer;
  if (e.newer >= 0) entries_[e.newer].older = e.older; else newest_ = e.older;
  e.older = e.newer = -1;
  e.in_use = false;
  e.nfrags = 0;
  free_.push_back(idx);
  --used_;
}

void Reassembler::kill(Shard& sh, int32_t idx, bool failed) {
  if (failed) ++sh.stats.ip_reasm_fails;
  release(idx);
}

void Reassembler::clear() {
  while (oldest_ >= 0) release(oldest_);
}

Pktbuf Reassembler::feed(Shard& sh, Pktbuf frag, bool link_bcast) {
  Ipv4View ip(frag.data(), frag.seg_len());
  const size_t hl = ip.header_len();
  const uint32_t off = static_cast<uint32_t>(ip.frag_offset());
  const uint32_t len = frag.len() - static_cast<uint32_t>(hl);
  const uint32_t end = off + len;
  const bool last = !ip.more_frags();

  if (end > Ipv4View::kMaxDatagram - Ipv4View::kMinHeaderLen) {
    // Would reassemble past 65535 bytes even behind the shortest header (the "ping of death"): the whole
    // datagram is bogus. The header that counts is the first fragment's (assemble() checks with it): a later
    // fragment's options are not part of the datagram.
    int32_t idx = find(ip.src(), ip.dst(), ip.ident(), ip.proto());
    if (idx >= 0) {
      sh.drops.add(Drop::FragTooBig, entries_[idx].nfrags);
      kill(sh, idx, true);
    }
    sh.drop(std::move(frag), Drop::FragTooBig);
    return {};
  }
  if (!last && (len == 0 || len % 8 != 0)) {
    sh.drop(std::move(frag), Drop::FragBadLen);
    return {};
  }

  int32_t idx = find(ip.src(), ip.dst(), ip.ident(), ip.proto());
  if (idx < 0) {
    idx = create(sh, ip.src(), ip.dst(), ip.ident(), ip.proto(), sh.now());
    if (idx < 0) {
      sh.drop(std::move(frag), Drop::FragTableFull);
      return {};
    }
  }
  Entry& e = entries_[idx];

  // Length consistency: a last fragment fixes the total; nothing may extend past it.
  if (last) {
    if ((e.have_last && end != e.total) || end < max_end(e)) {
      sh.drops.add(Drop::FragInconsistent, e.nfrags);
      kill(sh, idx, true);
      sh.drop(std::move(frag), Drop::FragInconsistent);
      return {};
    }
  } else if (e.have_last && end > e.total) {
    sh.drops.add(Drop::FragInconsistent, e.nfrags);
    kill(sh, idx, true);
    sh.drop(std::move(frag), Drop::FragInconsistent);
    return {};
  }

  // Find the insertion point (sorted by offset) and check both neighbours for overlap.
  uint16_t pos = 0;
  while (pos < e.nfrags && e.frags[pos].off < off) ++pos;
  if (pos < e.nfrags && e.frags[pos].off == off && e.frags[pos].end == end) {
    sh.drop(std::move(frag), Drop::FragDuplicate);  // an exact duplicate (e.g. a duplicating link)
    return {};
  }
  const bool overlap_prev = pos > 0 && e.frags[pos - 1].end > off;
  const bool overlap_next = pos < e.nfrags && e.frags[pos].off < end;
  if (overlap_prev || overlap_next || (len == 0 && off < max_end(e))) {
    sh.drops.add(Drop::FragOverlap, e.nfrags);
    kill(sh, idx, true);
    sh.drop(std::move(frag), Drop::FragOverlap);
    return {};
  }
  if (e.nfrags >= cfg_.reass_max_frags) {
    sh.drops.add(Drop::FragTooMany, e.nfrags);
    kill(sh, idx, true);
    sh.drop(std::move(frag), Drop::FragTooMany);
    return {};
  }

  e.ecn = static_cast<uint8_t>(e.ecn | (1u << (ip.tos() & 3)));
  if (off == 0) e.first_link_bcast = link_bcast;
  const uint32_t truesize = frag.mbuf()->buf_len * frag.nb_segs();
  for (uint16_t i = e.nfrags; i > pos; --i) e.frags[i] = std::move(e.frags[i - 1]);
  e.frags[pos] = Frag{static_cast<uint16_t>(off), static_cast<uint16_t>(end), std::move(frag)};
  ++e.nfrags;
  e.received += len;
  e.truesize += truesize;
  bytes_ += truesize;
  if (last) {
    e.have_last = true;
    e.total = static_cast<uint16_t>(end);
  }

  if (e.have_last && e.received == e.total) return assemble(sh, idx);

  // Over the memory limit: evict the oldest datagrams (never the one just fed if it is the only one).
  while (bytes_ > cfg_.reass_max_bytes && oldest_ >= 0) {
    sh.drops.add(Drop::FragNoMemory, entries_[oldest_].nfrags);
    kill(sh, oldest_, true);
  }
  return {};
}

uint32_t Reassembler::max_end(const Entry& e) { return e.nfrags ? e.frags[e.nfrags - 1].end : 0; }

Pktbuf Reassembler::assemble(Shard& sh, int32_t idx) {
  Entry& e = entries_[idx];
  Pktbuf head = std::move(e.frags[0].buf);
  bool ok = true;
  for (uint16_t i = 1; i < e.nfrags; ++i) {
    Pktbuf& f = e.frags[i].buf;
    const size_t hl = Ipv4View(f.data(), f.seg_len()).header_len();
    if (!f.adj(static_cast<uint16_t>(hl)) || !head.chain(std::move(f))) ok = false;
  }
  const uint16_t total = e.total;
  const uint8_t ecn = e.ecn;
  const uint16_t nfrags = e.nfrags;
  // RFC 3168 §5.3: fragments of one datagram that disagree on ECN capability (some not-ECT, some ECT or
  // CE) were damaged on the way; the datagram is dropped (Linux's ip_frag_ecn_table).
  const bool ecn_mixed = (ecn & 1) && (ecn & 0xe);
  kill(sh, idx, !ok || ecn_mixed);
  if (!ok || ecn_mixed) {
    if (ok) sh.drops.add(Drop::FragEcnMismatch, nfrags - 1u);  // the chain counts as one below
    sh.drop(std::move(head), ok ? Drop::FragEcnMismatch : Drop::FragTooMany);
    return {};
  }
  Ipv4View ip(head.data(), head.seg_len());
  if (ip.header_len() + total > Ipv4View::kMaxDatagram) {
    // The first fragment's options push the whole past 65535 bytes (Linux's ip_frag_reasm: "oversized").
    ++sh.stats.ip_reasm_fails;
    sh.drops.add(Drop::FragTooBig, nfrags - 1u);  // the chain counts as one below
    sh.drop(std::move(head), Drop::FragTooBig);
    return {};
  }
  // One fragment marked CE marks the datagram (§5.3).
  if (ecn & (1u << 3)) ip.set_tos(static_cast<uint8_t>(ip.tos() | 3));
  ip.set_total_len(static_cast<uint16_t>(ip.header_len() + total));
  ip.set_flags_frag(ip.flags_frag() & Ipv4View::kFlagDF);
  ip.fill_checksum();
  // The NIC's verdict was about the first fragment only.
  head.ol_flags() &= ~(RTE_MBUF_F_RX_IP_CKSUM_MASK | RTE_MBUF_F_RX_L4_CKSUM_MASK);
  return head;
}

void Reassembler::expire(Shard& sh, Instant now) {
  while (oldest_ >= 0 && now - entries_[oldest_].created >= cfg_.reass_timeout) {
    Entry& e = entries_[oldest_];
    sh.drops.add(Drop::FragTimeout, e.nfrags);
    // RFC 792 / RFC 1122 §3.2.1.4: time exceeded (reassembly), only if the first fragment arrived.
    if (e.nfrags && e.frags[0].off == 0) {
      Pktbuf first = std::move(e.frags[0].buf);
      Ipv4View ip(first.data(), first.seg_len());
      Ipv4Rx rx;
      rx.src = ip.src();
      rx.dst = ip.dst();
      rx.proto = ip.proto();
      rx.hdr_len = static_cast<uint16_t>(ip.header_len());
      rx.ip_bcast = false;
      rx.link_bcast = e.first_link_bcast;  // (icmp_send_error counts it as suppressed)
      first.adj(rx.hdr_len);
      kill(sh, oldest_, true);
      icmp_send_error(sh, std::move(first), rx, wire::icmp_type::kTimeExceeded,
                      wire::icmp_time_exceeded::kReassembly);
    } else {
      kill(sh, oldest_, true);
    }
  }
}

}  // namespace skiff
