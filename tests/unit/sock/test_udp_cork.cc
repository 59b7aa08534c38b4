// UDP_CORK and MSG_MORE on UDP sockets (Linux's corked udp_sendmsg / ip_append_data), read off the wire: a
// send with MSG_MORE, or any send while UDP_CORK is on, gathers into one pending datagram whose destination
// and control messages are those of its first part; it leaves on the first send without MSG_MORE while
// UDP_CORK is off, or when UDP_CORK is turned off. A datagram that would pass 65507 bytes is discarded
// whole (EMSGSIZE); closing the socket discards one pending.
#include <time.h>

#include <linux/errqueue.h>
#include <netinet/udp.h>

#include <string>

#include "sock_test_util.hh"

using namespace skiff;
using namespace skiff::test;
using namespace skiff::test::sock;

namespace {

Bytes str(const std::string& s) {
  return Bytes(s.begin(), s.end());
}

ssize_t send_to(int fd, const Bytes& b, int flags, const sockaddr_in& to) {
  return skiff_sendto(fd, b.data(), b.size(), flags, sa(to), sizeof to);
}

int set_cork(int fd, int v) {
  return skiff_setsockopt(fd, IPPROTO_UDP, UDP_CORK, &v, sizeof v);
}

int get_cork(int fd) {
  int v = -1;
  socklen_t len = sizeof v;
  EXPECT_EQ(skiff_getsockopt(fd, IPPROTO_UDP, UDP_CORK, &v, &len), 0) << strerror(errno);
  EXPECT_EQ(len, sizeof(int));
  return v;
}

// sendmsg of `b` to `to` with one int control message (level IPPROTO_IP or IPPROTO_UDP) of `type` = `v`.
ssize_t send_with_cmsg(int fd, const Bytes& b, int flags, sockaddr_in to, int level, int type, int v) {
  alignas(cmsghdr) uint8_t ctl[CMSG_SPACE(sizeof(int))] = {};
  iovec iov{const_cast<uint8_t*>(b.data()), b.size()};
  msghdr m = msg_of(&iov, &to, ctl, sizeof ctl);
  cmsghdr* c = CMSG_FIRSTHDR(&m);
  c->cmsg_level = level;
  c->cmsg_type = type;
  if (level == IPPROTO_UDP) {  // UDP_SEGMENT takes a uint16_t
    c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
    const uint16_t s = static_cast<uint16_t>(v);
    memcpy(CMSG_DATA(c), &s, sizeof s);
    m.msg_controllen = CMSG_SPACE(sizeof(uint16_t));
  } else {
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &v, sizeof v);
  }
  return skiff_sendmsg(fd, &m, flags);
}

Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// Each test: a stack that knows the peer's MAC.
class UdpCorkTest : public ::testing::Test {
 protected:
  UdpCorkTest() { h.learn_peer(); }
  StackHarness h;
};

}  // namespace

TEST_F(UdpCorkTest, MsgMoreGathersIntoOneDatagramToTheFirstDestination) {
  // Linux: sendto("ab", MSG_MORE, A) then sendto("cd", B) → A gets "abcd", B nothing.
  const int fd = bound_udp(7100);
  const sockaddr_in a = sin(kPeer, 5000), b = sin(kPeer, 5001);
  ASSERT_EQ(send_to(fd, str("ab"), MSG_MORE, a), 2);
  EXPECT_TRUE(h.sent().empty());
  h.advance(1s);  // no timer sends it either
  EXPECT_TRUE(h.sent().empty());
  ASSERT_EQ(send_to(fd, str("cd"), 0, b), 2);  // its own length, not the datagram's
  const auto out = sent_udp(h.sent());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].payload, str("abcd"));
  EXPECT_EQ(out[0].ip.dst, kPeer);
  EXPECT_EQ(out[0].dport, 5000);
  EXPECT_EQ(out[0].sport, 7100);
  EXPECT_EQ(out[0].len, 8 + 4);
  EXPECT_EQ(out[0].ip.total_len, 20 + 8 + 4);
  EXPECT_TRUE(out[0].ip.checksum_ok);
  const uint64_t ph =
      wire::pseudo_header_sum(kOur, kPeer, 17, static_cast<uint16_t>(out[0].ip.payload.size()));
  EXPECT_TRUE(wire::csum_ok(wire::csum_partial(out[0].ip.payload.data(), out[0].ip.payload.size(), ph)));
  // The next send starts afresh: alone, to its own destination.
  ASSERT_EQ(send_to(fd, str("ef"), 0, b), 2);
  const auto next = sent_udp(h.sent());
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].payload, str("ef"));
  EXPECT_EQ(next[0].dport, 5001);
  skiff_close(fd);
}

TEST_F(UdpCorkTest, ManyMsgMorePartsAndAnIovecAppendInOrder) {
  const int fd = bound_udp(7101);
  const sockaddr_in a = sin(kPeer, 5000);
  const Bytes p1 = pattern(300, 1), p2 = pattern(200, 2), p3 = pattern(7, 3), p4 = pattern(50, 4);
  ASSERT_EQ(send_to(fd, p1, MSG_MORE, a), 300);
  ASSERT_EQ(send_to(fd, p2, MSG_MORE, a), 200);
  EXPECT_TRUE(h.sent().empty());
  // The last part from two iovecs, by sendmsg without a name.
  iovec iov[2] = {{const_cast<uint8_t*>(p3.data()), p3.size()}, {const_cast<uint8_t*>(p4.data()), p4.size()}};
  msghdr m{};
  m.msg_iov = iov;
  m.msg_iovlen = 2;
  ASSERT_EQ(skiff_sendmsg(fd, &m, 0), 57);
  const auto out = sent_udp(h.sent());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].payload, cat({p1, p2, p3, p4}));
  EXPECT_EQ(out[0].dport, 5000);
  skiff_close(fd);
}

TEST_F(UdpCorkTest, LaterSendsIgnoreTheirAddressEvenPortZero) {
  // While a datagram is pending a send only appends: its address is not looked at (Linux appends even
  // for a sendto to port 0, which alone is EINVAL).
  const int fd = bound_udp(7102);
  const sockaddr_in a = sin(kPeer, 5000), zero = sin(kPeer, 0), far = sin(kNonLocal, 9);
  ASSERT_EQ(send_to(fd, str("x"), 0, zero), -1);  // alone: refused
  EXPECT_EQ(errno, EINVAL);
  ASSERT_EQ(send_to(fd, str("ab"), MSG_MORE, a), 2);
  ASSERT_EQ(send_to(fd, str("cd"), MSG_MORE, zero), 2);
  ASSERT_EQ(send_to(fd, str("ef"), MSG_MORE, far), 2);  // unroutable alone
  EXPECT_TRUE(h.sent().empty());
  ASSERT_EQ(send_to(fd, str("gh"), 0, zero), 2);
  const auto out = sent_udp(h.sent());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].payload, str("abcdefgh"));
  EXPECT_EQ(out[0].ip.dst, kPeer);
  EXPECT_EQ(out[0].dport, 5000);
  skiff_close(fd);
}

TEST_F(UdpCorkTest, UdpCorkHoldsUntilTurnedOff) {
  // Linux: UDP_CORK 1, sendto "x" and "y" → nothing; UDP_CORK 0 → one datagram "xy".
  const int fd = bound_udp(7103);
  EXPECT_EQ(get_cork(fd), 0);
  ASSERT_EQ(set_cork(fd, 1), 0);
  EXPECT_EQ(get_cork(fd), 1);
  const sockaddr_in a = sin(kPeer, 5000), b = sin(kPeer, 5001);
  ASSERT_EQ(send_to(fd, str("x"), 0, a), 1);
  ASSERT_EQ(send_to(fd, str("y"), 0, b), 1);
  EXPECT_TRUE(h.sent().empty());
  h.advance(5s);
  EXPECT_TRUE(h.sent().empty());
  ASSERT_EQ(set_cork(fd, 0), 0);
  EXPECT_EQ(get_cork(fd), 0);
  auto out = sent_udp(h.sent());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].payload, str("xy"));
  EXPECT_EQ(out[0].ip.dst, kPeer);
  EXPECT_EQ(out[0].dport, 5000);
  // Off again: each send is its own datagram; turning it off with nothing pending sends nothing.
  ASSERT_EQ(set_cork(fd, 0), 0);
  EXPECT_TRUE(h.sent().empty());
  ASSERT_EQ(send_to(fd, str("p"), 0, a), 1);
  ASSERT_EQ(send_to(fd, str("q"), 0, b), 1);
  out = sent_udp(h.sent());
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].payload, str("p"));
  EXPECT_EQ(out[1].payload, str("q"));
  EXPECT_EQ(out[1].dport, 5001);
  skiff_close(fd);
}

TEST_F(UdpCorkTest, SendWithoutMsgMoreWhileCorkedStillHolds) {
  const int fd = skiff_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  const sockaddr_in a = sin(kPeer, 5002);
  ASSERT_EQ(skiff_connect(fd, sa(a), sizeof a), 0);
  ASSERT_EQ(skiff_send(fd, "12", 2, MSG_MORE), 2);
  ASSERT_EQ(set_cork(fd, 1), 0);  // corked while pending
  ASSERT_EQ(skiff_send(fd, "34", 2, 0), 2);
  ASSERT_EQ(skiff_write(fd, "56", 2), 2);
  EXPECT_TRUE(h.sent().empty());
  ASSERT_EQ(set_cork(fd, 0), 0);
  auto out = sent_udp(h.sent());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].payload, str("123456"));
  EXPECT_EQ(out[0].dport, 5002);
  // Turning UDP_CORK off sends what is pending even if its last part had MSG_MORE; the next send is a
  // datagram of its own.
  ASSERT_EQ(set_cork(fd, 1), 0);
  ASSERT_EQ(skiff_send(fd, "ab", 2, MSG_MORE), 2);
  ASSERT_EQ(set_cork(fd, 0), 0);
  ASSERT_EQ(skiff_send(fd, "cd", 2, 0), 2);
  out = sent_udp(h.sent());
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].payload, str("ab"));
  EXPECT_EQ(out[1].payload, str("cd"));
  skiff_close(fd);
}

TEST_F(UdpCorkTest, GetsockoptReadsOneOrZeroAndShortOptlenIsEinval) {
  const int fd = bound_udp(7104);
  ASSERT_EQ(set_cork(fd, 5), 0);
  EXPECT_EQ(get_cork(fd), 1);
  ASSERT_EQ(set_cork(fd, -3), 0);
  EXPECT_EQ(get_cork(fd), 1);
  ASSERT_EQ(set_cork(fd, 0), 0);
  EXPECT_EQ(get_cork(fd), 0);
  const int one = 1;
  EXPECT_EQ(skiff_setsockopt(fd, IPPROTO_UDP, UDP_CORK, &one, 3), -1);
  EXPECT_EQ(errno, EINVAL);
  const uint8_t byte = 1;
  EXPECT_EQ(skiff_setsockopt(fd, IPPROTO_UDP, UDP_CORK, &byte, 1), -1);
  EXPECT_EQ(errno, EINVAL);
  EXPECT_EQ(get_cork(fd), 0);  // unchanged by the refused calls
  skiff_close(fd);
}

TEST_F(UdpCorkTest, OverflowingTheLargestDatagramDiscardsItWhole) {
  // Linux: MSG_MORE 40000 bytes then 30000 → EMSGSIZE; then "z" → one 1-byte datagram.
  const int fd = bound_udp(7105);
  const sockaddr_in a = sin(kPeer, 5000), b = sin(kPeer, 5001);
  ASSERT_EQ(send_to(fd, pattern(40000, 1), MSG_MORE, a), 40000);
  EXPECT_EQ(send_to(fd, pattern(30000, 2), 0, a), -1);
  EXPECT_EQ(errno, EMSGSIZE);
  EXPECT_TRUE(h.sent().empty());
  ASSERT_EQ(send_to(fd, str("z"), 0, b), 1);
  auto out = sent_udp(h.sent());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].payload, str("z"));
  EXPECT_EQ(out[0].dport, 5001);  // a fresh datagram: its own destination
  // Exactly the largest fits: 65000 + 507, and leaves (fragmented) whole.
  const Bytes p1 = pattern(65000, 3), p2 = pattern(507, 4);
  ASSERT_EQ(send_to(fd, p1, MSG_MORE, a), 65000);
  ASSERT_EQ(send_to(fd, p2, 0, b), 507);
  std::vector<SentIp> frags;
  for (auto& f : h.sent()) frags.push_back(*parse_ip(f));
  EXPECT_EQ(frags.size(), 45u);
  auto whole = reassemble(frags);
  ASSERT_TRUE(whole);
  EXPECT_EQ(wire::load_be16(whole->data() + 2), 5000);
  EXPECT_EQ(Bytes(whole->begin() + 8, whole->end()), cat({p1, p2}));
  // Overflow while UDP_CORK is on: discarded too, and uncorking then sends nothing.
  ASSERT_EQ(set_cork(fd, 1), 0);
  ASSERT_EQ(send_to(fd, pattern(60000, 5), 0, a), 60000);
  EXPECT_EQ(send_to(fd, pattern(6000, 6), 0, a), -1);
  EXPECT_EQ(errno, EMSGSIZE);
  ASSERT_EQ(set_cork(fd, 0), 0);
  EXPECT_TRUE(h.sent().empty());
  skiff_close(fd);
}

TEST_F(UdpCorkTest, FirstPartControlMessagesApplyToTheWholeDatagram) {
  // Linux: sendmsg "t1" with IP_TTL 7 and MSG_MORE, then "t2" with IP_TTL 9 → one datagram "t1t2", TTL 7.
  const int fd = bound_udp(7106);
  const sockaddr_in a = sin(kPeer, 5000);
  ASSERT_EQ(send_with_cmsg(fd, str("t1"), MSG_MORE, a, IPPROTO_IP, IP_TTL, 7), 2);
  ASSERT_EQ(send_with_cmsg(fd, str("t2"), 0, a, IPPROTO_IP, IP_TTL, 9), 2);
  auto out = sent_udp(h.sent());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].payload, str("t1t2"));
  EXPECT_EQ(out[0].ip.ttl, 7);
  // A later part's control message is not even parsed: one that alone is refused (TTL 0) still appends.
  ASSERT_EQ(send_with_cmsg(fd, str("u"), 0, a, IPPROTO_IP, IP_TTL, 0), -1);
  EXPECT_EQ(errno, EINVAL);
  ASSERT_EQ(send_with_cmsg(fd, str("u1"), MSG_MORE, a, IPPROTO_IP, IP_TOS, 0x28), 2);
  ASSERT_EQ(send_with_cmsg(fd, str("u2"), 0, a, IPPROTO_IP, IP_TTL, 0), 2);
  out = sent_udp(h.sent());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].payload, str("u1u2"));
  EXPECT_EQ(out[0].ip.ttl, 64);  // the socket's
  EXPECT_EQ(out[0].ip.tos, 0x28);
  // A first part without control messages: the socket's TTL, whatever the later part asks.
  ASSERT_EQ(send_to(fd, str("v1"), MSG_MORE, a), 2);
  ASSERT_EQ(send_with_cmsg(fd, str("v2"), 0, a, IPPROTO_IP, IP_TTL, 3), 2);
  out = sent_udp(h.sent());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].payload, str("v1v2"));
  EXPECT_EQ(out[0].ip.ttl, 64);
  skiff_close(fd);
}

TEST_F(UdpCorkTest, FirstPartUdpSegmentCutsTheGatheredDatagram) {
  const int fd = bound_udp(7107);
  const sockaddr_in a = sin(kPeer, 5000);
  const Bytes p1 = pattern(150, 1), p2 = pattern(100, 2);
  ASSERT_EQ(send_with_cmsg(fd, p1, MSG_MORE, a, IPPROTO_UDP, UDP_SEGMENT, 100), 150);
  EXPECT_TRUE(h.sent().empty());
  ASSERT_EQ(send_to(fd, p2, 0, a), 100);
  const auto out = sent_udp(h.sent());
  ASSERT_EQ(out.size(), 3u);
  const Bytes all = cat({p1, p2});
  EXPECT_EQ(out[0].payload, Bytes(all.begin(), all.begin() + 100));
  EXPECT_EQ(out[1].payload, Bytes(all.begin() + 100, all.begin() + 200));
  EXPECT_EQ(out[2].payload, Bytes(all.begin() + 200, all.end()));
  for (const auto& u : out) EXPECT_EQ(u.dport, 5000);
  // A later part's UDP_SEGMENT is ignored: one datagram.
  ASSERT_EQ(send_to(fd, p1, MSG_MORE, a), 150);
  ASSERT_EQ(send_with_cmsg(fd, p2, 0, a, IPPROTO_UDP, UDP_SEGMENT, 100), 100);
  const auto one = sent_udp(h.sent());
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].payload, all);
  skiff_close(fd);
}

TEST_F(UdpCorkTest, GatheredDatagramAboveTheMtuLeavesFragmented) {
  const int fd = bound_udp(7108);
  const sockaddr_in a = sin(kPeer, 5000);
  const Bytes p1 = pattern(1400, 1), p2 = pattern(1400, 2);
  ASSERT_EQ(send_to(fd, p1, MSG_MORE, a), 1400);
  ASSERT_EQ(send_to(fd, p2, 0, a), 1400);
  std::vector<SentIp> frags;
  for (auto& f : h.sent()) frags.push_back(*parse_ip(f));
  ASSERT_EQ(frags.size(), 2u);
  auto whole = reassemble(frags);
  ASSERT_TRUE(whole);
  EXPECT_EQ(wire::load_be16(whole->data() + 4), 2808);
  EXPECT_EQ(Bytes(whole->begin() + 8, whole->end()), cat({p1, p2}));
  const uint64_t ph = wire::pseudo_header_sum(kOur, kPeer, 17, static_cast<uint16_t>(whole->size()));
  EXPECT_TRUE(wire::csum_ok(wire::csum_partial(whole->data(), whole->size(), ph)));
  skiff_close(fd);
}

TEST_F(UdpCorkTest, ClosingDiscardsThePendingDatagram) {
  const int fd = bound_udp(7109);
  const sockaddr_in a = sin(kPeer, 5000);
  ASSERT_EQ(send_to(fd, str("lost"), MSG_MORE, a), 4);
  EXPECT_EQ(skiff_close(fd), 0);
  h.advance(1s);
  EXPECT_TRUE(h.sent().empty());
  // Corked the same way.
  const int fd2 = bound_udp(7110);
  ASSERT_EQ(set_cork(fd2, 1), 0);
  ASSERT_EQ(send_to(fd2, str("gone"), 0, a), 4);
  EXPECT_EQ(skiff_close(fd2), 0);
  h.advance(1s);
  EXPECT_TRUE(h.sent().empty());
  // The port is free again and a new socket there starts with nothing pending.
  const int fd3 = bound_udp(7109);
  ASSERT_EQ(send_to(fd3, str("new"), 0, a), 3);
  const auto out = sent_udp(h.sent());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].payload, str("new"));
  skiff_close(fd3);
}

TEST_F(UdpCorkTest, FirstPartIsCheckedLikeASend) {
  const int fd = skiff_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  // No address on an unconnected socket, port 0, an unroutable address, broadcast without SO_BROADCAST,
  // more than the largest datagram: each refused, and nothing left pending.
  EXPECT_EQ(skiff_send(fd, "ab", 2, MSG_MORE), -1);
  EXPECT_EQ(errno, EDESTADDRREQ);
  const sockaddr_in zero = sin(kPeer, 0), far = sin(kNonLocal, 9), bc = sin(kBcast, 9);
  EXPECT_EQ(send_to(fd, str("ab"), MSG_MORE, zero), -1);
  EXPECT_EQ(errno, EINVAL);
  EXPECT_EQ(send_to(fd, str("ab"), MSG_MORE, far), -1);
  EXPECT_EQ(errno, ENETUNREACH);
  EXPECT_EQ(send_to(fd, str("ab"), MSG_MORE, bc), -1);
  EXPECT_EQ(errno, EACCES);
  const sockaddr_in a = sin(kPeer, 5000);
  EXPECT_EQ(send_to(fd, pattern(65508), MSG_MORE, a), -1);
  EXPECT_EQ(errno, EMSGSIZE);
  EXPECT_TRUE(h.sent().empty());
  // The first accepted part binds the socket (autobind), and the datagram leaves from that port.
  ASSERT_EQ(send_to(fd, str("cd"), MSG_MORE, a), 2);
  const uint16_t port = local_port(fd);
  EXPECT_NE(port, 0);
  EXPECT_TRUE(h.sent().empty());
  ASSERT_EQ(send_to(fd, str("ef"), 0, a), 2);
  const auto out = sent_udp(h.sent());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].payload, str("cdef"));  // "ab" never joined it
  EXPECT_EQ(out[0].sport, port);
  // With SO_BROADCAST the broadcast first part is taken.
  const int on = 1;
  ASSERT_EQ(skiff_setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &on, sizeof on), 0);
  ASSERT_EQ(send_to(fd, str("b1"), MSG_MORE, bc), 2);
  ASSERT_EQ(send_to(fd, str("b2"), 0, a), 2);
  const auto bout = sent_udp(h.sent());
  ASSERT_EQ(bout.size(), 1u);
  EXPECT_EQ(bout[0].payload, str("b1b2"));
  EXPECT_EQ(bout[0].ip.dst, kBcast);
  EXPECT_EQ(bout[0].dport, 9);
  skiff_close(fd);
}

TEST_F(UdpCorkTest, FirstPartTakesThePendingErrorAndHonoursShutdown) {
  const int fd = skiff_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  const sockaddr_in to = sin(kPeer, 4444);
  ASSERT_EQ(skiff_connect(fd, sa(to), sizeof to), 0);
  ASSERT_EQ(skiff_send(fd, "12345678", 8, 0), 8);
  h.inject(icmp_error_about(h, h.sent().at(0)));  // port unreachable: ECONNREFUSED pending
  EXPECT_EQ(skiff_send(fd, "ab", 2, MSG_MORE), -1);
  EXPECT_EQ(errno, ECONNREFUSED);
  // The error was taken and nothing is pending: the next part starts a datagram of its own.
  ASSERT_EQ(skiff_send(fd, "cd", 2, MSG_MORE), 2);
  ASSERT_EQ(skiff_send(fd, "ef", 2, 0), 2);
  auto out = sent_udp(h.sent());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].payload, str("cdef"));
  EXPECT_EQ(out[0].dport, 4444);
  ASSERT_EQ(skiff_shutdown(fd, SHUT_WR), 0);
  EXPECT_EQ(skiff_send(fd, "gh", 2, MSG_MORE | MSG_NOSIGNAL), -1);
  EXPECT_EQ(errno, EPIPE);
  EXPECT_TRUE(h.sent().empty());
  skiff_close(fd);
}

TEST_F(UdpCorkTest, ZeroLengthMsgMoreReturnsZeroAndStartsTheDatagram) {
  const int fd = bound_udp(7111);
  const sockaddr_in a = sin(kPeer, 5000), b = sin(kPeer, 5001);
  ASSERT_EQ(skiff_sendto(fd, "", 0, MSG_MORE, sa(a), sizeof a), 0);
  EXPECT_TRUE(h.sent().empty());
  ASSERT_EQ(send_to(fd, str("ab"), 0, b), 2);
  const auto out = sent_udp(h.sent());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].payload, str("ab"));
  EXPECT_EQ(out[0].dport, 5000);  // the empty first part chose the destination
  skiff_close(fd);
}

TEST_F(UdpCorkTest, FailureToSendTheGatheredDatagramIsTheLastSendsOrIgnoredByUncorking) {
  // UDP_SEGMENT 10 with more than 128 segments' worth: the first part is taken, the datagram's own send
  // fails (EINVAL). Linux (measured): the send that completes it returns EINVAL; setsockopt(UDP_CORK, 0)
  // returns 0. Nothing is sent either way and nothing remains pending.
  const int fd = bound_udp(7112);
  const sockaddr_in a = sin(kPeer, 5000);
  ASSERT_EQ(send_with_cmsg(fd, pattern(1000, 1), MSG_MORE, a, IPPROTO_UDP, UDP_SEGMENT, 10), 1000);
  EXPECT_EQ(send_to(fd, pattern(1000, 2), 0, a), -1);
  EXPECT_EQ(errno, EINVAL);
  EXPECT_TRUE(h.sent().empty());
  ASSERT_EQ(send_to(fd, str("z"), 0, a), 1);
  auto out = sent_udp(h.sent());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].payload, str("z"));
  ASSERT_EQ(set_cork(fd, 1), 0);
  ASSERT_EQ(send_with_cmsg(fd, pattern(2000, 3), 0, a, IPPROTO_UDP, UDP_SEGMENT, 10), 2000);
  EXPECT_EQ(set_cork(fd, 0), 0);
  EXPECT_TRUE(h.sent().empty());
  ASSERT_EQ(send_to(fd, str("w"), 0, a), 1);
  out = sent_udp(h.sent());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].payload, str("w"));
  skiff_close(fd);
}

// Linux checks a pending error and a shut-down send side when the first part is taken
// (sock_alloc_send_skb), never when the gathered datagram leaves (udp_push_pending_frames): an ICMP error or
// shutdown(SHUT_WR) arriving while a datagram is pending neither stops it nor is taken by it. Measured on
// this VM (loopback, a forged port unreachable): UDP_CORK 1, send "ab", error arrives, UDP_CORK 0 → the
// peer receives "ab", SO_ERROR still 111; MSG_MORE "ab", error, send "cd" → returns 2, peer gets "abcd",
// SO_ERROR 111; MSG_MORE "ab", shutdown(SHUT_WR), send "cd" → returns 2, peer gets "abcd".
// Skiff likewise checks them only for the first part (UdpTxMode::kPushCorked).
TEST_F(UdpCorkTest, ErrorArrivingWhilePendingDoesNotStopTheDatagram) {
  const int fd = skiff_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  const sockaddr_in to = sin(kPeer, 4444);
  ASSERT_EQ(skiff_connect(fd, sa(to), sizeof to), 0);
  ASSERT_EQ(skiff_send(fd, "12345678", 8, 0), 8);
  const Bytes first = h.sent().at(0);
  // Uncorking.
  ASSERT_EQ(set_cork(fd, 1), 0);
  ASSERT_EQ(skiff_send(fd, "ab", 2, 0), 2);
  h.inject(icmp_error_about(h, first));
  EXPECT_EQ(set_cork(fd, 0), 0);
  auto out = sent_udp(h.sent());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].payload, str("ab"));
  int err = 0;
  socklen_t len = sizeof err;
  ASSERT_EQ(skiff_getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len), 0);
  EXPECT_EQ(err, ECONNREFUSED);  // still there (and SO_ERROR took it)
  // The completing send.
  ASSERT_EQ(skiff_send(fd, "ab", 2, MSG_MORE), 2);
  h.inject(icmp_error_about(h, first));
  EXPECT_EQ(skiff_send(fd, "cd", 2, 0), 2);
  out = sent_udp(h.sent());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].payload, str("abcd"));
  EXPECT_EQ(skiff_recv(fd, &err, sizeof err, 0), -1);
  EXPECT_EQ(errno, ECONNREFUSED);
  skiff_close(fd);
}

TEST_F(UdpCorkTest, ShutdownWhilePendingDoesNotStopTheDatagram) {
  const int fd = skiff_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  const sockaddr_in to = sin(kPeer, 5000);
  ASSERT_EQ(skiff_connect(fd, sa(to), sizeof to), 0);
  ASSERT_EQ(skiff_send(fd, "ab", 2, MSG_MORE), 2);
  ASSERT_EQ(skiff_shutdown(fd, SHUT_WR), 0);
  EXPECT_EQ(skiff_send(fd, "cd", 2, MSG_NOSIGNAL), 2);
  const auto out = sent_udp(h.sent());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].payload, str("abcd"));
  skiff_close(fd);
}

// Under IP_PMTUDISC_DO (and PROBE) a corked datagram may grow only to what the MTU lets through whole: 1472
// bytes at MTU 1500 (ip_append_data's maxfraglen check). The part that passes it fails with EMSGSIZE at once,
// even with MSG_MORE, discarding the whole datagram; with IP_RECVERR the error queue holds the local error
// with the MTU (ip_local_error). The next send starts a fresh datagram.
TEST(UdpCorkPmtu, UnderPmtudiscDoAGatheredDatagramGrowsOnlyToTheMtu) {
  for (const int mode : {IP_PMTUDISC_DO, IP_PMTUDISC_PROBE}) {
    SCOPED_TRACE(mode == IP_PMTUDISC_DO ? "IP_PMTUDISC_DO" : "IP_PMTUDISC_PROBE");
    StackHarness h;  // a fresh stack per mode
    h.learn_peer();
    const int fd = bound_udp(7120);
    const int on = 1;
    ASSERT_EQ(skiff_setsockopt(fd, IPPROTO_IP, IP_RECVERR, &on, sizeof on), 0);
    ASSERT_EQ(skiff_setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &mode, sizeof mode), 0);
    const sockaddr_in a = sin(kPeer, 5000), b = sin(kPeer, 5001);
    // 1000 + 600 with MSG_MORE on both: the second is refused at once, nothing leaves.
    ASSERT_EQ(send_to(fd, pattern(1000, 1), MSG_MORE, a), 1000);
    EXPECT_EQ(send_to(fd, pattern(600, 2), MSG_MORE, a), -1);
    EXPECT_EQ(errno, EMSGSIZE);
    EXPECT_TRUE(h.sent().empty());
    QueuedErr q = read_error(fd);
    ASSERT_EQ(q.rc, 0);
    ASSERT_TRUE(q.have_ee);
    EXPECT_EQ(q.ee.ee_errno, static_cast<uint32_t>(EMSGSIZE));
    EXPECT_EQ(q.ee.ee_origin, SO_EE_ORIGIN_LOCAL);
    EXPECT_EQ(q.ee.ee_info, 1500u);
    q = read_error(fd);
    EXPECT_EQ(q.rc, -1);  // one error
    EXPECT_EQ(q.err, EAGAIN);
    // The datagram was discarded: the next send is one of its own, to its own destination.
    ASSERT_EQ(send_to(fd, str("z"), 0, b), 1);
    auto out = sent_udp(h.sent());
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].payload, str("z"));
    EXPECT_EQ(out[0].dport, 5001);
    // The same with the second part sent without MSG_MORE.
    ASSERT_EQ(send_to(fd, pattern(1000, 3), MSG_MORE, a), 1000);
    EXPECT_EQ(send_to(fd, pattern(600, 4), 0, a), -1);
    EXPECT_EQ(errno, EMSGSIZE);
    EXPECT_TRUE(h.sent().empty());
    q = read_error(fd);
    ASSERT_TRUE(q.have_ee);
    EXPECT_EQ(q.ee.ee_origin, SO_EE_ORIGIN_LOCAL);
    EXPECT_EQ(q.ee.ee_info, 1500u);
    // ... and under UDP_CORK: refused at the part that passes the MTU; uncorking then sends nothing.
    ASSERT_EQ(set_cork(fd, 1), 0);
    ASSERT_EQ(send_to(fd, pattern(1000, 5), 0, a), 1000);
    EXPECT_EQ(send_to(fd, pattern(600, 6), 0, a), -1);
    EXPECT_EQ(errno, EMSGSIZE);
    ASSERT_EQ(set_cork(fd, 0), 0);
    EXPECT_TRUE(h.sent().empty());
    EXPECT_EQ(read_error(fd).ee.ee_errno, static_cast<uint32_t>(EMSGSIZE));
    // Exactly the room (1000 + 472 = 1472): one unfragmented datagram with DF.
    ASSERT_EQ(send_to(fd, pattern(1000, 7), MSG_MORE, a), 1000);
    ASSERT_EQ(send_to(fd, pattern(472, 8), 0, a), 472);
    out = sent_udp(h.sent());
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].payload, cat({pattern(1000, 7), pattern(472, 8)}));
    EXPECT_EQ(out[0].ip.total_len, 1500);
    EXPECT_EQ(out[0].ip.flags_frag, 0x4000);  // DF, not a fragment
    EXPECT_EQ(read_error(fd).rc, -1);
    skiff_close(fd);
  }
}

TEST_F(UdpCorkTest, UnderPmtudiscWantAGatheredDatagramPastTheMtuIsFragmented) {
  // The default (IP_PMTUDISC_WANT): 1000 + 600 leave as one 1600-byte datagram in two fragments.
  const int fd = bound_udp(7121);
  const int on = 1;
  ASSERT_EQ(skiff_setsockopt(fd, IPPROTO_IP, IP_RECVERR, &on, sizeof on), 0);
  int mode = -1;
  socklen_t len = sizeof mode;
  ASSERT_EQ(skiff_getsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &mode, &len), 0);
  EXPECT_EQ(mode, IP_PMTUDISC_WANT);
  const sockaddr_in a = sin(kPeer, 5000);
  const Bytes p1 = pattern(1000, 1), p2 = pattern(600, 2);
  ASSERT_EQ(send_to(fd, p1, MSG_MORE, a), 1000);
  ASSERT_EQ(send_to(fd, p2, MSG_MORE, a), 600);
  EXPECT_TRUE(h.sent().empty());
  ASSERT_EQ(skiff_sendto(fd, "", 0, 0, sa(a), sizeof a), 0);  // sends what was gathered
  std::vector<SentIp> frags;
  for (auto& f : h.sent()) frags.push_back(*parse_ip(f));
  ASSERT_EQ(frags.size(), 2u);
  auto whole = reassemble(frags);
  ASSERT_TRUE(whole);
  EXPECT_EQ(wire::load_be16(whole->data() + 4), 1608);
  EXPECT_EQ(Bytes(whole->begin() + 8, whole->end()), cat({p1, p2}));
  EXPECT_EQ(read_error(fd).rc, -1);  // no error
  skiff_close(fd);
}
