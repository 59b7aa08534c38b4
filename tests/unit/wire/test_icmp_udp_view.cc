#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <ostream>
#include <span>

#include "pkt_builder.hh"
#include "wire/ethernet.hh"
#include "wire/icmp.hh"
#include "wire/ipv4.hh"
#include "wire/udp.hh"

// Readable failure messages: print a WireError by name (identical inline definition in each test file).
namespace skiff::wire {
inline void PrintTo(WireError e, std::ostream* os) {
  *os << to_string(e);
}
}  // namespace skiff::wire

using namespace skiff;
using namespace skiff::wire;

namespace {

uint16_t raw_as_be(uint16_t raw) {
  uint8_t b[2];
  memcpy(b, &raw, 2);
  return static_cast<uint16_t>((b[0] << 8) | b[1]);
}

// A real ICMP echo request (Windows ping: id 1, seq 33, 32 data bytes "abcdefghijklmnopqrstuvwabcdefghi"),
// checksum 0x4d3a.
constexpr std::array<uint8_t, 40> kEchoRequest = {
    0x08, 0x00, 0x4d, 0x3a, 0x00, 0x01, 0x00, 0x21, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66,
    0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f, 0x70, 0x71, 0x72, 0x73, 0x74,
    0x75, 0x76, 0x77, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69,
};

// A real DNS query for example.com A, 192.168.1.100:53123 -> 8.8.8.8:53, length 37, checksum 0xe293.
constexpr std::array<uint8_t, 37> kDnsQuery = {
    0xcf, 0x83, 0x00, 0x35, 0x00, 0x25, 0xe2, 0x93,  // UDP header
    0xab, 0xcd, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 0x65, 0x78,
    0x61, 0x6d, 0x70, 0x6c, 0x65, 0x03, 0x63, 0x6f, 0x6d, 0x00, 0x00, 0x01, 0x00, 0x01,
};
const Ipv4Addr kDnsSrc = Ipv4Addr::of(192, 168, 1, 100);
const Ipv4Addr kDnsDst = Ipv4Addr::of(8, 8, 8, 8);

}  // namespace

// ---- ICMP ----

TEST(IcmpView, RealEchoRequest) {
  auto b = kEchoRequest;
  auto v = IcmpView::checked(b);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->type(), icmp_type::kEchoRequest);
  EXPECT_EQ(v->code(), 0);
  EXPECT_EQ(raw_as_be(v->checksum_raw()), 0x4d3a);
  EXPECT_EQ(v->echo_id(), 1);
  EXPECT_EQ(v->echo_seq(), 33);
  EXPECT_EQ(v->rest(), 0x00010021u);
  ASSERT_EQ(v->payload().size(), 32u);
  EXPECT_EQ(v->payload().data(), b.data() + 8);
  EXPECT_EQ(memcmp(v->payload().data(), "abcdefghijklmnopqrstuvwabcdefghi", 32), 0);
  EXPECT_TRUE(csum_ok(csum_partial(b.data(), b.size())));
  EXPECT_FALSE(icmp_is_error(v->type()));
}

TEST(IcmpView, RealEchoRequestFrameLayerByLayer) {
  // The whole 74-byte frame as captured: Ethernet, IPv4 (checksum 0x4c5f), ICMP echo request.
  std::array<uint8_t, 74> f = {0x3c, 0x52, 0x82, 0x11, 0x22, 0x33, 0x00, 0x0c, 0x29, 0x3e, 0x5b, 0x7a,
                               0x08, 0x00, 0x45, 0x00, 0x00, 0x3c, 0x1c, 0x46, 0x00, 0x00, 0x80, 0x01,
                               0x4c, 0x5f, 0xc0, 0xa8, 0x01, 0x64, 0x08, 0x08, 0x08, 0x08};
  memcpy(f.data() + 34, kEchoRequest.data(), kEchoRequest.size());
  auto eth = EthView::checked(f);
  ASSERT_TRUE(eth);
  EXPECT_EQ(eth->ethertype(), static_cast<uint16_t>(EtherType::Ipv4));
  auto ip = Ipv4View::checked(eth->payload());
  ASSERT_TRUE(ip);
  EXPECT_TRUE(ip->checksum_ok());
  EXPECT_EQ(ip->proto(), static_cast<uint8_t>(IpProto::Icmp));
  const size_t l4_len = ip->total_len() - ip->header_len();
  auto icmp = IcmpView::checked(eth->payload().subspan(ip->header_len(), l4_len));
  ASSERT_TRUE(icmp);
  EXPECT_EQ(icmp->data(), f.data() + 34);
  EXPECT_EQ(icmp->type(), icmp_type::kEchoRequest);
  EXPECT_EQ(icmp->echo_seq(), 33);
  EXPECT_TRUE(csum_ok(csum_partial(icmp->data(), l4_len)));
  // The same frame cut anywhere inside the ICMP header fails at the ICMP layer.
  for (size_t cut = 34; cut < 42; ++cut) {
    auto e = EthView::checked(std::span<uint8_t>(f.data(), cut));
    ASSERT_TRUE(e);
    auto i = Ipv4View::checked(e->payload().first(20), 60);
    ASSERT_TRUE(i);
    EXPECT_EQ(IcmpView::checked(e->payload().subspan(20)).err, WireError::Truncated) << cut;
  }
}

TEST(IcmpView, MinimumAndTruncated) {
  auto b = kEchoRequest;
  for (size_t n = 0; n < IcmpView::kHeaderLen; ++n) {
    auto v = IcmpView::checked(std::span<uint8_t>(b.data(), n));
    EXPECT_FALSE(v) << n;
    EXPECT_EQ(v.err, WireError::Truncated) << n;
  }
  auto v = IcmpView::checked(std::span<uint8_t>(b.data(), 8));
  ASSERT_TRUE(v);
  EXPECT_TRUE(v->payload().empty());
  EXPECT_EQ(v->echo_seq(), 33);
}

TEST(IcmpView, CorruptedChecksumDetected) {
  for (size_t i = 0; i < kEchoRequest.size(); ++i) {
    auto b = kEchoRequest;
    b[i] ^= 0x04;
    ASSERT_TRUE(IcmpView::checked(b));  // a checksum error is not a structural one
    EXPECT_FALSE(csum_ok(csum_partial(b.data(), b.size()))) << i;
  }
  auto bad = test::icmp_echo(icmp_type::kEchoRequest, 7, 8, test::pattern(5), true);
  EXPECT_FALSE(csum_ok(csum_partial(bad.data(), bad.size())));
}

TEST(IcmpView, EchoReplyByIncrementalUpdate) {
  auto b = kEchoRequest;
  auto v = IcmpView::checked(b);
  ASSERT_TRUE(v);
  const uint16_t old_word = load_raw16(b.data());
  v->set_type(icmp_type::kEchoReply);
  const uint16_t c = csum_update16(v->checksum_raw(), old_word, load_raw16(b.data()));
  v->set_checksum_raw(c);
  EXPECT_EQ(raw_as_be(c), 0x553a);  // 0x4d3a + 0x0800
  EXPECT_TRUE(csum_ok(csum_partial(b.data(), b.size())));
  // Same as building the reply from scratch.
  test::Bytes data(kEchoRequest.begin() + 8, kEchoRequest.end());
  const test::Bytes reply = test::icmp_echo(icmp_type::kEchoReply, 1, 33, data);
  ASSERT_EQ(reply.size(), b.size());
  EXPECT_EQ(memcmp(reply.data(), b.data(), b.size()), 0);
}

TEST(IcmpView, SettersRoundTrip) {
  std::array<uint8_t, 12> b{};
  b.fill(0x5a);
  IcmpView v(b.data(), b.size());
  v.set_type(icmp_type::kEchoRequest);
  v.set_code(0);
  v.set_echo(0xbeef, 0x0102);
  v.set_checksum_raw(0);
  v.set_checksum_raw(inet_checksum(b.data(), b.size()));
  const uint8_t head[8] = {0x08, 0x00, b[2], b[3], 0xbe, 0xef, 0x01, 0x02};
  EXPECT_EQ(memcmp(b.data(), head, 8), 0);
  auto back = IcmpView::checked(b);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->echo_id(), 0xbeef);
  EXPECT_EQ(back->echo_seq(), 0x0102);
  EXPECT_EQ(back->payload().size(), 4u);
  EXPECT_TRUE(csum_ok(csum_partial(b.data(), b.size())));
  v.set_rest(0xcafef00d);
  EXPECT_EQ(back->rest(), 0xcafef00du);
  EXPECT_EQ(back->echo_id(), 0xcafe);
  EXPECT_EQ(back->echo_seq(), 0xf00d);
}

TEST(IcmpView, FragNeededCarriesMtuAndOriginalHeader) {
  // Destination unreachable, fragmentation needed, next-hop MTU 1400 (RFC 1191), quoting the original
  // IPv4 header and 8 bytes of its payload.
  const uint8_t quoted[28] = {0x45, 0x00, 0x05, 0xdc, 0x12, 0x34, 0x40, 0x00, 0x40, 0x06,
                              0x00, 0x00, 0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02,
                              0x9c, 0x40, 0x00, 0x50, 0x00, 0x00, 0x00, 0x01};
  test::Bytes m = test::icmp(icmp_type::kDestUnreachable, icmp_unreach::kFragNeeded, 1400,
                             test::Bytes(quoted, quoted + sizeof quoted));
  ASSERT_EQ(m.size(), 36u);
  EXPECT_EQ(m[4], 0x00);
  EXPECT_EQ(m[5], 0x00);
  EXPECT_EQ(m[6], 0x05);
  EXPECT_EQ(m[7], 0x78);
  auto v = IcmpView::checked(m);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->type(), 3);
  EXPECT_EQ(v->code(), 4);
  EXPECT_EQ(v->next_hop_mtu(), 1400);
  EXPECT_TRUE(icmp_is_error(v->type()));
  EXPECT_TRUE(csum_ok(csum_partial(m.data(), m.size())));
  auto inner = Ipv4View::checked(v->payload(), 1500);
  ASSERT_TRUE(inner);
  EXPECT_EQ(inner->proto(), 6);
  EXPECT_EQ(inner->dst(), Ipv4Addr::of(10, 0, 0, 2));
}

TEST(IcmpView, ErrorTypes) {
  EXPECT_TRUE(icmp_is_error(icmp_type::kDestUnreachable));
  EXPECT_TRUE(icmp_is_error(icmp_type::kSourceQuench));
  EXPECT_TRUE(icmp_is_error(icmp_type::kRedirect));
  EXPECT_TRUE(icmp_is_error(icmp_type::kTimeExceeded));
  EXPECT_TRUE(icmp_is_error(icmp_type::kParamProblem));
  EXPECT_FALSE(icmp_is_error(icmp_type::kEchoReply));
  EXPECT_FALSE(icmp_is_error(icmp_type::kEchoRequest));
  EXPECT_FALSE(icmp_is_error(icmp_type::kTimestamp));
  EXPECT_FALSE(icmp_is_error(icmp_type::kTimestampReply));
  int errors = 0;
  for (unsigned t = 0; t < 256; ++t) errors += icmp_is_error(static_cast<uint8_t>(t));
  EXPECT_EQ(errors, 5);
}

// ---- UDP ----

TEST(UdpView, RealDnsQuery) {
  auto b = kDnsQuery;
  auto v = UdpView::checked(b, b.size());
  ASSERT_TRUE(v);
  EXPECT_EQ(v->src_port(), 53123);
  EXPECT_EQ(v->dst_port(), 53);
  EXPECT_EQ(v->length(), 37);
  EXPECT_EQ(raw_as_be(v->checksum_raw()), 0xe293);
  EXPECT_EQ(v->data(), b.data());
  EXPECT_TRUE(
      csum_ok(csum_partial(b.data(), v->length(), pseudo_header_sum(kDnsSrc, kDnsDst, 17, v->length()))));
  EXPECT_TRUE(UdpView::checked(b));
}

TEST(UdpView, KnownOddLengthDatagram) {
  // "hello" from 192.168.1.100:1234 to 8.8.8.8:5678: length 13, checksum 0xcee5.
  uint8_t b[13] = {0x04, 0xd2, 0x16, 0x2e, 0x00, 0x0d, 0xce, 0xe5, 'h', 'e', 'l', 'l', 'o'};
  auto v = UdpView::checked(b);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->src_port(), 1234);
  EXPECT_EQ(v->dst_port(), 5678);
  EXPECT_EQ(v->length(), 13);
  EXPECT_TRUE(csum_ok(csum_partial(b, sizeof b, pseudo_header_sum(kDnsSrc, kDnsDst, 17, 13))));
  const test::Bytes built = test::udp(kDnsSrc, kDnsDst, 1234, 5678, test::Bytes{'h', 'e', 'l', 'l', 'o'});
  ASSERT_EQ(built.size(), sizeof b);
  EXPECT_EQ(memcmp(built.data(), b, sizeof b), 0);
}

TEST(UdpView, MinimumHeaderOnly) {
  uint8_t b[8] = {0x00, 0x44, 0x00, 0x43, 0x00, 0x08, 0x00, 0x00};  // 68 -> 67, empty, no checksum
  auto v = UdpView::checked(b);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->src_port(), 68);
  EXPECT_EQ(v->dst_port(), 67);
  EXPECT_EQ(v->length(), 8);
  EXPECT_EQ(v->checksum_raw(), 0);
}

TEST(UdpView, Truncated) {
  auto b = kDnsQuery;
  for (size_t n = 0; n < UdpView::kHeaderLen; ++n) {
    auto v = UdpView::checked(std::span<uint8_t>(b.data(), n), b.size());
    EXPECT_FALSE(v) << n;
    EXPECT_EQ(v.err, WireError::Truncated) << n;
  }
  // The IP header announces less than a UDP header.
  for (size_t ip_len = 0; ip_len < UdpView::kHeaderLen; ++ip_len) {
    EXPECT_EQ(UdpView::checked(b, ip_len).err, WireError::Truncated) << ip_len;
  }
  // Only the header contiguous, the rest chained: fine.
  EXPECT_TRUE(UdpView::checked(std::span<uint8_t>(b.data(), 8), b.size()));
}

TEST(UdpView, BadLengthBelowHeader) {
  for (uint16_t len : {0, 1, 7}) {
    auto b = kDnsQuery;
    store_be16(b.data() + 4, len);
    auto v = UdpView::checked(b, b.size());
    EXPECT_FALSE(v) << len;
    EXPECT_EQ(v.err, WireError::BadTotalLen) << len;
  }
}

TEST(UdpView, BadLengthPastIpPayload) {
  auto b = kDnsQuery;
  // One byte more than the IP payload.
  EXPECT_EQ(UdpView::checked(b, 36).err, WireError::BadTotalLen);
  store_be16(b.data() + 4, 38);
  EXPECT_EQ(UdpView::checked(b, b.size()).err, WireError::BadTotalLen);
  store_be16(b.data() + 4, 0xffff);
  EXPECT_EQ(UdpView::checked(b, b.size()).err, WireError::BadTotalLen);
  // Shorter than the IP payload (trailing bytes after the datagram) is allowed: UDP length rules.
  store_be16(b.data() + 4, 20);
  auto v = UdpView::checked(b, b.size());
  ASSERT_TRUE(v);
  EXPECT_EQ(v->length(), 20);
}

TEST(UdpView, SettersRoundTrip) {
  std::array<uint8_t, 13> b{};
  UdpView v(b.data(), b.size());
  v.set_src_port(1234);
  v.set_dst_port(5678);
  v.set_length(13);
  v.set_checksum_raw(0);
  memcpy(b.data() + 8, "hello", 5);
  v.set_checksum_raw(
      csum_finish(csum_partial(b.data(), b.size(), pseudo_header_sum(kDnsSrc, kDnsDst, 17, 13))));
  const uint8_t expect[13] = {0x04, 0xd2, 0x16, 0x2e, 0x00, 0x0d, 0xce, 0xe5, 'h', 'e', 'l', 'l', 'o'};
  EXPECT_EQ(memcmp(b.data(), expect, sizeof expect), 0);
  auto back = UdpView::checked(b);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->src_port(), 1234);
  EXPECT_EQ(back->dst_port(), 5678);
  EXPECT_EQ(back->length(), 13);
}

TEST(UdpView, InsideRealIpv4Datagram) {
  // The whole datagram: IPv4 header built around the DNS query, then parsed layer by layer.
  const test::Bytes payload(kDnsQuery.begin() + 8, kDnsQuery.end());
  const test::Bytes dgram = test::udp(kDnsSrc, kDnsDst, 53123, 53, payload);
  ASSERT_EQ(dgram.size(), kDnsQuery.size());
  EXPECT_EQ(memcmp(dgram.data(), kDnsQuery.data(), dgram.size()), 0);
  test::Bytes ip = test::ipv4({.src = kDnsSrc, .dst = kDnsDst, .proto = 17}, dgram);
  auto iv = Ipv4View::checked(ip);
  ASSERT_TRUE(iv);
  const size_t l4_len = iv->total_len() - iv->header_len();
  auto uv = UdpView::checked(std::span<uint8_t>(ip.data() + iv->header_len(), l4_len), l4_len);
  ASSERT_TRUE(uv);
  EXPECT_EQ(uv->dst_port(), 53);
  EXPECT_TRUE(csum_ok(csum_partial(uv->data(), uv->length(),
                                   pseudo_header_sum(iv->src(), iv->dst(), iv->proto(), uv->length()))));
}
