// epoll on Skiff: readiness reaches a set at the end of a poll iteration (dispatch_events); level/edge
// triggering, EPOLLONESHOT, EPOLLERR/EPOLLHUP/EPOLLRDHUP, error cases, waits driven by the pump, and
// descriptors closed while registered. (Linux comparisons are in test_errno_diff.cc.)
#include "sock_test_util.hh"

using namespace skiff;
using namespace skiff::test;
using namespace skiff::test::sock;

namespace {

struct Ev {
  uint32_t events;
  uint64_t tag;
  bool operator==(const Ev&) const = default;
};
std::ostream& operator<<(std::ostream& os, const Ev& e) {
  return os << "{0x" << std::hex << e.events << std::dec << ", " << e.tag << "}";
}

std::vector<Ev> wait(StackHarness& h, int ep, int max = 16) {
  h.shard().dispatch_events();
  epoll_event out[16];
  const int n = skiff_epoll_wait(ep, out, max, 0);
  EXPECT_GE(n, 0) << strerror(errno);
  std::vector<Ev> v;
  for (int i = 0; i < n; ++i) v.push_back({out[i].events, out[i].data.u64});
  return v;
}

int add(int ep, int fd, uint32_t events, uint64_t tag, int op = EPOLL_CTL_ADD) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = tag;
  return skiff_epoll_ctl(ep, op, fd, &ev);
}

}  // namespace

TEST(Epoll, CreateAndCtlErrors) {
  StackHarness h;
  EXPECT_EQ(skiff_epoll_create(0), -1);
  EXPECT_EQ(errno, EINVAL);
  const int ep = skiff_epoll_create(100);
  ASSERT_GE(ep, 3);
  const int fd = bound_udp(7000);
  EXPECT_EQ(add(ep, fd, EPOLLIN, 1), 0);
  EXPECT_EQ(add(ep, fd, EPOLLIN, 1), -1);
  EXPECT_EQ(errno, EEXIST);
  EXPECT_EQ(add(ep, 999, EPOLLIN, 1), -1);
  EXPECT_EQ(errno, EBADF);
  EXPECT_EQ(add(999, fd, EPOLLIN, 1), -1);
  EXPECT_EQ(errno, EBADF);
  EXPECT_EQ(add(fd, fd, EPOLLIN, 1), -1);
  EXPECT_EQ(errno, EINVAL);
  EXPECT_EQ(add(ep, ep, EPOLLIN, 1), -1);
  EXPECT_EQ(errno, EINVAL);
  const int ep2 = skiff_epoll_create1(0);
  EXPECT_EQ(add(ep, ep2, EPOLLIN, 1), -1);
  EXPECT_EQ(errno, EPERM);  // no nested sets in Skiff
  EXPECT_EQ(skiff_epoll_ctl(ep, EPOLL_CTL_ADD, bound_udp(7001), nullptr), -1);
  EXPECT_EQ(errno, EFAULT);
  EXPECT_EQ(add(ep, fd, EPOLLIN, 1, 42), -1);
  EXPECT_EQ(errno, EINVAL);
  EXPECT_EQ(skiff_epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr), 0);
  EXPECT_EQ(skiff_epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr), -1);
  EXPECT_EQ(errno, ENOENT);
  EXPECT_EQ(add(ep, fd, EPOLLIN, 1, EPOLL_CTL_MOD), -1);
  EXPECT_EQ(errno, ENOENT);
  epoll_event out[1];
  EXPECT_EQ(skiff_epoll_wait(ep, out, 0, 0), -1);
  EXPECT_EQ(errno, EINVAL);
  EXPECT_EQ(skiff_epoll_wait(ep, nullptr, 1, 0), -1);
  EXPECT_EQ(errno, EFAULT);
  EXPECT_EQ(skiff_epoll_wait(fd, out, 1, 0), -1);
  EXPECT_EQ(errno, EINVAL);
  EXPECT_EQ(skiff_epoll_wait(999, out, 1, 0), -1);
  EXPECT_EQ(errno, EBADF);
}

TEST(Epoll, LevelTriggeredInAndOut) {
  StackHarness h;
  const int ep = skiff_epoll_create1(0);
  const int fd = bound_udp(7002);
  ASSERT_EQ(add(ep, fd, EPOLLIN | EPOLLOUT, 0xabcdef0123456789ull), 0);
  // Writable at once: reported as soon as it is added (Linux polls on ADD).
  EXPECT_EQ(wait(h, ep), (std::vector<Ev>{{EPOLLOUT, 0xabcdef0123456789ull}}));
  EXPECT_EQ(wait(h, ep), (std::vector<Ev>{{EPOLLOUT, 0xabcdef0123456789ull}}));  // still
  h.inject(udp_frame(h, 5000, 7002, pattern(3)));
  EXPECT_EQ(wait(h, ep), (std::vector<Ev>{{EPOLLIN | EPOLLOUT, 0xabcdef0123456789ull}}));
  EXPECT_EQ(wait(h, ep), (std::vector<Ev>{{EPOLLIN | EPOLLOUT, 0xabcdef0123456789ull}}));
  uint8_t b[8];
  ASSERT_EQ(skiff_recv(fd, b, sizeof b, 0), 3);
  EXPECT_EQ(wait(h, ep), (std::vector<Ev>{{EPOLLOUT, 0xabcdef0123456789ull}}));
  ASSERT_EQ(add(ep, fd, EPOLLIN, 7, EPOLL_CTL_MOD), 0);
  EXPECT_TRUE(wait(h, ep).empty());
}

TEST(Epoll, EdgeTriggeredReportsEachChangeOnce) {
  StackHarness h;
  const int ep = skiff_epoll_create1(0);
  const int fd = bound_udp(7003);
  ASSERT_EQ(add(ep, fd, EPOLLIN | EPOLLET, 1), 0);
  EXPECT_TRUE(wait(h, ep).empty());
  h.inject(udp_frame(h, 5000, 7003, pattern(3)));
  EXPECT_EQ(wait(h, ep), (std::vector<Ev>{{EPOLLIN, 1}}));
  EXPECT_TRUE(wait(h, ep).empty());
  h.inject(udp_frame(h, 5000, 7003, pattern(4)));
  h.inject(udp_frame(h, 5000, 7003, pattern(5)));  // two arrivals in one iteration: one report
  EXPECT_EQ(wait(h, ep), (std::vector<Ev>{{EPOLLIN, 1}}));
  EXPECT_TRUE(wait(h, ep).empty());
}

TEST(Epoll, OneshotDisarmsUntilMod) {
  StackHarness h;
  const int ep = skiff_epoll_create1(0);
  const int fd = bound_udp(7004);
  ASSERT_EQ(add(ep, fd, EPOLLIN | EPOLLONESHOT, 1), 0);
  h.inject(udp_frame(h, 5000, 7004, pattern(3)));
  EXPECT_EQ(wait(h, ep), (std::vector<Ev>{{EPOLLIN, 1}}));
  EXPECT_TRUE(wait(h, ep).empty());
  h.inject(udp_frame(h, 5000, 7004, pattern(3)));
  EXPECT_TRUE(wait(h, ep).empty());
  ASSERT_EQ(add(ep, fd, EPOLLIN | EPOLLONESHOT, 2, EPOLL_CTL_MOD), 0);
  EXPECT_EQ(wait(h, ep), (std::vector<Ev>{{EPOLLIN, 2}}));
  EXPECT_TRUE(wait(h, ep).empty());
}

TEST(Epoll, HangupAndErrorsAreAlwaysReported) {
  StackHarness h;
  h.learn_peer();
  const int ep = skiff_epoll_create1(0);
  const int a = bound_udp(7005);
  ASSERT_EQ(add(ep, a, EPOLLRDHUP, 1), 0);
  EXPECT_TRUE(wait(h, ep).empty());
  EXPECT_EQ(skiff_shutdown(a, SHUT_RD), -1);  // ENOTCONN, applied anyway
  EXPECT_EQ(wait(h, ep), (std::vector<Ev>{{EPOLLRDHUP, 1}}));
  EXPECT_EQ(skiff_shutdown(a, SHUT_WR), -1);
  EXPECT_EQ(wait(h, ep), (std::vector<Ev>{{EPOLLRDHUP | EPOLLHUP, 1}}));
  const int b = skiff_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  const sockaddr_in to = sin(kPeer, 4444);
  ASSERT_EQ(skiff_connect(b, sa(to), sizeof to), 0);
  ASSERT_EQ(add(ep, b, 0, 2), 0);
  uint8_t x[4] = {};
  ASSERT_EQ(skiff_send(b, x, sizeof x, 0), 4);
  h.inject(icmp_error_about(h, h.sent().at(0)));
  auto got = wait(h, ep);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1], (Ev{EPOLLERR, 2}));
}

TEST(Epoll, MaxeventsSmallerThanReadyRotates) {
  StackHarness h;
  const int ep = skiff_epoll_create1(0);
  int fds[5];
  for (int i = 0; i < 5; ++i) {
    fds[i] = bound_udp(static_cast<uint16_t>(7010 + i));
    ASSERT_EQ(add(ep, fds[i], EPOLLOUT, static_cast<uint64_t>(i)), 0);
  }
  std::vector<uint64_t> order;
  for (int round = 0; round < 5; ++round)
    for (const Ev& e : wait(h, ep, 2)) order.push_back(e.tag);
  ASSERT_EQ(order.size(), 10u);
  // Every socket is served within the first five reports (no starvation), then the cycle repeats.
  EXPECT_EQ(std::set<uint64_t>(order.begin(), order.begin() + 5).size(), 5u);
  EXPECT_EQ(std::vector<uint64_t>(order.begin(), order.begin() + 5),
            std::vector<uint64_t>(order.begin() + 5, order.end()));
}

TEST(Epoll, ClosingASocketRemovesItFromEverySet) {
  StackHarness h;
  const int ep1 = skiff_epoll_create1(0), ep2 = skiff_epoll_create1(0);
  const int fd = bound_udp(7020);
  ASSERT_EQ(add(ep1, fd, EPOLLIN, 1), 0);
  ASSERT_EQ(add(ep2, fd, EPOLLIN, 2), 0);
  h.inject(udp_frame(h, 5000, 7020, pattern(3)));
  h.shard().dispatch_events();  // on both ready lists now
  ASSERT_EQ(skiff_close(fd), 0);
  EXPECT_TRUE(wait(h, ep1).empty());
  EXPECT_TRUE(wait(h, ep2).empty());
  // The descriptor number can be reused and registered again.
  const int again = bound_udp(7021);
  EXPECT_EQ(again, fd);
  EXPECT_EQ(add(ep1, again, EPOLLOUT, 3), 0);
  EXPECT_EQ(wait(h, ep1), (std::vector<Ev>{{EPOLLOUT, 3}}));
  // Closing the set first leaves the socket usable and unregistered.
  ASSERT_EQ(skiff_close(ep1), 0);
  ASSERT_EQ(skiff_close(ep2), 0);
  h.inject(udp_frame(h, 5000, 7021, pattern(3)));
  h.shard().dispatch_events();
  uint8_t b[8];
  EXPECT_EQ(skiff_recv(again, b, sizeof b, 0), 3);
  EXPECT_EQ(skiff_close(again), 0);
  EXPECT_EQ(h.shard().socks.fds.in_use(), 0u);
}

TEST(Epoll, WaitWithTimeoutRunsThePump) {
  StackHarness h;
  const int ep = skiff_epoll_create1(0);
  const int fd = bound_udp(7030);
  ASSERT_EQ(add(ep, fd, EPOLLIN, 9), 0);
  int pumps = 0;
  h.shard().pump_hook = [&] {
    if (++pumps == 4) h.inject(udp_frame(h, 5000, 7030, pattern(2)));
    h.shard().dispatch_events();
  };
  epoll_event out[4];
  ASSERT_EQ(skiff_epoll_wait(ep, out, 4, -1), 1);
  EXPECT_EQ(out[0].events, static_cast<uint32_t>(EPOLLIN));
  EXPECT_EQ(out[0].data.u64, 9u);
  EXPECT_EQ(pumps, 4);
  uint8_t b[4];
  ASSERT_EQ(skiff_recv(fd, b, sizeof b, 0), 2);
  // A timeout on the manual clock.
  pumps = 0;
  h.shard().pump_hook = [&] {
    ++pumps;
    h.advance(5ms);
  };
  EXPECT_EQ(skiff_epoll_wait(ep, out, 4, 50), 0);
  EXPECT_GE(pumps, 10);
  EXPECT_LE(pumps, 11);
  // A set closed by the application while waiting.
  h.shard().pump_hook = [&] { skiff_close(ep); };
  EXPECT_EQ(skiff_epoll_wait(ep, out, 4, -1), -1);
  EXPECT_EQ(errno, EBADF);
  h.shard().pump_hook = nullptr;
}

TEST(Epoll, ManySocketsInOneSet) {
  StackHarness h;
  const int ep = skiff_epoll_create1(0);
  constexpr int kN = 300;
  for (int i = 0; i < kN; ++i)
    ASSERT_EQ(add(ep, bound_udp(static_cast<uint16_t>(8000 + i)), EPOLLIN, static_cast<uint64_t>(i)), 0);
  for (int i = 0; i < kN; i += 3) h.inject(udp_frame(h, 5000, static_cast<uint16_t>(8000 + i), pattern(1)));
  h.shard().dispatch_events();
  std::set<uint64_t> tags;
  epoll_event out[64];
  for (int round = 0; round < 2; ++round) {
    int n;
    while ((n = skiff_epoll_wait(ep, out, 64, 0)) > 0 && tags.size() < kN / 3)
      for (int i = 0; i < n; ++i) tags.insert(out[i].data.u64);
  }
  EXPECT_EQ(tags.size(), static_cast<size_t>(kN / 3));
  for (uint64_t t : tags) EXPECT_EQ(t % 3, 0u);
}
