#pragma once
// Pktbuf: an owning, move-only handle to a DPDK packet buffer (rte_mbuf chain). Whoever holds it must pass
// it on, transmit it or let it go out of scope (which frees it): no path can leak a buffer.

#include <rte_mbuf.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>

#include "base/compiler.hh"

namespace skiff {

enum class RxCsum : uint8_t { Unknown, Good, Bad };

// PktMeta::steer_flags bits.
inline constexpr uint8_t kSteerLinkBcast = 1;  // arrived as a link-layer broadcast/multicast
inline constexpr uint8_t kSteerLooped = 2;     // a copy of our own multicast datagram (its source is ours)

// Per-packet metadata in the mbuf's private area (like Linux's skb->cb): what a layer learnt about the
// packet and the link that queues it. Every pool Skiff creates reserves room for it.
struct PktMeta {
  rte_mbuf* qnext;      // next packet in a socket queue
  uint32_t src_addr;    // IPv4 source (host order), for recvfrom
  uint32_t dst_addr;    // IPv4 destination (host order)
  uint16_t src_port;    // transport source port (host order)
  uint16_t dst_port;
  uint32_t offset;      // bytes of the payload already consumed by the reader
  uint32_t seq;         // transport use (TCP: sequence number of the first payload byte)
  uint32_t truesize;    // buffer memory charged to a socket
  uint8_t ttl, tos;
  uint8_t l4_hdr_len;
  uint8_t flags;
  uint64_t rx_time_ns;
  uint8_t steer_kind;   // between shards: what the buffer is (stack/steer.hh SteerKind)
  uint8_t steer_iface;  // between shards: the interface it arrived on / leaves by
  uint8_t steer_flags;  // between shards: kSteerLinkBcast, kSteerLooped
};
inline constexpr uint16_t kPktPrivSize = (sizeof(PktMeta) + RTE_MBUF_PRIV_ALIGN - 1) & ~(RTE_MBUF_PRIV_ALIGN - 1);

inline PktMeta* pkt_meta(rte_mbuf* m) { return static_cast<PktMeta*>(rte_mbuf_to_priv(m)); }

// Removes n bytes from the front of packet `m`, across segments (Pktbuf::adj).
bool pkt_adj(rte_mbuf* m, uint32_t n);

// A read-only reference to `m`'s data for transmission (TCP's retransmission queue keeps the original): an
// indirect clone, sharing the buffer through its reference count. Under ThreadSanitizer a deep copy
// instead: DPDK's reference count drops the last reference with a relaxed load (rte_pktmbuf_prefree_seg),
// no synchronization in the C11 model, so a buffer shared with a receiver on another thread (an in-process
// net_ring peer, or a shard transmitting for another) would be reported on every reuse.
inline rte_mbuf* pkt_clone(rte_mbuf* m, rte_mempool* pool) {
#if defined(__SANITIZE_THREAD__)
  return rte_pktmbuf_copy(m, pool, 0, UINT32_MAX);
#else
  return rte_pktmbuf_clone(m, pool);
#endif
}

class Pktbuf {
 public:
  Pktbuf() = default;
  explicit Pktbuf(rte_mbuf* m) : m_(m) {}
  Pktbuf(const Pktbuf&) = delete;
  Pktbuf& operator=(const Pktbuf&) = delete;
  Pktbuf(Pktbuf&& o) noexcept : m_(std::exchange(o.m_, nullptr)) {}
  Pktbuf& operator=(Pktbuf&& o) noexcept {
    if (this != &o) {
      reset();
      m_ = std::exchange(o.m_, nullptr);
    }
    return *this;
  }
  ~Pktbuf() { reset(); }

  void reset() {
    if (m_) rte_pktmbuf_free(std::exchange(m_, nullptr));
  }
  [[nodiscard]] rte_mbuf* release() { return std::exchange(m_, nullptr); }
  rte_mbuf* raw() const { return m_; }
  explicit operator bool() const { return m_ != nullptr; }

  uint8_t* data() const { return rte_pktmbuf_mtod(m_, uint8_t*); }
  uint32_t len() const { return m_->pkt_len; }
  uint16_t seg_len() const { return m_->data_len; }
  uint16_t nb_segs() const { return m_->nb_segs; }
  bool is_contiguous() const { return m_->nb_segs == 1; }
  // The contiguous bytes of the first segment.
  std::span<uint8_t> first_seg() const { return {data(), m_->data_len}; }
  uint16_t headroom() const { return rte_pktmbuf_headroom(m_); }
  uint16_t tailroom() const { return rte_pktmbuf_tailroom(rte_pktmbuf_lastseg(m_)); }

  // Grows the front by n bytes; nullptr when there is no headroom.
  uint8_t* prepend(uint16_t n) { return reinterpret_cast<uint8_t*>(rte_pktmbuf_prepend(m_, n)); }
  // Removes n bytes from the front, across segments (the first stays, maybe empty: it carries the
  // packet's metadata; later ones the cut empties are freed). False (and nothing done) if n > len().
  bool adj(uint32_t n);
  // Removes n bytes from the end; false if the last segment is shorter.
  bool trim(uint32_t n);
  // Appends n bytes at the end of the last segment; nullptr without tailroom.
  uint8_t* append(uint16_t n) { return reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m_, n)); }
  // Cuts the packet to `new_len` bytes (frees trailing segments). False if new_len > len().
  bool truncate(uint32_t new_len);

  // Copies [off, off+n) into `dst`; false if out of range.
  bool copy_out(uint32_t off, uint32_t n, void* dst) const;
  // Copies `n` bytes from `src` to offset `off` (within the existing length); false if out of range.
  bool copy_in(uint32_t off, uint32_t n, const void* src);
  // One's-complement partial sum over [off, off+n) across segments, with correct odd-boundary handling.
  uint64_t csum_partial(uint32_t off, uint32_t n, uint64_t sum = 0) const;

  // Appends another chain at the end (takes ownership). False if the chain would be too long.
  bool chain(Pktbuf&& tail);

  // Receive-side checksum verdicts from the NIC.
  RxCsum rx_ip_csum() const { return decode(m_->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK, true); }
  RxCsum rx_l4_csum() const { return decode(m_->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK, false); }

  uint64_t& ol_flags() { return m_->ol_flags; }
  PktMeta* meta() const { return pkt_meta(m_); }
  rte_mbuf* mbuf() const { return m_; }

 private:
  static RxCsum decode(uint64_t f, bool ip) {
    if (ip) {
      if (f == RTE_MBUF_F_RX_IP_CKSUM_GOOD) return RxCsum::Good;
      if (f == RTE_MBUF_F_RX_IP_CKSUM_BAD) return RxCsum::Bad;
      // NONE: "the checksum in the packet is not correct, but the header's integrity is verified" (virtio
      // and vhost deliver local senders' packets this way): as good as GOOD, and software must not check.
      if (f == RTE_MBUF_F_RX_IP_CKSUM_NONE) return RxCsum::Good;
      return RxCsum::Unknown;
    }
    if (f == RTE_MBUF_F_RX_L4_CKSUM_GOOD) return RxCsum::Good;
    if (f == RTE_MBUF_F_RX_L4_CKSUM_BAD) return RxCsum::Bad;
    if (f == RTE_MBUF_F_RX_L4_CKSUM_NONE) return RxCsum::Good;  // the data is verified (see above)
    return RxCsum::Unknown;
  }
  rte_mbuf* m_ = nullptr;
};

}  // namespace skiff
