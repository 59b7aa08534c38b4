#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <ostream>
#include <random>
#include <span>

#include "pkt_builder.hh"
#include "wire/ipv4.hh"

// Readable failure messages: print a WireError by name (identical inline definition in each test file).
namespace skiff::wire {
inline void PrintTo(WireError e, std::ostream* os) {
  *os << to_string(e);
}
}  // namespace skiff::wire

using namespace skiff;
using namespace skiff::wire;

namespace {

// A real ping (Windows-style, 32 data bytes): IPv4 header of 192.168.1.100 -> 8.8.8.8, ICMP echo request.
constexpr std::array<uint8_t, 60> kEchoDatagram = {
    0x45, 0x00, 0x00, 0x3c, 0x1c, 0x46, 0x00, 0x00, 0x80, 0x01, 0x4c, 0x5f, 0xc0, 0xa8,
    0x01, 0x64, 0x08, 0x08, 0x08, 0x08,  // IPv4 header (checksum 0x4c5f)
    0x08, 0x00, 0x4d, 0x3a, 0x00, 0x01, 0x00, 0x21, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66,
    0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f, 0x70, 0x71, 0x72, 0x73, 0x74,
    0x75, 0x76, 0x77, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69,  // ICMP echo request
};

// The classic example header (UDP, 192.168.0.1 -> 192.168.0.199, total length 115), checksum 0xb861.
constexpr std::array<uint8_t, 20> kUdpHeader = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                                                0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};

// An IGMP report with the Router Alert option (RFC 2113): IHL 6, TTL 1, 192.168.1.100 -> 224.0.0.22.
constexpr std::array<uint8_t, 32> kRouterAlertDatagram = {
    0x46, 0x00, 0x00, 0x20, 0x00, 0x00, 0x40, 0x00, 0x01, 0x02, 0x42, 0xb5,
    0xc0, 0xa8, 0x01, 0x64, 0xe0, 0x00, 0x00, 0x16, 0x94, 0x04, 0x00, 0x00,  // header + option
    0x22, 0x00, 0xf9, 0x02, 0x00, 0x00, 0x00, 0x01,  // IGMPv3 report head (payload, not checked here)
};

// A middle fragment: total length 1500, MF set, offset 185 * 8 = 1480, 10.0.0.1 -> 10.0.0.2, UDP.
constexpr std::array<uint8_t, 20> kFragHeader = {0x45, 0x00, 0x05, 0xdc, 0xab, 0xcd, 0x20, 0xb9, 0x40, 0x11,
                                                 0x94, 0x88, 0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02};

WireError err_of(std::span<uint8_t> b, size_t frame_len) {
  return Ipv4View::checked(b, frame_len).err;
}
WireError err_of(std::span<uint8_t> b) {
  return Ipv4View::checked(b).err;
}

}  // namespace

TEST(Ipv4View, RealEchoDatagramAccessors) {
  auto b = kEchoDatagram;
  auto v = Ipv4View::checked(b);
  ASSERT_TRUE(v);
  EXPECT_EQ(v.err, WireError::Ok);
  EXPECT_EQ(v->version(), 4);
  EXPECT_EQ(v->header_len(), 20u);
  EXPECT_EQ(v->tos(), 0);
  EXPECT_EQ(v->total_len(), 60);
  EXPECT_EQ(v->ident(), 0x1c46);
  EXPECT_EQ(v->flags_frag(), 0);
  EXPECT_FALSE(v->dont_frag());
  EXPECT_FALSE(v->more_frags());
  EXPECT_EQ(v->frag_offset(), 0u);
  EXPECT_FALSE(v->is_fragment());
  EXPECT_EQ(v->ttl(), 128);
  EXPECT_EQ(v->proto(), static_cast<uint8_t>(IpProto::Icmp));
  EXPECT_EQ(v->checksum_raw(), load_raw16(b.data() + 10));
  EXPECT_EQ(v->src(), Ipv4Addr::of(192, 168, 1, 100));
  EXPECT_EQ(v->dst(), Ipv4Addr::of(8, 8, 8, 8));
  EXPECT_TRUE(v->options().empty());
  EXPECT_TRUE(v->checksum_ok());
  EXPECT_EQ(v->data(), b.data());
  EXPECT_EQ(v->buffer_len(), 60u);
}

TEST(Ipv4View, KnownHeaderWithLongerFrame) {
  // Only the 20 header bytes are contiguous; the frame carries the whole 115-byte datagram.
  auto b = kUdpHeader;
  auto v = Ipv4View::checked(b, 115);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->total_len(), 115);
  EXPECT_EQ(v->proto(), static_cast<uint8_t>(IpProto::Udp));
  EXPECT_TRUE(v->dont_frag());
  EXPECT_FALSE(v->more_frags());
  EXPECT_FALSE(v->is_fragment());  // DF alone is not a fragment
  EXPECT_EQ(v->ttl(), 64);
  EXPECT_EQ(v->src(), Ipv4Addr::of(192, 168, 0, 1));
  EXPECT_EQ(v->dst(), Ipv4Addr::of(192, 168, 0, 199));
  EXPECT_TRUE(v->checksum_ok());
  uint8_t c[2];
  const uint16_t raw = v->checksum_raw();
  memcpy(c, &raw, 2);
  EXPECT_EQ(c[0], 0xb8);
  EXPECT_EQ(c[1], 0x61);
  // One byte more than the frame has is too long.
  EXPECT_EQ(err_of(b, 114), WireError::BadTotalLen);
  EXPECT_EQ(err_of(b), WireError::BadTotalLen);
}

TEST(Ipv4View, OptionsSpan) {
  auto b = kRouterAlertDatagram;
  auto v = Ipv4View::checked(b);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->header_len(), 24u);
  EXPECT_EQ(v->total_len(), 32);
  EXPECT_EQ(v->ttl(), 1);
  EXPECT_EQ(v->proto(), 2);
  EXPECT_TRUE(v->dst().is_multicast());
  ASSERT_EQ(v->options().size(), 4u);
  EXPECT_EQ(v->options().data(), b.data() + 20);
  EXPECT_EQ(v->options()[0], 0x94);
  EXPECT_EQ(v->options()[1], 0x04);
  EXPECT_TRUE(v->checksum_ok());  // the checksum covers the options
  b[22] = 0x01;                   // corrupt an option byte
  EXPECT_FALSE(Ipv4View::checked(b)->checksum_ok());
}

TEST(Ipv4View, MaximumHeaderLength) {
  auto d = test::ipv4({.src = Ipv4Addr::of(10, 0, 0, 1),
                       .dst = Ipv4Addr::of(10, 0, 0, 2),
                       .options = test::Bytes(40, 0x01)},  // 40 NOPs: IHL 15
                      test::pattern(4));
  ASSERT_EQ(d.size(), 64u);
  auto v = Ipv4View::checked(d);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->header_len(), Ipv4View::kMaxHeaderLen);
  EXPECT_EQ(v->options().size(), 40u);
  EXPECT_TRUE(v->checksum_ok());
  // The 60-byte header must be contiguous: 59 bytes of it is not enough.
  EXPECT_EQ(err_of(std::span<uint8_t>(d.data(), 59), d.size()), WireError::BadHeaderLen);
  EXPECT_TRUE(Ipv4View::checked(std::span<uint8_t>(d.data(), 60), d.size()));
}

TEST(Ipv4View, FragmentAccessors) {
  auto b = kFragHeader;
  auto v = Ipv4View::checked(b, 1500);
  ASSERT_TRUE(v);
  EXPECT_TRUE(v->checksum_ok());
  EXPECT_EQ(v->flags_frag(), 0x20b9);
  EXPECT_FALSE(v->dont_frag());
  EXPECT_TRUE(v->more_frags());
  EXPECT_EQ(v->frag_offset(), 1480u);
  EXPECT_TRUE(v->is_fragment());
  EXPECT_EQ(v->ident(), 0xabcd);

  // Last fragment: offset only.
  b[6] = 0x00;
  EXPECT_FALSE(v->more_frags());
  EXPECT_TRUE(v->is_fragment());
  EXPECT_EQ(v->frag_offset(), 1480u);
  // First fragment: MF only.
  store_be16(b.data() + 6, Ipv4View::kFlagMF);
  EXPECT_TRUE(v->is_fragment());
  EXPECT_EQ(v->frag_offset(), 0u);
  // Largest offset, with DF and the reserved bit set: the flags do not leak into the offset.
  store_be16(b.data() + 6, 0xffff);
  EXPECT_TRUE(v->dont_frag());
  EXPECT_TRUE(v->more_frags());
  EXPECT_EQ(v->frag_offset(), size_t{0x1fff} * 8);
  // DF only.
  store_be16(b.data() + 6, Ipv4View::kFlagDF);
  EXPECT_TRUE(v->dont_frag());
  EXPECT_FALSE(v->is_fragment());
  EXPECT_EQ(v->frag_offset(), 0u);
  // The fragments the harness cuts agree.
  const auto frags = test::fragments({.src = Ipv4Addr::of(1, 1, 1, 1), .dst = Ipv4Addr::of(2, 2, 2, 2)},
                                     test::pattern(100), 40);
  ASSERT_EQ(frags.size(), 3u);
  for (size_t i = 0; i < frags.size(); ++i) {
    test::Bytes f = frags[i];
    auto fv = Ipv4View::checked(f);
    ASSERT_TRUE(fv) << i;
    EXPECT_TRUE(fv->is_fragment());
    EXPECT_EQ(fv->frag_offset(), 40 * i);
    EXPECT_EQ(fv->more_frags(), i + 1 < frags.size());
    EXPECT_TRUE(fv->checksum_ok());
  }
}

TEST(Ipv4View, TruncatedBelowMinimumHeader) {
  auto b = kEchoDatagram;
  for (size_t n = 0; n < Ipv4View::kMinHeaderLen; ++n) {
    auto v = Ipv4View::checked(std::span<uint8_t>(b.data(), n), b.size());
    EXPECT_FALSE(v) << n;
    EXPECT_EQ(v.err, WireError::Truncated) << n;
  }
  // Exactly the header, the frame carrying the rest elsewhere.
  EXPECT_TRUE(Ipv4View::checked(std::span<uint8_t>(b.data(), 20), b.size()));
  // Truncated wins over a malformed version when there are not even 20 bytes.
  b[0] = 0x65;
  EXPECT_EQ(err_of(std::span<uint8_t>(b.data(), 19), b.size()), WireError::Truncated);
}

TEST(Ipv4View, BadVersion) {
  for (uint8_t version : {0, 1, 5, 6, 15}) {
    auto b = kEchoDatagram;
    b[0] = static_cast<uint8_t>((version << 4) | 5);
    auto v = Ipv4View::checked(b);
    EXPECT_FALSE(v) << int(version);
    EXPECT_EQ(v.err, WireError::BadVersion) << int(version);
  }
  // A real IPv6 header start (version 6, traffic class 0, flow label 0, payload 0, next header 58, hop 255).
  uint8_t v6[40] = {0x60, 0x00, 0x00, 0x00, 0x00, 0x00, 0x3a, 0xff};
  EXPECT_EQ(err_of(v6), WireError::BadVersion);
  // Version is judged before the header length.
  auto b = kEchoDatagram;
  b[0] = 0x62;
  EXPECT_EQ(err_of(b), WireError::BadVersion);
  // And via the builder's override.
  auto d = test::ipv4({.src = Ipv4Addr::of(1, 2, 3, 4), .dst = Ipv4Addr::of(5, 6, 7, 8), .version = 6}, {});
  EXPECT_EQ(err_of(d), WireError::BadVersion);
}

TEST(Ipv4View, BadHeaderLenBelowFive) {
  for (uint8_t ihl = 0; ihl < 5; ++ihl) {
    auto b = kEchoDatagram;
    b[0] = static_cast<uint8_t>(0x40 | ihl);
    auto v = Ipv4View::checked(b);
    EXPECT_FALSE(v) << int(ihl);
    EXPECT_EQ(v.err, WireError::BadHeaderLen) << int(ihl);
  }
}

TEST(Ipv4View, BadHeaderLenPastBuffer) {
  // IHL 6 claims 24 bytes, only the 20-byte header is there.
  auto b = kUdpHeader;
  b[0] = 0x46;
  EXPECT_EQ(err_of(b, 115), WireError::BadHeaderLen);
  // IHL 15 (60 bytes) in a 32-byte datagram: past the buffer.
  auto r = kRouterAlertDatagram;
  r[0] = 0x4f;
  EXPECT_EQ(err_of(r), WireError::BadHeaderLen);
  // The router-alert header cut one byte short of its options.
  auto r2 = kRouterAlertDatagram;
  EXPECT_EQ(err_of(std::span<uint8_t>(r2.data(), 23), r2.size()), WireError::BadHeaderLen);
  EXPECT_TRUE(Ipv4View::checked(std::span<uint8_t>(r2.data(), 24), r2.size()));
  // The builder's IHL override.
  auto d = test::ipv4({.src = Ipv4Addr::of(1, 2, 3, 4), .dst = Ipv4Addr::of(5, 6, 7, 8), .ihl = 4}, {});
  EXPECT_EQ(err_of(d), WireError::BadHeaderLen);
}

TEST(Ipv4View, BadTotalLenBelowHeader) {
  for (uint16_t tl : {0, 1, 19}) {
    auto b = kEchoDatagram;
    store_be16(b.data() + 2, tl);
    auto v = Ipv4View::checked(b);
    EXPECT_FALSE(v) << tl;
    EXPECT_EQ(v.err, WireError::BadTotalLen) << tl;
  }
  // Exactly the header length is fine (an empty datagram).
  auto b = kEchoDatagram;
  store_be16(b.data() + 2, 20);
  EXPECT_TRUE(Ipv4View::checked(b));
  // With options, total length must cover them too.
  auto r = kRouterAlertDatagram;
  store_be16(r.data() + 2, 23);
  EXPECT_EQ(err_of(r), WireError::BadTotalLen);
  store_be16(r.data() + 2, 24);
  EXPECT_TRUE(Ipv4View::checked(r));
}

TEST(Ipv4View, BadTotalLenPastFrame) {
  auto b = kEchoDatagram;
  // Total length 60 in a frame that carries 59 bytes of it.
  EXPECT_EQ(err_of(std::span<uint8_t>(b.data(), 59)), WireError::BadTotalLen);
  EXPECT_EQ(err_of(b, 59), WireError::BadTotalLen);
  // One more than the frame.
  store_be16(b.data() + 2, 61);
  EXPECT_EQ(err_of(b), WireError::BadTotalLen);
  store_be16(b.data() + 2, 0xffff);
  EXPECT_EQ(err_of(b), WireError::BadTotalLen);
  // A frame longer than the datagram (Ethernet padding) is fine; the total length rules.
  store_be16(b.data() + 2, 46);
  auto v = Ipv4View::checked(b);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->total_len(), 46);
  // The builder's total-length override.
  auto d = test::ipv4({.src = Ipv4Addr::of(1, 2, 3, 4), .dst = Ipv4Addr::of(5, 6, 7, 8), .total_len = 100},
                      test::pattern(10));
  EXPECT_EQ(err_of(d), WireError::BadTotalLen);
}

TEST(Ipv4View, ChecksumOkDetectsCorruption) {
  auto b = kEchoDatagram;
  ASSERT_TRUE(Ipv4View::checked(b)->checksum_ok());
  // Corrupting any header byte (the checksum included) breaks it; payload bytes do not matter.
  for (size_t i = 0; i < 20; ++i) {
    auto c = kEchoDatagram;
    c[i] ^= 0x10;
    auto v = Ipv4View::checked(c);
    if (!v) continue;  // the corruption made it malformed
    EXPECT_FALSE(v->checksum_ok()) << i;
  }
  auto p = kEchoDatagram;
  p[40] ^= 0xff;
  EXPECT_TRUE(Ipv4View::checked(p)->checksum_ok());
  auto bad =
      test::ipv4({.src = Ipv4Addr::of(10, 0, 0, 1), .dst = Ipv4Addr::of(10, 0, 0, 2), .bad_checksum = true},
                 test::pattern(8));
  auto v = Ipv4View::checked(bad);
  ASSERT_TRUE(v);  // a bad checksum is not a structural error
  EXPECT_FALSE(v->checksum_ok());
}

TEST(Ipv4View, BuildReproducesRealHeader) {
  std::array<uint8_t, 24> b{};
  b.fill(0xaa);
  Ipv4View v(b.data(), 20);
  v.build(Ipv4Addr::of(192, 168, 1, 100), Ipv4Addr::of(8, 8, 8, 8), static_cast<uint8_t>(IpProto::Icmp), 60,
          0x1c46, 128, 0, 0);
  EXPECT_EQ(memcmp(b.data(), kEchoDatagram.data(), 20), 0);  // checksum included
  for (size_t i = 20; i < b.size(); ++i) EXPECT_EQ(b[i], 0xaa) << i;
  auto back = Ipv4View::checked(std::span<uint8_t>(b.data(), 20), 60);
  ASSERT_TRUE(back);
  EXPECT_TRUE(back->checksum_ok());
}

TEST(Ipv4View, BuildChecksumMatchesTheSumOfTheBytes) {
  // build() sums the fields arithmetically; it must equal the checksum computed over the written bytes for
  // any values (carries from large addresses and lengths included).
  std::mt19937 rng(7);
  std::array<uint8_t, 20> b{};
  for (int i = 0; i < 20000; ++i) {
    Ipv4View v(b.data(), b.size());
    const auto r32 = [&] { return static_cast<uint32_t>(rng()); };
    const auto r16 = [&] { return static_cast<uint16_t>(rng()); };
    v.build(Ipv4Addr(i % 3 ? r32() : 0xffffffffu), Ipv4Addr(i % 5 ? r32() : 0xffffffffu),
            static_cast<uint8_t>(rng()), i % 7 ? r16() : uint16_t{0xffff}, r16(), static_cast<uint8_t>(rng()),
            static_cast<uint8_t>(rng()), r16());
    const uint16_t built = v.checksum_raw();
    v.fill_checksum();
    ASSERT_EQ(built, v.checksum_raw()) << i;
    ASSERT_TRUE(v.checksum_ok()) << i;
  }
}

TEST(Ipv4View, SettersRoundTrip) {
  std::array<uint8_t, 28> b{};
  Ipv4View v(b.data(), b.size());
  v.build(Ipv4Addr::of(10, 0, 0, 1), Ipv4Addr::of(10, 0, 0, 2), 17, 28, 1, 64, 0, Ipv4View::kFlagDF);
  v.set_version_ihl(24);
  v.set_tos(0xb8);
  v.set_total_len(28);
  v.set_ident(0xfeed);
  v.set_flags_frag(Ipv4View::kFlagMF | 3);
  v.set_ttl(255);
  v.set_proto(static_cast<uint8_t>(IpProto::Tcp));
  v.set_src(Ipv4Addr::of(172, 16, 0, 1));
  v.set_dst(Ipv4Addr::of(172, 16, 0, 2));
  b[20] = 0x01;  // NOP options
  b[21] = 0x01;
  b[22] = 0x01;
  b[23] = 0x00;
  v.fill_checksum();
  auto back = Ipv4View::checked(b);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->version(), 4);
  EXPECT_EQ(back->header_len(), 24u);
  EXPECT_EQ(back->tos(), 0xb8);
  EXPECT_EQ(back->total_len(), 28);
  EXPECT_EQ(back->ident(), 0xfeed);
  EXPECT_TRUE(back->more_frags());
  EXPECT_FALSE(back->dont_frag());
  EXPECT_EQ(back->frag_offset(), 24u);
  EXPECT_EQ(back->ttl(), 255);
  EXPECT_EQ(back->proto(), 6);
  EXPECT_EQ(back->src(), Ipv4Addr::of(172, 16, 0, 1));
  EXPECT_EQ(back->dst(), Ipv4Addr::of(172, 16, 0, 2));
  EXPECT_EQ(back->options().size(), 4u);
  EXPECT_TRUE(back->checksum_ok());
  // The exact bytes of the fixed part.
  const uint8_t expect[8] = {0x46, 0xb8, 0x00, 0x1c, 0xfe, 0xed, 0x20, 0x03};
  EXPECT_EQ(memcmp(b.data(), expect, sizeof expect), 0);
  // set_checksum_raw writes the raw value as is.
  v.set_checksum_raw(load_raw16(kEchoDatagram.data() + 10));
  EXPECT_EQ(b[10], 0x4c);
  EXPECT_EQ(b[11], 0x5f);
}

TEST(Ipv4View, HarnessBuilderRoundTrip) {
  auto d = test::ipv4({.src = Ipv4Addr::of(192, 0, 2, 1),
                       .dst = Ipv4Addr::of(198, 51, 100, 2),
                       .proto = 17,
                       .ttl = 3,
                       .tos = 0x10,
                       .id = 0x4242,
                       .flags_frag = Ipv4View::kFlagDF},
                      test::pattern(33));
  auto v = Ipv4View::checked(d);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->total_len(), 53);
  EXPECT_EQ(v->ttl(), 3);
  EXPECT_EQ(v->tos(), 0x10);
  EXPECT_EQ(v->ident(), 0x4242);
  EXPECT_TRUE(v->dont_frag());
  EXPECT_EQ(v->proto(), 17);
  EXPECT_TRUE(v->checksum_ok());
}
