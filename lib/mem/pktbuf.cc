#include "mem/pktbuf.hh"

#include <cstring>

#include "wire/checksum.hh"

namespace skiff {

bool Pktbuf::trim(uint32_t n) {
  if (n > len()) return false;
  return truncate(len() - n);
}

bool Pktbuf::adj(uint32_t n) { return pkt_adj(m_, n); }

bool pkt_adj(rte_mbuf* m_, uint32_t n) {
  if (n > m_->pkt_len) return false;
  if (n <= m_->data_len) {
    m_->data_off = static_cast<uint16_t>(m_->data_off + n);
    m_->data_len = static_cast<uint16_t>(m_->data_len - n);
    m_->pkt_len -= n;
    return true;
  }
  // Past the first segment: it stays, emptied (it carries the packet's metadata); the segments after it
  // that the cut covers whole are freed, and the one where it ends starts later.
  uint32_t left = n - m_->data_len;
  m_->data_off = static_cast<uint16_t>(m_->data_off + m_->data_len);
  m_->data_len = 0;
  while (left) {
    rte_mbuf* s = m_->next;  // there is one: n <= pkt_len
    if (left >= s->data_len) {
      left -= s->data_len;
      m_->next = s->next;
      s->next = nullptr;
      s->nb_segs = 1;
      rte_pktmbuf_free_seg(s);
      --m_->nb_segs;
    } else {
      s->data_off = static_cast<uint16_t>(s->data_off + left);
      s->data_len = static_cast<uint16_t>(s->data_len - left);
      left = 0;
    }
  }
  m_->pkt_len -= n;
  return true;
}

bool Pktbuf::truncate(uint32_t new_len) {
  if (new_len > m_->pkt_len) return false;
  if (new_len == m_->pkt_len) return true;
  rte_mbuf* seg = m_;
  uint32_t left = new_len;
  uint16_t segs = 1;
  // Find the segment where the packet now ends (keep at least the first segment).
  while (left > seg->data_len && seg->next) {
    left -= seg->data_len;
    seg = seg->next;
    ++segs;
  }
  seg->data_len = static_cast<uint16_t>(left);
  if (seg->next) {
    rte_pktmbuf_free(seg->next);
    seg->next = nullptr;
  }
  m_->nb_segs = segs;
  m_->pkt_len = new_len;
  return true;
}

bool Pktbuf::copy_out(uint32_t off, uint32_t n, void* dst) const {
  if (off > m_->pkt_len || n > m_->pkt_len - off) return false;
  auto* out = static_cast<uint8_t*>(dst);
  const rte_mbuf* seg = m_;
  while (seg && off >= seg->data_len) {
    off -= seg->data_len;
    seg = seg->next;
  }
  while (n && seg) {
    const uint32_t take = std::min<uint32_t>(n, seg->data_len - off);
    memcpy(out, rte_pktmbuf_mtod_offset(seg, const uint8_t*, off), take);
    out += take;
    n -= take;
    off = 0;
    seg = seg->next;
  }
  return n == 0;
}

bool Pktbuf::copy_in(uint32_t off, uint32_t n, const void* src) {
  if (off > m_->pkt_len || n > m_->pkt_len - off) return false;
  const auto* in = static_cast<const uint8_t*>(src);
  rte_mbuf* seg = m_;
  while (seg && off >= seg->data_len) {
    off -= seg->data_len;
    seg = seg->next;
  }
  while (n && seg) {
    const uint32_t take = std::min<uint32_t>(n, seg->data_len - off);
    memcpy(rte_pktmbuf_mtod_offset(seg, uint8_t*, off), in, take);
    in += take;
    n -= take;
    off = 0;
    seg = seg->next;
  }
  return n == 0;
}

uint64_t Pktbuf::csum_partial(uint32_t off, uint32_t n, uint64_t sum) const {
  const rte_mbuf* seg = m_;
  while (seg && off >= seg->data_len) {
    off -= seg->data_len;
    seg = seg->next;
  }
  bool odd = false;  // true when an odd number of bytes has been summed so far
  while (n && seg) {
    const uint32_t take = std::min<uint32_t>(n, seg->data_len - off);
    uint64_t part = wire::csum_partial(rte_pktmbuf_mtod_offset(seg, const uint8_t*, off), take);
    if (odd) {
      // This piece's bytes sit at odd positions of the 16-bit word stream: swap its folded sum.
      part = __builtin_bswap16(wire::csum_fold16(part));
    }
    sum += part;
    if (take & 1) odd = !odd;
    n -= take;
    off = 0;
    seg = seg->next;
  }
  return sum;
}

bool Pktbuf::chain(Pktbuf&& tail) {
  if (rte_pktmbuf_chain(m_, tail.raw()) != 0) return false;
  (void)tail.release();
  return true;
}

}  // namespace skiff
