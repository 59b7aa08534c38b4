#include <gtest/gtest.h>

#include "stack_harness.hh"

using namespace skiff;
using namespace skiff::test;

TEST(Ethernet, RuntFramesAreDropped) {
  StackHarness h;
  for (size_t n : {0u, 1u, 6u, 13u}) h.inject(Bytes(n, 0xab));
  EXPECT_EQ(h.drops(Drop::EthRunt), 4u);
  EXPECT_TRUE(h.sent().empty());
}

TEST(Ethernet, HeaderOnlyFrameOfAKnownTypeIsTruncatedAtTheNextLayer) {
  StackHarness h;
  h.inject(eth(StackHarness::kOurMac, StackHarness::kPeerMac, 0x0800, {}, false));
  h.inject(eth(StackHarness::kOurMac, StackHarness::kPeerMac, 0x0806, {}, false));
  EXPECT_EQ(h.drops(Drop::Ipv4Truncated), 1u);
  EXPECT_EQ(h.drops(Drop::ArpTruncated), 1u);
}

TEST(Ethernet, FramesForOthersAndUnknownTypesAreDropped) {
  StackHarness h;
  const MacAddr other{{0x02, 9, 9, 9, 9, 9}};
  h.inject(eth(other, StackHarness::kPeerMac, 0x0800, pattern(40)));
  h.inject(eth(MacAddr{{0x33, 0x33, 0, 0, 0, 1}}, StackHarness::kPeerMac, 0x0800, pattern(40)));  // IPv6 group
  // 01-00-5E with the 24th bit set is no IPv4 group's address (RFC 1112 §6.4 maps into the lower half).
  h.inject(eth(MacAddr{{0x01, 0x00, 0x5e, 0x80, 0, 1}}, StackHarness::kPeerMac, 0x0800, pattern(40)));
  h.inject(eth(StackHarness::kOurMac, StackHarness::kPeerMac, 0x86dd, pattern(40)));                   // IPv6
  h.inject(eth(StackHarness::kOurMac, StackHarness::kPeerMac, 0x8100, pattern(40)));                   // VLAN
  EXPECT_EQ(h.drops(Drop::EthNotForUs), 3u);
  EXPECT_EQ(h.drops(Drop::EthUnknownType), 2u);
}

TEST(Ethernet, MulticastOrOwnSourceIsInvalid) {
  StackHarness h;
  h.inject(eth(StackHarness::kOurMac, MacAddr::broadcast(), 0x0800, pattern(40)));
  h.inject(eth(StackHarness::kOurMac, StackHarness::kOurMac, 0x0800, pattern(40)));
  EXPECT_EQ(h.drops(Drop::EthSrcInvalid), 2u);
}

TEST(Ethernet, TransmitBatchKeepsWhatTheDeviceRefusesForTheNextFlush) {
  StackHarness h;
  h.learn_peer();
  h.dev().tx_room = 0;  // the device is momentarily full
  const Bytes data = pattern(8);
  for (int i = 0; i < 10; ++i) ASSERT_EQ(icmp_send_echo(h.shard(), StackHarness::kPeerIp, 1, i, data.data(), 8), 0);
  h.shard().flush();
  EXPECT_TRUE(h.dev().tx.empty());
  EXPECT_EQ(h.drops(Drop::TxFull), 0u);
  h.dev().tx_room = UINT16_MAX;
  EXPECT_EQ(h.sent().size(), 10u);  // nothing lost
}

TEST(Ethernet, TransmitBatchOverflowIsCountedNotLeaked) {
  StackHarness h;
  h.learn_peer();
  h.dev().tx_room = 0;
  const Bytes data = pattern(8);
  for (int i = 0; i < kTxBatch + 5; ++i) icmp_send_echo(h.shard(), StackHarness::kPeerIp, 1, i, data.data(), 8);
  EXPECT_EQ(h.drops(Drop::TxFull), 5u);
  h.dev().tx_room = UINT16_MAX;
  EXPECT_EQ(h.sent().size(), static_cast<size_t>(kTxBatch));
}

TEST(Ethernet, FrameTheDeviceRefusesForOverASecondIsDroppedToUnblockTheQueue) {
  StackHarness h;
  h.learn_peer();
  h.dev().tx_room = 0;  // the device takes nothing (a PMD that stops every burst at a frame it refuses)
  const Bytes data = pattern(8);
  for (int i = 0; i < 3; ++i) ASSERT_EQ(icmp_send_echo(h.shard(), StackHarness::kPeerIp, 1, i, data.data(), 8), 0);
  h.shard().flush();
  h.advance(std::chrono::milliseconds(900));
  h.shard().flush();
  EXPECT_EQ(h.drops(Drop::TxStalled), 0u);  // within a second: only momentarily full
  h.advance(std::chrono::milliseconds(200));
  h.shard().flush();
  EXPECT_EQ(h.drops(Drop::TxStalled), 1u);  // the first frame goes; the others wait on
  h.shard().flush();
  EXPECT_EQ(h.drops(Drop::TxStalled), 1u);  // one per second of refusal, not one per flush
  h.dev().tx_room = UINT16_MAX;
  const auto out = h.sent();
  ASSERT_EQ(out.size(), 2u);
  auto ip = parse_ip(out[0]);
  ASSERT_TRUE(ip);
  EXPECT_EQ(wire::load_be16(ip->payload.data() + 6), 1u);  // echo sequence 1: sequence 0 was dropped
  h.dev().tx_room = 0;
  ASSERT_EQ(icmp_send_echo(h.shard(), StackHarness::kPeerIp, 1, 9, data.data(), 8), 0);
  h.shard().flush();
  h.advance(std::chrono::milliseconds(900));
  h.shard().flush();
  EXPECT_EQ(h.drops(Drop::TxStalled), 1u);  // the device took frames since: a new stall starts its own second
  h.dev().tx_room = UINT16_MAX;
  EXPECT_EQ(h.sent().size(), 1u);
}
