#include "wire/tcp.hh"

#include <algorithm>

namespace skiff::wire {

namespace {
constexpr uint32_t kAlignedTimestamp = uint32_t{tcp_opt::kNop} << 24 | uint32_t{tcp_opt::kNop} << 16 |
                                       uint32_t{tcp_opt::kTimestamp} << 8 | 10;
}  // namespace

Checked<TcpOptions> TcpOptions::parse(std::span<const uint8_t> opts) {
  Checked<TcpOptions> r;
  r.err = parse_into(opts, r.view);
  if (r.err != WireError::Ok) r.view = TcpOptions{};
  return r;
}

WireError TcpOptions::parse_into(std::span<const uint8_t> opts, TcpOptions& o) {
  size_t i = 0;
  const size_t n = opts.size();
  // The layout nearly every segment of a timestamping connection carries (RFC 7323 Appendix A: NOP, NOP,
  // Timestamps), read without the loop, as Linux's tcp_parse_aligned_timestamp does.
  if (n == 12 && load_be32(opts.data()) == kAlignedTimestamp) {
    o.has_timestamp = true;
    o.ts_val = load_be32(opts.data() + 4);
    o.ts_ecr = load_be32(opts.data() + 8);
    return WireError::Ok;
  }
  while (i < n) {
    const uint8_t kind = opts[i];
    if (kind == tcp_opt::kEol) break;
    if (kind == tcp_opt::kNop) {
      ++i;
      continue;
    }
    if (i + 1 >= n) return WireError::BadOptionLen;  // no room for the length byte
    const uint8_t len = opts[i + 1];
    if (len < 2 || i + len > n) return WireError::BadOptionLen;
    const uint8_t* p = opts.data() + i;
    switch (kind) {
      case tcp_opt::kMss:
        if (len != 4) return WireError::BadOptionLen;
        o.mss = load_be16(p + 2);
        break;
      case tcp_opt::kWscale:
        if (len != 3) return WireError::BadOptionLen;
        o.wscale = p[2];
        break;
      case tcp_opt::kSackPermitted:
        if (len != 2) return WireError::BadOptionLen;
        o.sack_permitted = true;
        break;
      case tcp_opt::kTimestamp:
        if (len != 10) return WireError::BadOptionLen;
        o.has_timestamp = true;
        o.ts_val = load_be32(p + 2);
        o.ts_ecr = load_be32(p + 6);
        break;
      case tcp_opt::kSack: {
        if (len < 10 || len > 34 || (len - 2) % 8 != 0) return WireError::BadOptionLen;
        const size_t blocks = (len - 2) / 8;  // at most 4 fit in 40 bytes
        o.num_sack = 0;
        for (size_t b = 0; b < blocks && b < o.sack.size(); ++b) {
          o.sack[b] = {SeqNum(load_be32(p + 2 + 8 * b)), SeqNum(load_be32(p + 6 + 8 * b))};
          o.num_sack = static_cast<uint8_t>(b + 1);
        }
        break;
      }
      case tcp_opt::kFastOpen:
      case tcp_opt::kExperimental: {
        // The cookie, after the kind and length (and the experimental form's 16-bit magic). A length the RFC
        // does not allow leaves the option ignored, not the segment dropped (Linux's tcp_parse_fastopen_option).
        const size_t hdr = kind == tcp_opt::kFastOpen ? 2 : 4;
        if (kind == tcp_opt::kExperimental && (len < 4 || load_be16(p + 2) != tcp_opt::kFastOpenMagic)) break;
        const size_t clen = len - hdr;
        if (clen == 0 || (clen >= 4 && clen <= 16 && clen % 2 == 0)) {
          o.fastopen_len = static_cast<int8_t>(clen);
          o.fastopen_exp = kind == tcp_opt::kExperimental;
          std::copy(p + hdr, p + len, o.fastopen_cookie.begin());
        }
        break;
      }
      default:
        break;  // unknown options are skipped by their length (RFC 9293 §3.1)
    }
    i += len;
  }
  return WireError::Ok;
}

size_t write_tcp_options(uint8_t* out, const TcpOptions& o) {
  size_t n = 0;
  if (o.mss) {
    out[n++] = tcp_opt::kMss;
    out[n++] = 4;
    store_be16(out + n, *o.mss);
    n += 2;
  }
  if (o.sack_permitted && !o.has_timestamp) {
    out[n++] = tcp_opt::kNop;
    out[n++] = tcp_opt::kNop;
    out[n++] = tcp_opt::kSackPermitted;
    out[n++] = 2;
  }
  if (o.has_timestamp) {
    if (o.sack_permitted) {
      out[n++] = tcp_opt::kSackPermitted;
      out[n++] = 2;
    } else {
      out[n++] = tcp_opt::kNop;
      out[n++] = tcp_opt::kNop;
    }
    out[n++] = tcp_opt::kTimestamp;
    out[n++] = 10;
    store_be32(out + n, o.ts_val);
    store_be32(out + n + 4, o.ts_ecr);
    n += 8;
  }
  if (o.wscale) {
    out[n++] = tcp_opt::kNop;
    out[n++] = tcp_opt::kWscale;
    out[n++] = 3;
    out[n++] = *o.wscale;
  }
  if (o.num_sack) {
    const size_t room = (40 - n - 4) / 8;  // NOP NOP kind len + blocks
    const size_t blocks = o.num_sack < room ? o.num_sack : room;
    if (blocks) {
      out[n++] = tcp_opt::kNop;
      out[n++] = tcp_opt::kNop;
      out[n++] = tcp_opt::kSack;
      out[n++] = static_cast<uint8_t>(2 + 8 * blocks);
      for (size_t b = 0; b < blocks; ++b) {
        store_be32(out + n, o.sack[b].left.raw());
        store_be32(out + n + 4, o.sack[b].right.raw());
        n += 8;
      }
    }
  }
  if (const size_t hdr = o.fastopen_exp ? 4 : 2; o.fastopen_len >= 0 && n + hdr + static_cast<size_t>(o.fastopen_len) <= 40) {
    out[n++] = o.fastopen_exp ? tcp_opt::kExperimental : tcp_opt::kFastOpen;
    out[n++] = static_cast<uint8_t>(hdr + static_cast<size_t>(o.fastopen_len));
    if (o.fastopen_exp) {
      store_be16(out + n, tcp_opt::kFastOpenMagic);
      n += 2;
    }
    std::copy_n(o.fastopen_cookie.begin(), o.fastopen_len, out + n);
    n += static_cast<size_t>(o.fastopen_len);
  }
  while (n % 4) out[n++] = tcp_opt::kEol;
  return n;
}

}  // namespace skiff::wire
