// UDP sockets end to end through the shard: datagrams in as frames, out as frames.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/ioctl.h>

#include "api/skiff.h"
#include "stack_harness.hh"
#include "wire/icmp.hh"
#include "wire/udp.hh"

using namespace skiff;
using namespace skiff::test;

namespace {

const Ipv4Addr kOur = StackHarness::kOurIp;
const Ipv4Addr kPeer = StackHarness::kPeerIp;

sockaddr_in sin(Ipv4Addr a, uint16_t port) {
  sockaddr_in s{};
  s.sin_family = AF_INET;
  s.sin_port = htons(port);
  s.sin_addr.s_addr = htonl(a.host());
  return s;
}

const sockaddr* sa(const sockaddr_in& s) { return reinterpret_cast<const sockaddr*>(&s); }

Bytes udp_frame(StackHarness& h, uint16_t sport, uint16_t dport, const Bytes& payload, Ipv4Addr dst = kOur) {
  return h.from_peer(ipv4(Ipv4Spec{.src = kPeer, .dst = dst, .proto = 17}, udp(kPeer, dst, sport, dport, payload)));
}

int bound_udp(uint16_t port, int flags = SOCK_NONBLOCK) {
  const int fd = skiff_socket(AF_INET, SOCK_DGRAM | flags, 0);
  EXPECT_GE(fd, 3);
  const sockaddr_in a = sin(Ipv4Addr::any(), port);
  EXPECT_EQ(skiff_bind(fd, sa(a), sizeof a), 0) << strerror(errno);
  return fd;
}

}  // namespace

TEST(Udp, ReceiveFromTheWire) {
  StackHarness h;
  const int fd = bound_udp(7000);
  const Bytes payload = pattern(100, 1);
  h.inject(udp_frame(h, 5555, 7000, payload));
  uint8_t buf[2000];
  sockaddr_in from{};
  socklen_t flen = sizeof from;
  const ssize_t n = skiff_recvfrom(fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &flen);
  ASSERT_EQ(n, 100) << strerror(errno);
  EXPECT_TRUE(std::equal(payload.begin(), payload.end(), buf));
  EXPECT_EQ(flen, sizeof(sockaddr_in));
  EXPECT_EQ(ntohs(from.sin_port), 5555);
  EXPECT_EQ(ntohl(from.sin_addr.s_addr), kPeer.host());
  EXPECT_EQ(skiff_recv(fd, buf, sizeof buf, 0), -1);
  EXPECT_EQ(errno, EAGAIN);
  EXPECT_EQ(skiff_close(fd), 0);
  EXPECT_EQ(h.shard().socks.in_use(udp_prot), 0u);
}

TEST(Udp, SendToTheWire) {
  StackHarness h;
  h.learn_peer();
  const int fd = bound_udp(7001);
  const Bytes payload = pattern(300, 2);
  const sockaddr_in to = sin(kPeer, 9999);
  ASSERT_EQ(skiff_sendto(fd, payload.data(), payload.size(), 0, sa(to), sizeof to), 300) << strerror(errno);
  auto out = h.sent();
  ASSERT_EQ(out.size(), 1u);
  auto ip = parse_ip(out[0]);
  ASSERT_TRUE(ip);
  EXPECT_EQ(ip->proto, 17);
  EXPECT_EQ(ip->src, kOur);
  EXPECT_EQ(ip->dst, kPeer);
  ASSERT_EQ(ip->payload.size(), 308u);
  EXPECT_EQ(wire::load_be16(ip->payload.data()), 7001);
  EXPECT_EQ(wire::load_be16(ip->payload.data() + 2), 9999);
  EXPECT_EQ(wire::load_be16(ip->payload.data() + 4), 308);
  const uint64_t ph = wire::pseudo_header_sum(kOur, kPeer, 17, 308);
  EXPECT_TRUE(wire::csum_ok(wire::csum_partial(ip->payload.data(), ip->payload.size(), ph)));
  EXPECT_TRUE(std::equal(payload.begin(), payload.end(), ip->payload.begin() + 8));
  skiff_close(fd);
}

TEST(Udp, ClosedPortGetsPortUnreachable) {
  StackHarness h;
  h.learn_peer();
  h.inject(udp_frame(h, 1234, 4444, pattern(20)));
  EXPECT_EQ(h.drops(Drop::UdpNoSocket), 1u);
  auto out = h.sent();
  ASSERT_EQ(out.size(), 1u);
  auto ip = parse_ip(out[0]);
  ASSERT_TRUE(ip);
  EXPECT_EQ(ip->payload[0], wire::icmp_type::kDestUnreachable);
  EXPECT_EQ(ip->payload[1], wire::icmp_unreach::kPort);
}
