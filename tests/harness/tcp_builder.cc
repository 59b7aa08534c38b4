#include "tcp_builder.hh"

#include <gtest/gtest.h>

#include <cstring>

#include "wire/checksum.hh"
#include "wire/endian.hh"

namespace skiff::test {

wire::TcpOptions mss_opt(uint16_t mss) {
  wire::TcpOptions o;
  o.mss = mss;
  return o;
}

Bytes tcp_seg(const TcpSpec& s) {
  uint8_t opts[40];
  size_t olen = 0;
  if (!s.raw_options.empty()) {
    olen = std::min<size_t>(s.raw_options.size(), 40);
    memcpy(opts, s.raw_options.data(), olen);
    while (olen % 4) opts[olen++] = 0;
  } else if (s.opts) {
    olen = wire::write_tcp_options(opts, *s.opts);
  }
  const size_t hl = 20 + olen;
  Bytes b(hl + s.payload.size());
  wire::store_be16(b.data(), s.sport);
  wire::store_be16(b.data() + 2, s.dport);
  wire::store_be32(b.data() + 4, s.seq);
  wire::store_be32(b.data() + 8, s.ack);
  b[12] = static_cast<uint8_t>(s.data_offset.value_or(static_cast<uint8_t>(hl / 4)) << 4);
  b[13] = s.flags;
  wire::store_be16(b.data() + 14, s.wnd);
  wire::store_be16(b.data() + 18, s.urg);
  if (olen) memcpy(b.data() + 20, opts, olen);
  if (!s.payload.empty()) memcpy(b.data() + hl, s.payload.data(), s.payload.size());
  const uint64_t ph = wire::pseudo_header_sum(s.src, s.dst, 6, static_cast<uint16_t>(b.size()));
  uint16_t c = wire::csum_finish(wire::csum_partial(b.data(), b.size(), ph));
  if (s.bad_checksum) c = static_cast<uint16_t>(c ^ 0x00ff);
  wire::store_raw16(b.data() + 16, c);
  return b;
}

Bytes tcp_frame(const StackHarness& h, const TcpSpec& s) {
  return h.from_peer(ipv4(Ipv4Spec{.src = s.src, .dst = s.dst, .proto = 6, .tos = s.tos}, tcp_seg(s)));
}

std::optional<SentTcp> parse_tcp(const Bytes& frame) {
  auto ip = parse_ip(frame);
  if (!ip) return std::nullopt;
  if (ip->proto != 6) {
    ADD_FAILURE() << "not TCP (protocol " << int(ip->proto) << ")";
    return std::nullopt;
  }
  Bytes seg = ip->payload;
  auto th = wire::TcpView::checked(seg);
  if (!th) {
    ADD_FAILURE() << "bad TCP header: " << wire::to_string(th.err);
    return std::nullopt;
  }
  SentTcp t;
  t.ip = *ip;
  t.sport = th->src_port();
  t.dport = th->dst_port();
  t.seq = th->seq().raw();
  t.ack = th->ack().raw();
  t.flags = th->flags();
  t.wnd = th->window();
  auto o = wire::TcpOptions::parse(th->options());
  if (!o) ADD_FAILURE() << "bad TCP options";
  if (o) t.opts = *o;
  t.payload.assign(seg.begin() + static_cast<long>(th->header_len()), seg.end());
  const uint64_t ph = wire::pseudo_header_sum(ip->src, ip->dst, 6, static_cast<uint16_t>(seg.size()));
  t.checksum_ok = wire::csum_ok(wire::csum_partial(seg.data(), seg.size(), ph));
  return t;
}

std::vector<SentTcp> tcp_only(const std::vector<Bytes>& frames) {
  std::vector<SentTcp> out;
  for (const Bytes& f : frames) {
    if (f.size() < 34 || f[12] != 0x08 || f[13] != 0x00 || f[14 + 9] != 6) continue;
    if (auto t = parse_tcp(f)) out.push_back(*t);
  }
  return out;
}

}  // namespace skiff::test
