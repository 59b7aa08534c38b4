#pragma once
// TCP segments for packet-level tests: build one from the peer, parse what the stack sent.
//
//   h.inject(h.from_peer(ipv4(spec, tcp_seg({.sport = 40000, .dport = 7000, .seq = 100, .flags = kSyn,
//                                            .opts = syn_opts(1460)}))));
//   auto t = parse_tcp(h.sent()[0]);   // t->flags, t->seq, t->ack, t->wnd, t->opts, t->payload

#include <optional>

#include "pkt_builder.hh"
#include "stack_harness.hh"
#include "wire/tcp.hh"

namespace skiff::test {

struct TcpSpec {
  Ipv4Addr src = StackHarness::kPeerIp;
  Ipv4Addr dst = StackHarness::kOurIp;
  uint16_t sport = 40000;
  uint16_t dport = 7000;
  uint32_t seq = 0;
  uint32_t ack = 0;
  uint8_t flags = 0;
  uint16_t wnd = 65535;
  uint16_t urg = 0;
  std::optional<wire::TcpOptions> opts;
  Bytes payload;
  bool bad_checksum = false;
  std::optional<uint8_t> data_offset;  // override (in 32-bit words)
  Bytes raw_options;                   // written as-is instead of `opts` when non-empty
  uint8_t tos = 0;                     // the IP header's TOS byte (its low two bits: ECN, RFC 3168)
};

// The TCP segment (header + payload) with a correct checksum unless asked otherwise.
Bytes tcp_seg(const TcpSpec& s);
// A whole frame from the peer to us carrying that segment.
Bytes tcp_frame(const StackHarness& h, const TcpSpec& s);
wire::TcpOptions mss_opt(uint16_t mss);

struct SentTcp {
  SentIp ip;
  uint16_t sport = 0, dport = 0;
  uint32_t seq = 0, ack = 0;
  uint8_t flags = 0;
  uint16_t wnd = 0;
  wire::TcpOptions opts;
  Bytes payload;
  bool checksum_ok = false;
  bool has(uint8_t f) const { return flags & f; }
};

// Parses a frame the stack sent; fails the test if it is not a valid TCP/IPv4 frame.
std::optional<SentTcp> parse_tcp(const Bytes& frame);
// The TCP segments among frames (ARP and others skipped).
std::vector<SentTcp> tcp_only(const std::vector<Bytes>& frames);

}  // namespace skiff::test
