// TCP_NOTSENT_LOWAT (as Linux): a writer may queue only so much that waits unsent. send() lets out what the
// windows take and stops once the limit waits (EAGAIN if nothing was taken), the socket polls writable only
// below it, and a writer it stopped is woken once what waits fell below half of it. The send buffer's own
// limit stays as it was; the option is inherited from a listener; `[tcp] notsent-lowat` sets it stack-wide.
#include <sys/epoll.h>

#include "tcp_test_util.hh"

using namespace tcpt;

namespace {

size_t payload_bytes(const std::vector<SentTcp>& v) {
  size_t n = 0;
  for (const auto& t : v) n += t.payload.size();
  return n;
}

}  // namespace

TEST(TcpNotsentLowat, SendStopsOnceTheLimitWaitsUnsent) {
  StackHarness h;
  Conn c = accept_conn(h, OpenOpts{.mss = 1000});
  EXPECT_EQ(get_int(c.fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT), 0);
  ASSERT_EQ(set_int(c.fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, 4000), 0);
  EXPECT_EQ(get_int(c.fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT), 4000);
  // The initial window (10 segments) leaves; 4,000 bytes wait; the rest is not taken.
  EXPECT_EQ(c.send(50000), 14000);
  auto out = c.out_track();
  EXPECT_EQ(payload_bytes(out), 10000u);
  EXPECT_EQ(ready(c.fd) & EPOLLOUT, 0u) << "the send buffer has room, but the limit waits unsent";
  EXPECT_EQ(c.send(1000), -1);
  EXPECT_EQ(errno, EAGAIN);
  // Acknowledged: the waiting data leaves with the grown window; the writer may go on.
  c.ack();
  out = c.out_track();
  EXPECT_EQ(payload_bytes(out), 4000u);
  EXPECT_NE(ready(c.fd) & EPOLLOUT, 0u);
  EXPECT_GT(c.send(50000), 0);
}

TEST(TcpNotsentLowat, WithoutItTheSendBufferAloneLimits) {
  StackHarness h;
  Conn c = accept_conn(h, OpenOpts{.mss = 1000});
  EXPECT_EQ(c.send(50000), 50000);
  EXPECT_NE(ready(c.fd) & EPOLLOUT, 0u);
}

TEST(TcpNotsentLowat, StackWideDefaultAndInheritedFromTheListener) {
  {
    HarnessOptions ho;
    ho.cfg.tcp.notsent_lowat = 2000;
    StackHarness h(ho);
    Conn c = accept_conn(h, OpenOpts{.mss = 1000});
    EXPECT_EQ(c.send(50000), 12000) << "the initial window and 2,000 bytes waiting";
    EXPECT_EQ(get_int(c.fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT), 0) << "as Linux: the socket's own value";
  }
  StackHarness h;
  h.learn_peer();
  const int l = listen_on(kLocalPort);
  ASSERT_EQ(set_int(l, IPPROTO_TCP, TCP_NOTSENT_LOWAT, 3000), 0);
  h.inject(tcp_frame(h, TcpSpec{.sport = kPeerPort, .dport = kLocalPort, .seq = 1000, .flags = tf::kSyn,
                                .opts = mss_opt(1000)}));
  auto out = out_of(h);
  ASSERT_EQ(out.size(), 1u);
  h.inject(tcp_frame(h, TcpSpec{.sport = kPeerPort, .dport = kLocalPort, .seq = 1001, .ack = out[0].seq + 1,
                                .flags = tf::kAck}));
  const int fd = skiff_accept4(l, nullptr, nullptr, SOCK_NONBLOCK);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(get_int(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT), 3000);
}

TEST(TcpNotsentLowat, RaisingItWakesAHeldWriter) {
  StackHarness h;
  Conn c = accept_conn(h, OpenOpts{.mss = 1000});
  ASSERT_EQ(set_int(c.fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, 2000), 0);
  ASSERT_EQ(c.send(50000), 12000);
  EXPECT_EQ(ready(c.fd) & EPOLLOUT, 0u);
  ASSERT_EQ(set_int(c.fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, 100000), 0);
  EXPECT_NE(ready(c.fd) & EPOLLOUT, 0u);
  EXPECT_EQ(c.send(50000), 50000);
}
