// Small datagrams out of large buffers (Shard::condense, Linux's skb_condense / a driver's copybreak). A
// socket's receive queue charges each datagram its buffer's whole size (Linux: truesize). Where the stack's
// buffers are large (a jumbo MTU, an af_packet framesz), a datagram of a few bytes would cost a socket
// 9 KB or 16 KB of its SO_RCVBUF and hold a large receive buffer while it waits; such a stack keeps a second
// pool of small buffers, and datagrams that fit one are copied into one before they are queued.
#include "sock_test_util.hh"

using namespace skiff;
using namespace skiff::test;
using namespace skiff::test::sock;

namespace {

HarnessOptions jumbo(unsigned pool_size = 8191) {
  HarnessOptions o;
  o.cfg.mbuf_data = 9000;
  o.cfg.pool_size = pool_size;
  o.mtu = 9000;
  return o;
}

// Reads every queued datagram; returns them in order.
std::vector<Bytes> read_all(int fd) {
  std::vector<Bytes> out;
  for (;;) {
    Bytes b(65536);
    const ssize_t n = skiff_recv(fd, b.data(), b.size(), MSG_DONTWAIT);
    if (n < 0) break;
    b.resize(static_cast<size_t>(n));
    out.push_back(std::move(b));
  }
  return out;
}

}  // namespace

// 60 datagrams of 100 bytes fit the default SO_RCVBUF (212,992 bytes) only as small buffers (60 x 9,128 is
// 547,680 bytes; 60 x 2,176 is 130,560); a datagram larger than a small buffer keeps its own.
TEST(RxCondense, SmallDatagramsInLargeBuffersAreCopiedIntoSmallOnes) {
  StackHarness h(jumbo());
  ASSERT_NE(h.stack().small_pool(0), nullptr);
  const int fd = bound_udp(7000);
  for (int i = 0; i < 60; ++i) h.inject(udp_frame(h, 5555, 7000, pattern(100, static_cast<uint8_t>(i))));
  h.inject(udp_frame(h, 5555, 7000, pattern(3000, 99)));
  EXPECT_EQ(h.drops(Drop::UdpRcvbufFull), 0u);
  EXPECT_EQ(h.shard().stats.rx_condensed, 60u);
  EXPECT_EQ(h.stack().small_pool(0)->in_use(), 60u);  // the large receive buffers went back
  EXPECT_EQ(h.buffers_in_use(), 1u);                 // the 3,000-byte datagram's
  const std::vector<Bytes> got = read_all(fd);
  ASSERT_EQ(got.size(), 61u);
  for (int i = 0; i < 60; ++i) EXPECT_EQ(got[i], pattern(100, static_cast<uint8_t>(i))) << i;
  EXPECT_EQ(got[60], pattern(3000, 99));
  EXPECT_EQ(h.stack().small_pool(0)->in_use(), 0u);
  skiff_close(fd);
}

// A datagram the full receive buffer refuses is dropped before it is copied: the copies made are exactly the
// datagrams queued.
TEST(RxCondense, DatagramRefusedByAFullReceiveBufferIsNotCopied) {
  StackHarness h(jumbo());
  const int fd = bound_udp(7000);
  const int rcvbuf = 16384;  // doubled by the stack as Linux does: 32,768 bytes, 16 small buffers of 2,176
  ASSERT_EQ(skiff_setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf), 0);
  for (int i = 0; i < 40; ++i) h.inject(udp_frame(h, 5555, 7000, pattern(100, static_cast<uint8_t>(i))));
  const uint64_t refused = h.drops(Drop::UdpRcvbufFull);
  EXPECT_GT(refused, 0u);
  const std::vector<Bytes> got = read_all(fd);
  EXPECT_EQ(got.size() + refused, 40u);
  EXPECT_EQ(h.shard().stats.rx_condensed, got.size());
  EXPECT_EQ(h.stack().small_pool(0)->in_use(), 0u);
  skiff_close(fd);
}

// The stack's default buffers (2 KB) are small already: no second pool, nothing copied.
TEST(RxCondense, DefaultBuffersAreNotCopied) {
  StackHarness h;
  EXPECT_EQ(h.stack().small_pool(0), nullptr);
  const int fd = bound_udp(7000);
  for (int i = 0; i < 10; ++i) h.inject(udp_frame(h, 5555, 7000, pattern(100, static_cast<uint8_t>(i))));
  EXPECT_EQ(h.shard().stats.rx_condensed, 0u);
  EXPECT_EQ(read_all(fd).size(), 10u);
  skiff_close(fd);
}

// Once the small pool is empty, datagrams wait in their large buffers (counted), charged at that size, and
// nothing is lost that the receive buffer can hold.
TEST(RxCondense, WithNoSmallBufferLeftADatagramKeepsItsOwn) {
  StackHarness h(jumbo(1023));  // 511 small buffers
  PktPool& small = *h.stack().small_pool(0);
  std::vector<Pktbuf> held;  // all but 31 taken
  while (small.in_use() < 511 - 31) {
    held.push_back(small.alloc());
    ASSERT_TRUE(held.back());
  }
  const int fd = bound_udp(7000);
  for (int i = 0; i < 40; ++i) h.inject(udp_frame(h, 5555, 7000, pattern(64, static_cast<uint8_t>(i))));
  EXPECT_EQ(h.shard().stats.rx_condensed, 31u);
  EXPECT_EQ(h.shard().stats.rx_condense_short, 9u);
  EXPECT_EQ(h.drops(Drop::UdpRcvbufFull), 0u);  // 31 x 2,176 + 9 x 9,128 = 149,608 bytes
  const std::vector<Bytes> got = read_all(fd);
  ASSERT_EQ(got.size(), 40u);
  for (int i = 0; i < 40; ++i) EXPECT_EQ(got[i], pattern(64, static_cast<uint8_t>(i))) << i;
  skiff_close(fd);
}

// A raw socket's copy of each datagram (IP header included) goes into a small buffer too, as does an entry
// of the IP_RECVERR queue.
TEST(RxCondense, RawCopiesAndErrorQueueEntriesUseSmallBuffers) {
  StackHarness h(jumbo());
  const int raw = skiff_socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK, IPPROTO_UDP);
  ASSERT_GE(raw, 0) << strerror(errno);
  const int fd = bound_udp(7000);
  for (int i = 0; i < 60; ++i) h.inject(udp_frame(h, 5555, 7000, pattern(100, static_cast<uint8_t>(i))));
  EXPECT_EQ(h.drops(Drop::RawRcvbufFull), 0u);
  EXPECT_EQ(h.stack().small_pool(0)->in_use(), 120u);  // 60 for the UDP socket, 60 for the raw one
  const std::vector<Bytes> copies = read_all(raw);
  ASSERT_EQ(copies.size(), 60u);
  for (int i = 0; i < 60; ++i) {
    ASSERT_EQ(copies[i].size(), 20u + 8u + 100u);
    EXPECT_EQ(Bytes(copies[i].begin() + 28, copies[i].end()), pattern(100, static_cast<uint8_t>(i))) << i;
  }
  EXPECT_EQ(read_all(fd).size(), 60u);
  skiff_close(raw);
  // An ICMP port unreachable for a datagram the socket sent: one error queue entry, in a small buffer.
  const int on = 1;
  ASSERT_EQ(skiff_setsockopt(fd, IPPROTO_IP, IP_RECVERR, &on, sizeof on), 0);
  h.learn_peer();
  const sockaddr_in to = sin(kPeer, 9);
  ASSERT_EQ(skiff_sendto(fd, "x", 1, 0, sa(to), sizeof to), 1);
  const std::vector<Bytes> sent = h.sent();
  ASSERT_EQ(sent.size(), 1u);
  h.inject(icmp_error_about(h, sent[0], wire::icmp_type::kDestUnreachable, wire::icmp_unreach::kPort, true));
  EXPECT_EQ(h.stack().small_pool(0)->in_use(), 1u);
  EXPECT_EQ(read_error(fd).rc, 1);
  EXPECT_EQ(h.stack().small_pool(0)->in_use(), 0u);
  skiff_close(fd);
}
