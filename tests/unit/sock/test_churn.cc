// Churn: a million socket()/close() cycles leave no object in use and the process's memory flat; a mixed
// workload (bind, connect, send, epoll, callbacks) leaves nothing behind either.
#include <chrono>
#include <cstdio>

#include "api/skiff.hh"
#include "sock_test_util.hh"

using namespace skiff;
using namespace skiff::test;
using namespace skiff::test::sock;

namespace {

// Resident set size in bytes (/proc/self/statm, second field).
long rss_bytes() {
  FILE* f = fopen("/proc/self/statm", "r");
  if (!f) return -1;
  long size = 0, resident = 0;
  const int n = fscanf(f, "%ld %ld", &size, &resident);
  fclose(f);
  return n == 2 ? resident * sysconf(_SC_PAGESIZE) : -1;
}

}  // namespace

TEST(Churn, MillionSocketCloseCycles) {
  StackHarness h;
  constexpr int kWarmup = 20'000;
  constexpr int kCycles = 1'000'000;
  for (int i = 0; i < kWarmup; ++i) {
    const int fd = skiff_socket(AF_INET, SOCK_DGRAM, 0);
    ASSERT_EQ(fd, 3);
    ASSERT_EQ(skiff_close(fd), 0);
  }
  const long before = rss_bytes();
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < kCycles; ++i) {
    const int fd = skiff_socket(AF_INET, SOCK_DGRAM, 0);
    if (fd != 3) {
      ASSERT_EQ(fd, 3) << "cycle " << i << ": " << strerror(errno);
    }
    if (skiff_close(fd) != 0) {
      ASSERT_EQ(skiff_close(fd), 0) << "cycle " << i;
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const long after = rss_bytes();
  EXPECT_EQ(h.shard().socks.in_use(udp_prot), 0u);
  EXPECT_EQ(h.shard().socks.fds.in_use(), 0u);
  const auto& st = h.shard().socks.slab_stats(udp_prot);
  EXPECT_EQ(st.allocs, static_cast<uint64_t>(kWarmup + kCycles));
  EXPECT_EQ(st.frees, st.allocs);
  EXPECT_EQ(st.fallback, 0u);  // all from the slab
  ASSERT_GT(before, 0);
  EXPECT_LT(after - before, 1L << 20) << "RSS grew from " << before << " to " << after;
  RecordProperty("cycles_per_second", static_cast<int>(kCycles / secs));
  printf("[          ] %d socket()/close() cycles in %.3f s (%.0f ns each); RSS %ld -> %ld KiB\n", kCycles,
         secs, secs * 1e9 / kCycles, before / 1024, after / 1024);
}

TEST(Churn, CyclesAcrossProtocolsAndEpoll) {
  StackHarness h;
  // The same with raw sockets and epoll descriptors interleaved, in smaller numbers.
  for (int i = 0; i < 100'000; ++i) {
    const int u = skiff_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    const int r = skiff_socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK, IPPROTO_ICMP);
    const int ep = skiff_epoll_create1(0);
    epoll_event ev{EPOLLIN, {.fd = u}};
    ASSERT_EQ(skiff_epoll_ctl(ep, EPOLL_CTL_ADD, u, &ev), 0);
    ev.data.fd = r;
    ASSERT_EQ(skiff_epoll_ctl(ep, EPOLL_CTL_ADD, r, &ev), 0);
    // Close in varying order: sockets before or after their set.
    if (i & 1) {
      ASSERT_EQ(skiff_close(ep), 0);
      ASSERT_EQ(skiff_close(u), 0);
      ASSERT_EQ(skiff_close(r), 0);
    } else {
      ASSERT_EQ(skiff_close(u), 0);
      ASSERT_EQ(skiff_close(r), 0);
      ASSERT_EQ(skiff_close(ep), 0);
    }
  }
  EXPECT_EQ(h.shard().socks.in_use(udp_prot), 0u);
  EXPECT_EQ(h.shard().socks.in_use(raw_prot), 0u);
  EXPECT_EQ(h.shard().socks.fds.in_use(), 0u);
  EXPECT_TRUE(h.shard().raw.empty());
}

TEST(Churn, MixedWorkloadLeavesNothingBehind) {
  StackHarness h;
  h.learn_peer();
  for (int i = 0; i < 20'000; ++i) {
    const int fd = skiff_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    ASSERT_GE(fd, 3);
    const sockaddr_in any = sin(Ipv4Addr::any(), 0);
    ASSERT_EQ(skiff_bind(fd, sa(any), sizeof any), 0);
    const uint16_t port = local_port(fd);
    if (i % 3 == 0) {
      const sockaddr_in to = sin(kPeer, 5000);
      ASSERT_EQ(skiff_connect(fd, sa(to), sizeof to), 0);
    }
    const sockaddr_in to = sin(kPeer, 5000);
    uint8_t b[32] = {};
    ASSERT_EQ(skiff_sendto(fd, b, sizeof b, 0, sa(to), sizeof to), 32);
    h.inject(udp_frame(h, 5000, port, pattern(16)));  // queued and never read: freed by close
    if (i % 4 == 0) {
      net::SocketRef(fd).on_readable([](net::SocketRef) {});
      h.shard().dispatch_events();
    }
    ASSERT_EQ(skiff_close(fd), 0);
    h.sent();
  }
  EXPECT_EQ(h.shard().socks.in_use(udp_prot), 0u);
  EXPECT_EQ(h.shard().socks.fds.in_use(), 0u);
  EXPECT_EQ(h.shard().udp.bound(), 0u);
  EXPECT_EQ(h.buffers_in_use(), 0u);
}
