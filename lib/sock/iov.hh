#pragma once
// Packet bytes into a msghdr's iovecs: what the datagram receive paths (UDP, raw, the error queue) share.

#include <sys/uio.h>

#include <algorithm>
#include <cstddef>

#include "mem/pktbuf.hh"

namespace skiff {

// The bytes `iovlen` iovecs hold in all.
inline size_t iov_room(const iovec* iov, size_t iovlen) {
  size_t n = 0;
  for (size_t i = 0; i < iovlen; ++i) n += iov[i].iov_len;
  return n;
}

// Copies `len` bytes of `p` from its offset `from` into the iovecs, starting `at` bytes into them, as far as
// they reach; returns the bytes copied.
inline size_t pkt_copy_to_iov(const Pktbuf& p, uint32_t from, uint32_t len, const iovec* iov, size_t iovlen,
                              size_t at = 0) {
  size_t copied = 0, pos = 0;
  for (size_t i = 0; i < iovlen && copied < len; ++i) {
    const size_t seg = iov[i].iov_len;
    if (at >= pos + seg) {
      pos += seg;
      continue;
    }
    const size_t skip = at > pos ? at - pos : 0;
    const size_t n = std::min<size_t>(seg - skip, len - copied);
    if (n)
      p.copy_out(static_cast<uint32_t>(from + copied), static_cast<uint32_t>(n),
                 static_cast<uint8_t*>(iov[i].iov_base) + skip);
    copied += n;
    pos += seg;
    at = pos;
  }
  return copied;
}

}  // namespace skiff
