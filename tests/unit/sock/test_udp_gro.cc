// UDP_GRO on receive (Linux's udp(7) UDP_GRO, udp_gro_receive_segment's rules): with the option on, one
// recvmsg() may return a train of datagrams laid end to end, all of one size but the last (which may be
// shorter), from the same source to the same address with the same TTL and TOS, with a control message
// (SOL_UDP, UDP_GRO) holding that size; at most 64 datagrams and 65,507 bytes. Skiff gathers queued datagrams
// at read time and only ones that fit the buffer whole (Linux may cut a coalesced one: MSG_TRUNC).
#include <netinet/udp.h>

#include "sock_test_util.hh"

using namespace skiff;
using namespace skiff::test;
using namespace skiff::test::sock;

namespace {

const Ipv4Addr kPeer2 = Ipv4Addr::of(10, 0, 0, 3);

int set_gro(int fd, int v) {
  return skiff_setsockopt(fd, IPPROTO_UDP, UDP_GRO, &v, sizeof v);
}

// One recvmsg into `iovs` (default: one 65,536-byte buffer): its return, msg_flags, source, and the UDP_GRO
// segment size when one was reported (0 when not), with the order of the control messages.
struct Read {
  ssize_t rc = -1;
  int err = 0;
  int flags = 0;
  sockaddr_in from{};
  int gro = 0;
  std::vector<std::pair<int, int>> cmsgs;  // (level, type) in order
  Bytes data;
};

Read read_iov(int fd, std::vector<size_t> iovs = {65536}, int flags = MSG_DONTWAIT, size_t ctl_len = 256) {
  Read r;
  std::vector<Bytes> bufs;
  for (size_t n : iovs) bufs.emplace_back(n, 0xee);
  std::vector<iovec> iov;
  for (Bytes& b : bufs) iov.push_back({b.data(), b.size()});
  alignas(cmsghdr) uint8_t ctl[256];
  msghdr m = msg_of(iov.data(), &r.from, ctl_len ? ctl : nullptr, ctl_len);
  m.msg_iovlen = iov.size();
  r.rc = skiff_recvmsg(fd, &m, flags);
  r.err = r.rc < 0 ? errno : 0;
  if (r.rc < 0) return r;
  r.flags = m.msg_flags;
  for (cmsghdr* c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
    r.cmsgs.emplace_back(c->cmsg_level, c->cmsg_type);
    if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO && c->cmsg_len >= CMSG_LEN(sizeof(int)))
      memcpy(&r.gro, CMSG_DATA(c), sizeof r.gro);
  }
  size_t left = std::min<size_t>(static_cast<size_t>(r.rc), [&] {
    size_t t = 0;
    for (size_t n : iovs) t += n;
    return t;
  }());
  for (const Bytes& b : bufs) {
    const size_t n = std::min(left, b.size());
    r.data.insert(r.data.end(), b.begin(), b.begin() + static_cast<ptrdiff_t>(n));
    left -= n;
  }
  return r;
}

Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// A stack with a UDP socket on port 7000 that has UDP_GRO on.
class UdpGro : public ::testing::Test {
 protected:
  UdpGro() : fd(bound_udp(7000)) { EXPECT_EQ(set_gro(fd, 1), 0) << strerror(errno); }
  ~UdpGro() override { skiff_close(fd); }
  // A datagram of `n` bytes (pattern `seed`) from the peer's port 5555, or as `spec` says.
  void rx(size_t n, uint8_t seed, uint16_t sport = 5555,
          Ipv4Spec spec = {.src = kPeer, .dst = kOur, .proto = 17}) {
    h.inject(h.from_peer(ipv4(spec, udp(spec.src, spec.dst, sport, 7000, pattern(n, seed)))));
  }
  StackHarness h;
  int fd;
};

}  // namespace

TEST(UdpGroOption, ReadsBackOneOrZeroAsLinux) {
  StackHarness h;
  const int fd = bound_udp(7000);
  int v = -1;
  socklen_t len = sizeof v;
  ASSERT_EQ(skiff_getsockopt(fd, IPPROTO_UDP, UDP_GRO, &v, &len), 0);
  EXPECT_EQ(v, 0);                    // off by default
  for (const int set : {1, 7, -1}) {  // any non-zero turns it on and reads back as 1 (Linux 6.18, measured)
    ASSERT_EQ(set_gro(fd, set), 0);
    len = sizeof v;
    ASSERT_EQ(skiff_getsockopt(fd, IPPROTO_UDP, UDP_GRO, &v, &len), 0);
    EXPECT_EQ(v, 1) << set;
    EXPECT_EQ(len, sizeof(int));
  }
  ASSERT_EQ(set_gro(fd, 0), 0);
  len = sizeof v;
  ASSERT_EQ(skiff_getsockopt(fd, IPPROTO_UDP, UDP_GRO, &v, &len), 0);
  EXPECT_EQ(v, 0);
  // A short option: EINVAL; a longer one reads its first int.
  const uint16_t shrt = 1;
  EXPECT_EQ(skiff_setsockopt(fd, IPPROTO_UDP, UDP_GRO, &shrt, sizeof shrt), -1);
  EXPECT_EQ(errno, EINVAL);
  const int64_t wide = 1;
  EXPECT_EQ(skiff_setsockopt(fd, IPPROTO_UDP, UDP_GRO, &wide, sizeof wide), 0);
  len = 1;  // a short read gets what fits
  v = 0;
  ASSERT_EQ(skiff_getsockopt(fd, IPPROTO_UDP, UDP_GRO, &v, &len), 0);
  EXPECT_EQ(len, 1u);
  EXPECT_EQ(v & 0xff, 1);
  skiff_close(fd);
  // Not a UDP socket's option elsewhere (Linux: ENOPROTOOPT from TCP and raw sockets).
  for (const auto& [type, proto] :
       {std::pair<int, int>{SOCK_STREAM, 0}, std::pair<int, int>{SOCK_RAW, IPPROTO_UDP}}) {
    const int s = skiff_socket(AF_INET, type, proto);
    ASSERT_GE(s, 0);
    const int on = 1;
    EXPECT_EQ(skiff_setsockopt(s, IPPROTO_UDP, UDP_GRO, &on, sizeof on), -1);
    EXPECT_EQ(errno, ENOPROTOOPT) << type;
    skiff_close(s);
  }
}

TEST_F(UdpGro, ATrainOfEqualDatagramsIsOneReadWithItsSegmentSize) {
  rx(1000, 1);
  rx(1000, 2);
  rx(1000, 3);
  rx(500, 4);  // the last may be shorter
  const Read r = read_iov(fd);
  ASSERT_EQ(r.rc, 3500);
  EXPECT_EQ(r.data, cat({pattern(1000, 1), pattern(1000, 2), pattern(1000, 3), pattern(500, 4)}));
  EXPECT_EQ(r.gro, 1000);
  EXPECT_EQ(r.flags, 0);
  EXPECT_EQ(addr_of(r.from), kPeer);
  EXPECT_EQ(ntohs(r.from.sin_port), 5555);
  EXPECT_EQ(read_iov(fd).err, EAGAIN);  // all four consumed
  // The receive buffer was given back for every one: FIONREAD sees nothing, and a new datagram reads alone.
  int avail = -1;
  ASSERT_EQ(skiff_ioctl(fd, FIONREAD, &avail), 0);
  EXPECT_EQ(avail, 0);
  rx(300, 5);
  const Read one = read_iov(fd);
  EXPECT_EQ(one.rc, 300);
  EXPECT_EQ(one.gro, 0);  // a single datagram: no UDP_GRO message (Linux: only for a GSO skb)
  EXPECT_TRUE(one.cmsgs.empty());
}

TEST_F(UdpGro, WithoutTheOptionEachDatagramIsItsOwnRead) {
  ASSERT_EQ(set_gro(fd, 0), 0);
  rx(1000, 1);
  rx(1000, 2);
  for (uint8_t seed : {1, 2}) {
    const Read r = read_iov(fd);
    ASSERT_EQ(r.rc, 1000);
    EXPECT_EQ(r.data, pattern(1000, seed));
    EXPECT_TRUE(r.cmsgs.empty());
  }
}

TEST_F(UdpGro, AShorterDatagramEndsTheTrainAndALongerOneStartsAnother) {
  rx(1000, 1);
  rx(400, 2);   // shorter: joins as the last
  rx(1000, 3);  // after a shorter one: a new train
  rx(1200, 4);  // longer than the train's size: a new train
  rx(1200, 5);
  Read r = read_iov(fd);
  ASSERT_EQ(r.rc, 1400);
  EXPECT_EQ(r.gro, 1000);
  EXPECT_EQ(r.data, cat({pattern(1000, 1), pattern(400, 2)}));
  r = read_iov(fd);
  ASSERT_EQ(r.rc, 1000);
  EXPECT_EQ(r.gro, 0);
  r = read_iov(fd);
  ASSERT_EQ(r.rc, 2400);
  EXPECT_EQ(r.gro, 1200);
  EXPECT_EQ(r.data, cat({pattern(1200, 4), pattern(1200, 5)}));
}

TEST_F(UdpGro, OnlyDatagramsOfOneFlowWithTheSameMarksJoin) {
  const Ipv4Spec base{.src = kPeer, .dst = kOur, .proto = 17};
  Ipv4Spec ttl = base, tos = base, other = base, bcast = base;
  ttl.ttl = 63;
  tos.tos = 0x10;
  other.src = kPeer2;
  bcast.dst = kBcast;
  rx(100, 1);
  rx(100, 2, 5556);  // another source port
  rx(100, 3, 5556);
  rx(100, 4, 5556, other);  // another source address
  rx(100, 5, 5556, ttl);    // another TTL
  rx(100, 6, 5556, tos);    // another TOS
  rx(100, 7, 5556, bcast);  // another destination (the broadcast address)
  rx(100, 8, 5556, bcast);
  const std::vector<std::pair<ssize_t, int>> want = {{100, 0}, {200, 100}, {100, 0},
                                                     {100, 0}, {100, 0},   {200, 100}};
  for (const auto& [len, gro] : want) {
    const Read r = read_iov(fd);
    EXPECT_EQ(r.rc, len);
    EXPECT_EQ(r.gro, gro);
  }
  EXPECT_EQ(read_iov(fd).err, EAGAIN);
}

TEST_F(UdpGro, OnlyWholeDatagramsThatFitTheBufferJoin) {
  for (uint8_t i = 0; i < 3; ++i) rx(1000, i);
  // 2500 bytes of buffer: two whole datagrams, nothing cut, the third stays queued.
  Read r = read_iov(fd, {2500});
  ASSERT_EQ(r.rc, 2000);
  EXPECT_EQ(r.flags, 0);
  EXPECT_EQ(r.gro, 1000);
  EXPECT_EQ(r.data, cat({pattern(1000, 0), pattern(1000, 1)}));
  r = read_iov(fd, {2500});
  ASSERT_EQ(r.rc, 1000);
  EXPECT_EQ(r.gro, 0);
  EXPECT_EQ(r.data, pattern(1000, 2));
  // A buffer shorter than the first: it is cut (MSG_TRUNC) and read alone; MSG_TRUNC asks its real length.
  rx(1000, 7);
  rx(1000, 8);
  r = read_iov(fd, {999}, MSG_DONTWAIT | MSG_TRUNC);
  EXPECT_EQ(r.rc, 1000);
  EXPECT_EQ(r.flags, MSG_TRUNC);
  EXPECT_EQ(r.gro, 0);
  r = read_iov(fd);
  EXPECT_EQ(r.rc, 1000);
  EXPECT_EQ(r.data, pattern(1000, 8));
}

TEST_F(UdpGro, ATrainSpansSeveralIovecs) {
  for (uint8_t i = 0; i < 3; ++i) rx(1000, i);
  const Read r = read_iov(fd, {700, 0, 1800, 1000});
  ASSERT_EQ(r.rc, 3000);
  EXPECT_EQ(r.gro, 1000);
  EXPECT_EQ(r.data, cat({pattern(1000, 0), pattern(1000, 1), pattern(1000, 2)}));
}

TEST_F(UdpGro, AtMost64DatagramsAndOneIpDatagramsWorthInARead) {
  for (int i = 0; i < 70; ++i) rx(100, static_cast<uint8_t>(i));
  Read r = read_iov(fd);
  EXPECT_EQ(r.rc, 6400);  // 64 datagrams (Linux's UDP_GRO_CNT_MAX)
  EXPECT_EQ(r.gro, 100);
  r = read_iov(fd);
  EXPECT_EQ(r.rc, 600);
  EXPECT_EQ(r.data.back(), pattern(100, 69).back());
  // 50 of 1400 bytes: 46 make 64,400, a 47th would pass 65,507.
  for (int i = 0; i < 50; ++i) rx(1400, static_cast<uint8_t>(i));
  r = read_iov(fd, {70000});
  EXPECT_EQ(r.rc, 46 * 1400);
  EXPECT_EQ(r.gro, 1400);
  r = read_iov(fd, {70000});
  EXPECT_EQ(r.rc, 4 * 1400);
}

TEST_F(UdpGro, PeekReadsTheTrainAndLeavesItQueued) {
  rx(600, 1);
  rx(600, 2);
  Read r = read_iov(fd, {65536}, MSG_DONTWAIT | MSG_PEEK);
  ASSERT_EQ(r.rc, 1200);
  EXPECT_EQ(r.gro, 600);
  r = read_iov(fd);
  ASSERT_EQ(r.rc, 1200);
  EXPECT_EQ(r.data, cat({pattern(600, 1), pattern(600, 2)}));
  EXPECT_EQ(read_iov(fd).err, EAGAIN);
}

TEST_F(UdpGro, ZeroLengthDatagramsAreNeverGathered) {
  rx(0, 0);
  rx(0, 0);
  for (int i = 0; i < 2; ++i) {
    const Read r = read_iov(fd);
    EXPECT_EQ(r.rc, 0);
    EXPECT_EQ(r.gro, 0);
  }
  EXPECT_EQ(read_iov(fd).err, EAGAIN);
}

TEST_F(UdpGro, ControlMessagesComeInLinuxsOrder) {
  // udp_recvmsg: the timestamp (sock_recv_cmsgs), then UDP_GRO (udp_cmsg_recv), then ip_cmsg_recv's.
  const int on = 1;
  ASSERT_EQ(skiff_setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on), 0);
  ASSERT_EQ(skiff_setsockopt(fd, IPPROTO_IP, IP_RECVTTL, &on, sizeof on), 0);
  rx(200, 1);
  rx(200, 2);
  Read r = read_iov(fd);
  ASSERT_EQ(r.rc, 400);
  const std::vector<std::pair<int, int>> order = {
      {SOL_SOCKET, SCM_TIMESTAMPNS}, {SOL_UDP, UDP_GRO}, {IPPROTO_IP, IP_TTL}};
  EXPECT_EQ(r.cmsgs, order);
  EXPECT_EQ(r.gro, 200);
  // A control buffer with room for the timestamp alone: MSG_CTRUNC, the data still whole.
  rx(200, 3);
  rx(200, 4);
  r = read_iov(fd, {65536}, MSG_DONTWAIT, CMSG_SPACE(sizeof(timespec)));
  ASSERT_EQ(r.rc, 400);
  EXPECT_EQ(r.flags, MSG_CTRUNC);
  EXPECT_EQ(r.gro, 0);
}

TEST_F(UdpGro, RecvmmsgGathersATrainPerMessage) {
  rx(300, 1);
  rx(300, 2);
  rx(300, 3, 5556);
  rx(300, 4, 5556);
  rx(100, 5, 5556);
  uint8_t b0[4096], b1[4096];
  iovec iov[2] = {{b0, sizeof b0}, {b1, sizeof b1}};
  alignas(cmsghdr) uint8_t c0[64], c1[64];
  mmsghdr mm[2] = {};
  mm[0].msg_hdr.msg_iov = &iov[0];
  mm[0].msg_hdr.msg_iovlen = 1;
  mm[0].msg_hdr.msg_control = c0;
  mm[0].msg_hdr.msg_controllen = sizeof c0;
  mm[1].msg_hdr.msg_iov = &iov[1];
  mm[1].msg_hdr.msg_iovlen = 1;
  mm[1].msg_hdr.msg_control = c1;
  mm[1].msg_hdr.msg_controllen = sizeof c1;
  ASSERT_EQ(skiff_recvmmsg(fd, mm, 2, MSG_DONTWAIT, nullptr), 2);
  EXPECT_EQ(mm[0].msg_len, 600u);
  EXPECT_EQ(mm[1].msg_len, 700u);
  EXPECT_EQ(Bytes(b1, b1 + 700), cat({pattern(300, 3), pattern(300, 4), pattern(100, 5)}));
  int g = 0;
  cmsghdr* c = CMSG_FIRSTHDR(&mm[1].msg_hdr);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->cmsg_level, SOL_UDP);
  EXPECT_EQ(c->cmsg_type, UDP_GRO);
  memcpy(&g, CMSG_DATA(c), sizeof g);
  EXPECT_EQ(g, 300);
}
