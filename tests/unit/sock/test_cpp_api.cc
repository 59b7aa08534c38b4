// The C++ API (skiff::net): owning sockets, Result errors, Endpoints, options, and the callbacks that run
// at the end of a poll iteration.
#include <netinet/tcp.h>

#include "api/skiff.hh"
#include "sock_test_util.hh"

using namespace skiff;
using namespace skiff::test;
using namespace skiff::test::sock;
using skiff::net::Endpoint;
using skiff::net::Result;
using skiff::net::SocketRef;
namespace net = skiff::net;

namespace {
std::span<const uint8_t> bytes(const Bytes& b) {
  return {b.data(), b.size()};
}
}  // namespace

TEST(CppApi, EndpointConversions) {
  const Endpoint e{kPeer, 5353};
  const sockaddr_in s = e.to_sockaddr();
  EXPECT_EQ(s.sin_family, AF_INET);
  EXPECT_EQ(ntohs(s.sin_port), 5353);
  EXPECT_EQ(addr_of(s), kPeer);
  EXPECT_EQ(Endpoint::from(s), e);
  EXPECT_EQ(e.to_string(), "10.0.0.1:5353");
}

TEST(CppApi, SocketOwnsItsDescriptor) {
  StackHarness h;
  {
    auto s = net::Socket::udp(SOCK_NONBLOCK);
    ASSERT_TRUE(s) << strerror(s.error());
    EXPECT_EQ(s->fd(), 3);
    net::Socket moved = std::move(*s);
    EXPECT_FALSE(s->valid());
    EXPECT_EQ(moved.fd(), 3);
    EXPECT_EQ(h.shard().socks.in_use(udp_prot), 1u);
    net::Socket other = std::move(net::Socket::udp().value());
    EXPECT_EQ(other.fd(), 4);
    other = std::move(moved);  // closes 4, takes 3
    EXPECT_EQ(other.fd(), 3);
    EXPECT_EQ(h.shard().socks.in_use(udp_prot), 1u);
    const int raw = net::Socket::udp().value().release();
    EXPECT_EQ(raw, 4);
    EXPECT_EQ(skiff_close(raw), 0);
  }
  EXPECT_EQ(h.shard().socks.in_use(udp_prot), 0u);
  EXPECT_EQ(h.shard().socks.fds.in_use(), 0u);
  auto bad = net::Socket::open(SOCK_DGRAM, IPPROTO_TCP);
  EXPECT_FALSE(bad);
  EXPECT_EQ(bad.error(), EPROTONOSUPPORT);
  auto bad2 = net::Socket::open(SOCK_SEQPACKET);
  EXPECT_EQ(bad2.error(), ESOCKTNOSUPPORT);
}

TEST(CppApi, SendReceiveAndNames) {
  StackHarness h;
  h.learn_peer();
  auto s = std::move(net::Socket::udp(SOCK_NONBLOCK).value());
  ASSERT_TRUE(s.bind({Ipv4Addr::any(), 7100}));
  auto again = s.bind({Ipv4Addr::any(), 7101});
  EXPECT_FALSE(again);
  EXPECT_EQ(again.error(), EINVAL);
  EXPECT_EQ(s.local_endpoint().value(), (Endpoint{Ipv4Addr::any(), 7100}));
  EXPECT_EQ(s.peer_endpoint().error(), ENOTCONN);
  const Bytes p = pattern(50, 1);
  auto n = s.send_to(bytes(p), {kPeer, 5000});
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 50u);
  auto out = sent_udp(h.sent());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].payload, p);
  EXPECT_EQ(s.send(bytes(p)).error(), EDESTADDRREQ);
  uint8_t buf[100];
  EXPECT_EQ(s.recv({buf, sizeof buf}).error(), EAGAIN);
  h.inject(udp_frame(h, 5000, 7100, p));
  Endpoint from;
  auto r = s.recv_from({buf, sizeof buf}, &from);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, 50u);
  EXPECT_EQ(from, (Endpoint{kPeer, 5000}));
  ASSERT_TRUE(s.connect({kPeer, 5000}));
  EXPECT_EQ(s.peer_endpoint().value(), (Endpoint{kPeer, 5000}));
  EXPECT_EQ(s.local_endpoint().value(), (Endpoint{kOur, 7100}));
  ASSERT_TRUE(s.send(bytes(p)));
  EXPECT_EQ(h.sent().size(), 1u);
  EXPECT_EQ(s.listen().error(), EOPNOTSUPP);
  EXPECT_EQ(s.accept().error(), EOPNOTSUPP);
  EXPECT_EQ(s.shutdown(7).error(), EINVAL);
  EXPECT_TRUE(s.shutdown(SHUT_RDWR));
  EXPECT_EQ(s.send(bytes(p)).error(), EPIPE);
}

TEST(CppApi, OptionsAndNonblocking) {
  StackHarness h;
  auto s = std::move(net::Socket::udp().value());
  EXPECT_EQ(s.option(SOL_SOCKET, SO_TYPE).value(), SOCK_DGRAM);
  ASSERT_TRUE(s.set_option(SOL_SOCKET, SO_RCVBUF, 5000));
  EXPECT_EQ(s.option(SOL_SOCKET, SO_RCVBUF).value(), 10000);
  EXPECT_EQ(s.set_option(IPPROTO_IP, IP_TTL, 0).error(), EINVAL);
  EXPECT_EQ(s.option(SOL_SOCKET, 9999).error(), ENOPROTOOPT);
  EXPECT_EQ(skiff_fcntl(s.fd(), F_GETFL) & O_NONBLOCK, 0);
  ASSERT_TRUE(s.set_nonblocking(true));
  EXPECT_EQ(skiff_fcntl(s.fd(), F_GETFL) & O_NONBLOCK, O_NONBLOCK);
  uint8_t b[4];
  EXPECT_EQ(s.recv({b, sizeof b}).error(), EAGAIN);
  ASSERT_TRUE(s.set_nonblocking(false));
  EXPECT_EQ(skiff_fcntl(s.fd(), F_GETFL) & O_NONBLOCK, 0);
  EXPECT_EQ(s.take_error(), 0);
  SocketRef bad(999);
  EXPECT_EQ(bad.set_nonblocking(true).error(), EBADF);
  EXPECT_EQ(bad.take_error(), EBADF);
  // TCP_INFO: a UDP socket has none (EOPNOTSUPP, as Linux 6.18); a TCP one the whole struct.
  EXPECT_EQ(s.tcp_info().error(), EOPNOTSUPP);
  EXPECT_EQ(bad.tcp_info().error(), EBADF);
  auto t = std::move(net::Socket::tcp().value());
  auto ti = t.tcp_info();
  ASSERT_TRUE(ti) << strerror(ti.error());
  EXPECT_EQ(ti->tcpi_state, TCP_CLOSE);
  EXPECT_EQ(ti->tcpi_min_rtt, ~0u);
  EXPECT_EQ(ti->tcpi_snd_cwnd, 10u);
}

TEST(CppApi, ReadableCallbackRunsAtTheEndOfTheIteration) {
  StackHarness h;
  auto s = std::move(net::Socket::udp(SOCK_NONBLOCK).value());
  ASSERT_TRUE(s.bind({Ipv4Addr::any(), 7102}));
  std::vector<size_t> got;
  s.on_readable([&](SocketRef r) {
    uint8_t b[64];
    for (;;) {
      auto n = r.recv({b, sizeof b});
      if (!n) break;
      got.push_back(*n);
    }
  });
  h.shard().dispatch_events();
  EXPECT_TRUE(got.empty());  // nothing to read yet
  h.inject(udp_frame(h, 5000, 7102, pattern(5)));
  h.inject(udp_frame(h, 5000, 7102, pattern(6)));
  EXPECT_TRUE(got.empty());  // not during input
  h.shard().dispatch_events();
  EXPECT_EQ(got, (std::vector<size_t>{5, 6}));
  h.shard().dispatch_events();
  EXPECT_EQ(got.size(), 2u);  // once per change
  // Already readable when the callback is set: it runs at the end of this iteration.
  s.on_readable({});
  h.inject(udp_frame(h, 5000, 7102, pattern(7)));
  h.shard().dispatch_events();
  EXPECT_EQ(got.size(), 2u);  // removed
  s.on_readable([&](SocketRef r) {
    uint8_t b[64];
    got.push_back(*r.recv({b, sizeof b}));
  });
  h.shard().dispatch_events();
  EXPECT_EQ(got, (std::vector<size_t>{5, 6, 7}));
  // poll_once delivers them too.
  h.inject(udp_frame(h, 5000, 7102, pattern(8)));
  h.shard().poll_once();
  EXPECT_EQ(got.back(), 8u);
}

TEST(CppApi, WritableAndClosedCallbacks) {
  StackHarness h;
  h.learn_peer();
  auto s = std::move(net::Socket::udp(SOCK_NONBLOCK).value());
  int writable = 0, closed = 0;
  s.on_writable([&](SocketRef) { ++writable; });
  h.shard().dispatch_events();
  EXPECT_EQ(writable, 1);                                    // writable at once
  ASSERT_TRUE(s.set_option(SOL_SOCKET, SO_SNDBUF, 100000));  // more room: writable again
  h.shard().dispatch_events();
  EXPECT_EQ(writable, 2);
  s.on_closed([&](SocketRef r) {
    ++closed;
    EXPECT_EQ(r.take_error(), ECONNREFUSED);
  });
  ASSERT_TRUE(s.connect({kPeer, 4444}));
  const Bytes p = pattern(4);
  ASSERT_TRUE(s.send(bytes(p)));
  h.inject(icmp_error_about(h, h.sent().at(0)));
  h.shard().dispatch_events();
  EXPECT_EQ(closed, 1);
  auto t = std::move(net::Socket::udp(SOCK_NONBLOCK).value());
  int t_closed = 0;
  t.on_closed([&](SocketRef) { ++t_closed; });
  h.shard().dispatch_events();
  EXPECT_EQ(t_closed, 0);
  EXPECT_TRUE(t.shutdown(SHUT_RDWR).error() == ENOTCONN);
  h.shard().dispatch_events();
  EXPECT_EQ(t_closed, 1);  // EPOLLHUP
}

TEST(CppApi, CallbacksRunOnlyForReadinessStillThereAtTheEndOfTheIteration) {
  // A fresh TCP socket polls EPOLLOUT|EPOLLHUP (CLOSE, as Linux); once connect() has put it in SYN-SENT it
  // is neither. Callbacks set before the connect must not run at the end of the iteration, as epoll's
  // harvest (which polls again) reports nothing. Regression: both ran from the wake bits gathered when they
  // were set, and the application closed a healthy connection or wrote into a connecting one.
  StackHarness h;
  h.learn_peer();
  auto s = std::move(net::Socket::tcp(SOCK_NONBLOCK).value());
  int writable = 0, closed = 0;
  s.on_closed([&](SocketRef) { ++closed; });
  s.on_writable([&](SocketRef) { ++writable; });
  const auto r = s.connect({kPeer, 80});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), EINPROGRESS);
  h.shard().dispatch_events();
  EXPECT_EQ(closed, 0);
  EXPECT_EQ(writable, 0);
  // A UDP socket whose readable callback reads everything: a writable callback still runs (it is writable);
  // a second datagram's wake finds nothing left to read for a callback set after it was read.
  auto u = std::move(net::Socket::udp(SOCK_NONBLOCK).value());
  ASSERT_TRUE(u.bind({Ipv4Addr::any(), 7110}));
  h.shard().dispatch_events();
  int readable = 0;
  h.inject(udp_frame(h, 5000, 7110, pattern(3)));
  uint8_t b[16];
  ASSERT_TRUE(u.recv({b, sizeof b}));  // read before the iteration ends
  u.on_readable([&](SocketRef) { ++readable; });
  h.shard().dispatch_events();
  EXPECT_EQ(readable, 0);  // the datagram that woke it is gone
}

TEST(CppApi, CallbackMayCloseItsOwnSocket) {
  StackHarness h;
  auto s = net::Socket::udp(SOCK_NONBLOCK).value().release();
  SocketRef r(s);
  ASSERT_TRUE(r.bind({Ipv4Addr::any(), 7103}));
  int readable = 0, writable = 0, closed = 0;
  r.on_readable([&](SocketRef x) {
    ++readable;
    skiff_close(x.fd());
  });
  r.on_writable([&](SocketRef) { ++writable; });
  r.on_closed([&](SocketRef) { ++closed; });
  h.inject(udp_frame(h, 5000, 7103, pattern(1)));
  h.shard().dispatch_events();
  EXPECT_EQ(readable, 1);
  EXPECT_EQ(writable, 0);  // the socket is gone: no further callbacks
  EXPECT_EQ(closed, 0);
  EXPECT_EQ(h.shard().socks.in_use(udp_prot), 0u);
  h.shard().dispatch_events();
  EXPECT_EQ(readable, 1);
}

TEST(CppApi, CallbackThatReopensItsDescriptorGetsNoCallbacksOfTheOldSocket) {
  // A readable callback closes its socket and opens another, which takes the same descriptor (and, from the
  // same slab, the same protocol object), and sets a writable callback on it. The old socket's wake must
  // not run the new socket's callback in this iteration; the new one runs once, in the next (already
  // writable when set). Regression: the check after each callback compared only the descriptor's Sock.
  StackHarness h;
  auto s = net::Socket::udp(SOCK_NONBLOCK).value().release();
  SocketRef r(s);
  ASSERT_TRUE(r.bind({Ipv4Addr::any(), 7104}));
  int fresh = -1, writable = 0;
  r.on_readable([&](SocketRef x) {
    skiff_close(x.fd());
    fresh = net::Socket::udp(SOCK_NONBLOCK).value().release();
    SocketRef(fresh).on_writable([&](SocketRef) { ++writable; });
  });
  h.shard().dispatch_events();  // (r's own "writable at once" wake, before the datagram)
  ASSERT_TRUE(r.set_option(SOL_SOCKET, SO_SNDBUF, 100000));  // wakes EPOLLOUT in the datagram's iteration
  h.inject(udp_frame(h, 5000, 7104, pattern(1)));
  h.shard().dispatch_events();
  ASSERT_EQ(fresh, s);
  EXPECT_EQ(writable, 0);
  h.shard().dispatch_events();
  EXPECT_EQ(writable, 1);
  skiff_close(fresh);
}

TEST(CppApi, CallbackClosingAnotherSocketOnTheWakeList) {
  StackHarness h;
  int a_fd = net::Socket::udp(SOCK_NONBLOCK).value().release();
  int b_fd = net::Socket::udp(SOCK_NONBLOCK).value().release();
  ASSERT_TRUE(SocketRef(a_fd).bind({Ipv4Addr::any(), 7104}));
  ASSERT_TRUE(SocketRef(b_fd).bind({Ipv4Addr::any(), 7105}));
  int b_calls = 0;
  SocketRef(a_fd).on_readable([&](SocketRef) { skiff_close(b_fd); });
  SocketRef(b_fd).on_readable([&](SocketRef) { ++b_calls; });
  h.inject(udp_frame(h, 5000, 7104, pattern(1)));
  h.inject(udp_frame(h, 5000, 7105, pattern(1)));
  h.shard().dispatch_events();
  EXPECT_EQ(b_calls, 0);
  EXPECT_EQ(h.shard().socks.in_use(udp_prot), 1u);
  skiff_close(a_fd);
}

TEST(CppApi, CallbackWakingItsOwnSocketRunsNextIteration) {
  StackHarness h;
  auto s = std::move(net::Socket::udp(SOCK_NONBLOCK).value());
  int calls = 0;
  s.on_writable([&](SocketRef r) {
    ++calls;
    // Changing the send buffer wakes writers again: that must not loop within this iteration.
    EXPECT_TRUE(r.set_option(SOL_SOCKET, SO_SNDBUF, 10000 + calls));
  });
  h.shard().dispatch_events();
  EXPECT_EQ(calls, 1);
  h.shard().dispatch_events();
  EXPECT_EQ(calls, 2);
}

TEST(CppApi, CallbacksOnABadDescriptorAreIgnored) {
  StackHarness h;
  SocketRef bad(999);
  bad.on_readable([](SocketRef) { FAIL(); });
  const int ep = skiff_epoll_create1(0);
  SocketRef(ep).on_readable([](SocketRef) { FAIL(); });
  h.shard().dispatch_events();
  EXPECT_EQ(bad.bind({Ipv4Addr::any(), 1}).error(), EBADF);
  EXPECT_EQ(SocketRef(ep).bind({Ipv4Addr::any(), 1}).error(), ENOTSOCK);
}
