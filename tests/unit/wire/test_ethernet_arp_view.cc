#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <ostream>
#include <span>

#include "pkt_builder.hh"
#include "wire/arp.hh"
#include "wire/ethernet.hh"

// Readable failure messages: print a WireError by name (identical inline definition in each test file).
namespace skiff::wire {
inline void PrintTo(WireError e, std::ostream* os) {
  *os << to_string(e);
}
}  // namespace skiff::wire

using namespace skiff;
using namespace skiff::wire;

namespace {

// A real-looking broadcast ARP request on the wire: who-has 192.168.1.1 tell 192.168.1.10, padded to the
// 60-byte Ethernet minimum.
constexpr std::array<uint8_t, 60> kArpRequestFrame = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff,  // dst: broadcast
    0x00, 0x0c, 0x29, 0x3e, 0x5b, 0x7a,  // src
    0x08, 0x06,                          // EtherType ARP
    0x00, 0x01,                          // htype Ethernet
    0x08, 0x00,                          // ptype IPv4
    0x06, 0x04,                          // hlen, plen
    0x00, 0x01,                          // op request
    0x00, 0x0c, 0x29, 0x3e, 0x5b, 0x7a,  // sha
    0xc0, 0xa8, 0x01, 0x0a,              // spa 192.168.1.10
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // tha (unknown)
    0xc0, 0xa8, 0x01, 0x01,              // tpa 192.168.1.1
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // padding
};

// The unicast reply: 192.168.1.1 is-at 3c:52:82:11:22:33 (28 bytes, no Ethernet header).
constexpr std::array<uint8_t, 28> kArpReply = {
    0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02,  // Ethernet/IPv4, op reply
    0x3c, 0x52, 0x82, 0x11, 0x22, 0x33,              // sha
    0xc0, 0xa8, 0x01, 0x01,                          // spa 192.168.1.1
    0x00, 0x0c, 0x29, 0x3e, 0x5b, 0x7a,              // tha
    0xc0, 0xa8, 0x01, 0x0a,                          // tpa 192.168.1.10
};

const MacAddr kHostMac{{0x00, 0x0c, 0x29, 0x3e, 0x5b, 0x7a}};
const MacAddr kRouterMac{{0x3c, 0x52, 0x82, 0x11, 0x22, 0x33}};

}  // namespace

// ---- Ethernet ----

TEST(EthView, RealFrameAccessors) {
  auto f = kArpRequestFrame;
  auto v = EthView::checked(f);
  ASSERT_TRUE(v);
  EXPECT_EQ(v.err, WireError::Ok);
  EXPECT_EQ(v->dst(), MacAddr::broadcast());
  EXPECT_EQ(v->src(), kHostMac);
  EXPECT_EQ(v->ethertype(), static_cast<uint16_t>(EtherType::Arp));
  EXPECT_EQ(v->data(), f.data());
  EXPECT_EQ(v->buffer_len(), 60u);
  ASSERT_EQ(v->payload().size(), 46u);
  EXPECT_EQ(v->payload().data(), f.data() + 14);  // zero-copy
  EXPECT_EQ(v->payload()[0], 0x00);
  EXPECT_EQ(v->payload()[1], 0x01);
}

TEST(EthView, MinimumHeaderOnly) {
  uint8_t b[14] = {0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x86, 0xdd};
  auto v = EthView::checked(b);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->ethertype(), static_cast<uint16_t>(EtherType::Ipv6));
  EXPECT_TRUE(v->payload().empty());
  EXPECT_EQ(v->dst(), (MacAddr{{0x02, 0, 0, 0, 0, 1}}));
  EXPECT_EQ(v->src(), (MacAddr{{0x02, 0, 0, 0, 0, 2}}));
}

TEST(EthView, Truncated) {
  auto f = kArpRequestFrame;
  for (size_t n = 0; n < EthView::kHeaderLen; ++n) {
    auto v = EthView::checked(std::span<uint8_t>(f.data(), n));
    EXPECT_FALSE(v) << n;
    EXPECT_EQ(v.err, WireError::Truncated) << n;
  }
  EXPECT_TRUE(EthView::checked(std::span<uint8_t>(f.data(), 14)));
}

TEST(EthView, VlanTagIsJustAnEtherType) {
  uint8_t b[18] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0,    0,
                   0,    0,    9,    0x81, 0x00, 0x00, 0x64, 0x08, 0x00};
  auto v = EthView::checked(b);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->ethertype(), static_cast<uint16_t>(EtherType::Vlan));
  EXPECT_EQ(v->payload().size(), 4u);
}

TEST(EthView, SettersRoundTrip) {
  std::array<uint8_t, 20> b{};
  b.fill(0xcc);
  auto v = EthView::checked(b);
  ASSERT_TRUE(v);
  v->set_dst(kRouterMac);
  v->set_src(kHostMac);
  v->set_ethertype(EtherType::Ipv4);
  const uint8_t expect[14] = {0x3c, 0x52, 0x82, 0x11, 0x22, 0x33, 0x00,
                              0x0c, 0x29, 0x3e, 0x5b, 0x7a, 0x08, 0x00};
  EXPECT_EQ(memcmp(b.data(), expect, 14), 0);
  for (size_t i = 14; i < b.size(); ++i) EXPECT_EQ(b[i], 0xcc) << i;  // payload untouched
  auto back = EthView::checked(b);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->dst(), kRouterMac);
  EXPECT_EQ(back->src(), kHostMac);
  EXPECT_EQ(back->ethertype(), 0x0800);
}

TEST(EthView, MatchesHarnessBuilder) {
  const test::Bytes payload = test::pattern(10);
  test::Bytes f = test::eth(kRouterMac, kHostMac, 0x0806, payload);
  ASSERT_EQ(f.size(), EthView::kMinFrame);
  auto v = EthView::checked(f);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->dst(), kRouterMac);
  EXPECT_EQ(v->src(), kHostMac);
  EXPECT_EQ(v->ethertype(), 0x0806);
  EXPECT_EQ(memcmp(v->payload().data(), payload.data(), payload.size()), 0);
}

// ---- ARP ----

TEST(ArpView, RealRequestInFrame) {
  auto f = kArpRequestFrame;
  auto eth = EthView::checked(f);
  ASSERT_TRUE(eth);
  auto a = ArpView::checked(eth->payload());  // 46 bytes with the padding: accepted
  ASSERT_TRUE(a);
  EXPECT_EQ(a->htype(), ArpView::kHwEthernet);
  EXPECT_EQ(a->ptype(), ArpView::kProtoIpv4);
  EXPECT_EQ(a->hlen(), 6);
  EXPECT_EQ(a->plen(), 4);
  EXPECT_EQ(a->oper(), static_cast<uint16_t>(ArpOp::Request));
  EXPECT_EQ(a->sha(), kHostMac);
  EXPECT_EQ(a->spa(), Ipv4Addr::of(192, 168, 1, 10));
  EXPECT_TRUE(a->tha().is_zero());
  EXPECT_EQ(a->tpa(), Ipv4Addr::of(192, 168, 1, 1));
  EXPECT_EQ(a->data(), f.data() + 14);
}

TEST(ArpView, RealReplyExactLength) {
  auto b = kArpReply;
  auto a = ArpView::checked(b);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->oper(), static_cast<uint16_t>(ArpOp::Reply));
  EXPECT_EQ(a->sha(), kRouterMac);
  EXPECT_EQ(a->spa(), Ipv4Addr::of(192, 168, 1, 1));
  EXPECT_EQ(a->tha(), kHostMac);
  EXPECT_EQ(a->tpa(), Ipv4Addr::of(192, 168, 1, 10));
}

TEST(ArpView, TruncatedAtEveryLength) {
  auto b = kArpReply;
  for (size_t n = 0; n < ArpView::kLen; ++n) {
    auto a = ArpView::checked(std::span<uint8_t>(b.data(), n));
    EXPECT_FALSE(a) << n;
    EXPECT_EQ(a.err, WireError::Truncated) << n;
  }
  EXPECT_TRUE(ArpView::checked(std::span<uint8_t>(b.data(), ArpView::kLen)));
}

TEST(ArpView, BadHardwareType) {
  for (uint16_t htype : {0, 6, 0x0100, 0xffff}) {  // 6 = IEEE 802; 0x0100 = byte-swapped Ethernet
    auto b = kArpReply;
    store_be16(b.data(), htype);
    auto a = ArpView::checked(b);
    EXPECT_FALSE(a) << htype;
    EXPECT_EQ(a.err, WireError::BadHwType) << htype;
  }
}

TEST(ArpView, BadProtocolType) {
  for (uint16_t ptype : {0x0000, 0x86dd, 0x0008, 0x0806}) {
    auto b = kArpReply;
    store_be16(b.data() + 2, ptype);
    auto a = ArpView::checked(b);
    EXPECT_EQ(a.err, WireError::BadProtoType) << ptype;
  }
}

TEST(ArpView, BadHardwareLength) {
  for (uint8_t hlen : {0, 4, 8, 0xff}) {
    auto b = kArpReply;
    b[4] = hlen;
    EXPECT_EQ(ArpView::checked(b).err, WireError::BadHwLen) << int(hlen);
  }
}

TEST(ArpView, BadProtocolLength) {
  for (uint8_t plen : {0, 6, 16, 0xff}) {
    auto b = kArpReply;
    b[5] = plen;
    EXPECT_EQ(ArpView::checked(b).err, WireError::BadProtoLen) << int(plen);
  }
}

TEST(ArpView, BadOperation) {
  for (uint16_t op : {0, 3, 4, 8, 9, 0x0100, 0x0200, 0xffff}) {  // 3/4 RARP, 8/9 InARP
    auto b = kArpReply;
    store_be16(b.data() + 6, op);
    auto a = ArpView::checked(b);
    EXPECT_FALSE(a) << op;
    EXPECT_EQ(a.err, WireError::BadOp) << op;
  }
}

TEST(ArpView, NonEthernetIpv4FromBuilderRejected) {
  // A well-formed ARP for another hardware/protocol pair (its own layout) is a named error, not Truncated.
  test::Bytes ieee = test::arp(1, kHostMac, Ipv4Addr::of(10, 0, 0, 1), MacAddr::zero(),
                               Ipv4Addr::of(10, 0, 0, 2), 6, 0x0800, 6, 4);
  EXPECT_EQ(ArpView::checked(ieee).err, WireError::BadHwType);
  test::Bytes long_hw = test::arp(1, kHostMac, Ipv4Addr::of(10, 0, 0, 1), MacAddr::zero(),
                                  Ipv4Addr::of(10, 0, 0, 2), 1, 0x0800, 8, 4);
  EXPECT_EQ(ArpView::checked(long_hw).err, WireError::BadHwLen);
  test::Bytes good = test::arp(2, kHostMac, Ipv4Addr::of(10, 0, 0, 1), kRouterMac, Ipv4Addr::of(10, 0, 0, 2));
  auto a = ArpView::checked(good);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->oper(), 2);
  EXPECT_EQ(a->tha(), kRouterMac);
}

TEST(ArpView, BuildProducesTheRealReply) {
  std::array<uint8_t, 32> b{};
  b.fill(0xee);
  ArpView v(b.data(), ArpView::kLen);
  v.build(ArpOp::Reply, kRouterMac, Ipv4Addr::of(192, 168, 1, 1), kHostMac, Ipv4Addr::of(192, 168, 1, 10));
  EXPECT_EQ(memcmp(b.data(), kArpReply.data(), ArpView::kLen), 0);
  for (size_t i = ArpView::kLen; i < b.size(); ++i) EXPECT_EQ(b[i], 0xee) << i;  // wrote exactly kLen bytes
  auto a = ArpView::checked(std::span<uint8_t>(b.data(), ArpView::kLen));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->oper(), 2);
  EXPECT_EQ(a->sha(), kRouterMac);
  EXPECT_EQ(a->spa(), Ipv4Addr::of(192, 168, 1, 1));
  EXPECT_EQ(a->tha(), kHostMac);
  EXPECT_EQ(a->tpa(), Ipv4Addr::of(192, 168, 1, 10));
}

TEST(ArpView, BuildRequestRoundTrip) {
  std::array<uint8_t, ArpView::kLen> b{};
  ArpView(b.data(), b.size())
      .build(ArpOp::Request, kHostMac, Ipv4Addr::of(192, 168, 1, 10), MacAddr::zero(),
             Ipv4Addr::of(192, 168, 1, 1));
  EXPECT_EQ(memcmp(b.data(), kArpRequestFrame.data() + 14, ArpView::kLen), 0);
  auto a = ArpView::checked(b);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->oper(), 1);
}
