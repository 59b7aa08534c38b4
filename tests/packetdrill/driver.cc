// Plays packetdrill's side of the shared-object interface against libskiff_packetdrill.so, the way
// packetdrill --so_filename does: dlopen, packetdrill_interface_init, then socket calls, netdev_send (IP
// packets from the remote end 192.0.2.1) and netdev_receive (the packets the stack sent), with the time
// read through gettimeofday and moved through usleep. Checks each segment exactly.
//
//   test_packetdrill path/to/libskiff_packetdrill.so
#include <arpa/inet.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "packetdrill_abi.h"

#if defined(__SANITIZE_ADDRESS__)
#define PD_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PD_ASAN 1
#endif
#endif

namespace {

std::string g_so_path;

using Bytes = std::vector<uint8_t>;
constexpr uint32_t kLocal = 0xc0a80001;   // 192.168.0.1
constexpr uint32_t kRemote = 0xc0000201;  // 192.0.2.1
constexpr uint16_t kPort = 8080;
constexpr uint16_t kRemotePort = 50000;
constexpr uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kPsh = 0x08, kAck = 0x10;

void put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
void put32(uint8_t* p, uint32_t v) {
  put16(p, static_cast<uint16_t>(v >> 16));
  put16(p + 2, static_cast<uint16_t>(v));
}
uint16_t get16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint32_t get32(const uint8_t* p) { return uint32_t{get16(p)} << 16 | get16(p + 2); }

uint16_t csum(const uint8_t* p, size_t n, uint32_t sum = 0) {
  for (size_t i = 0; i + 1 < n; i += 2) sum += get16(p + i);
  if (n & 1) sum += uint32_t{p[n - 1]} << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

struct Seg {
  uint32_t src = kRemote, dst = kLocal;
  uint16_t sport = kRemotePort, dport = kPort;
  uint32_t seq = 0, ack = 0;
  uint8_t flags = 0;
  uint16_t win = 65535;
  Bytes opts;
  Bytes data;
  uint16_t mss = 0;  // parsed
};

// An IPv4 packet carrying the segment, checksums filled in.
Bytes build(const Seg& s) {
  const size_t thl = 20 + ((s.opts.size() + 3) & ~size_t{3});
  const size_t tl = 20 + thl + s.data.size();
  Bytes b(tl, 0);
  b[0] = 0x45;
  put16(&b[2], static_cast<uint16_t>(tl));
  put16(&b[4], 1);
  b[8] = 64;
  b[9] = 6;
  put32(&b[12], s.src);
  put32(&b[16], s.dst);
  put16(&b[10], csum(b.data(), 20));
  uint8_t* t = &b[20];
  put16(t, s.sport);
  put16(t + 2, s.dport);
  put32(t + 4, s.seq);
  put32(t + 8, s.ack);
  t[12] = static_cast<uint8_t>((thl / 4) << 4);
  t[13] = s.flags;
  put16(t + 14, s.win);
  std::copy(s.opts.begin(), s.opts.end(), t + 20);
  std::copy(s.data.begin(), s.data.end(), t + thl);
  const size_t l4 = thl + s.data.size();
  uint32_t pseudo = (s.src >> 16) + (s.src & 0xffff) + (s.dst >> 16) + (s.dst & 0xffff) + 6 + static_cast<uint32_t>(l4);
  put16(t + 16, csum(t, l4, pseudo));
  return b;
}

std::optional<Seg> parse(const Bytes& b) {
  if (b.size() < 40 || (b[0] >> 4) != 4 || b[9] != 6) return std::nullopt;
  const size_t ihl = size_t(b[0] & 0xf) * 4;
  const size_t tl = get16(&b[2]);
  if (tl > b.size() || ihl + 20 > tl) return std::nullopt;
  if (csum(b.data(), ihl) != 0) return std::nullopt;
  Seg s;
  s.src = get32(&b[12]);
  s.dst = get32(&b[16]);
  const uint8_t* t = &b[ihl];
  const size_t l4 = tl - ihl;
  const uint32_t pseudo = (s.src >> 16) + (s.src & 0xffff) + (s.dst >> 16) + (s.dst & 0xffff) + 6 + static_cast<uint32_t>(l4);
  if (csum(t, l4, pseudo) != 0) return std::nullopt;
  s.sport = get16(t);
  s.dport = get16(t + 2);
  s.seq = get32(t + 4);
  s.ack = get32(t + 8);
  const size_t thl = size_t(t[12] >> 4) * 4;
  s.flags = t[13];
  s.win = get16(t + 14);
  s.opts.assign(t + 20, t + thl);
  s.data.assign(t + thl, t + l4);
  for (size_t i = 0; i < s.opts.size();) {
    const uint8_t k = s.opts[i];
    if (k == 0) break;
    if (k == 1) {
      ++i;
      continue;
    }
    if (i + 1 >= s.opts.size() || s.opts[i + 1] < 2) break;
    if (k == 2 && s.opts[i + 1] == 4 && i + 4 <= s.opts.size()) s.mss = get16(&s.opts[i + 2]);
    i += s.opts[i + 1];
  }
  return s;
}

Bytes pattern(size_t n, uint8_t seed) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(seed + i * 13);
  return b;
}

sockaddr_in sin_of(uint32_t a, uint16_t port) {
  sockaddr_in s{};
  s.sin_family = AF_INET;
  s.sin_port = htons(port);
  s.sin_addr.s_addr = htonl(a);
  return s;
}

class Packetdrill : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(g_so_path.empty()) << "usage: test_packetdrill path/to/libskiff_packetdrill.so";
    int mode = RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE;
#ifndef PD_ASAN
    mode |= RTLD_DEEPBIND;  // as packetdrill loads it (AddressSanitizer refuses RTLD_DEEPBIND)
#endif
    handle_ = dlopen(g_so_path.c_str(), mode);
    ASSERT_NE(handle_, nullptr) << dlerror();
    auto init = reinterpret_cast<packetdrill_interface_init_fn>(dlsym(handle_, "packetdrill_interface_init"));
    ASSERT_NE(init, nullptr) << dlerror();
    in_use_ = reinterpret_cast<unsigned (*)(void*)>(dlsym(handle_, "skiff_packetdrill_buffers_in_use"));
    ASSERT_NE(in_use_, nullptr);
    init("", &pd_);
    ASSERT_NE(pd_.userdata, nullptr);
    t0_ = now();
  }

  void TearDown() override {
    if (pd_.free) {
      for (int fd : open_) pd_.close(pd_.userdata, fd);
      // Let TIME-WAIT and every timer run out: nothing may hold a buffer afterwards.
      pd_.usleep(pd_.userdata, 130'000'000);
      EXPECT_EQ(in_use_(pd_.userdata), 0u) << "packet buffers still taken";
      pd_.free(pd_.userdata);
    }
    if (handle_) dlclose(handle_);
  }

  void* u() { return pd_.userdata; }

  long long now() {
    timeval tv{};
    EXPECT_EQ(pd_.gettimeofday(u(), &tv, nullptr), 0);
    return static_cast<long long>(tv.tv_sec) * 1000000 + tv.tv_usec;
  }

  void inject(const Seg& s) {
    const Bytes b = build(s);
    ASSERT_EQ(pd_.netdev_send(u(), b.data(), b.size()), 0);
  }

  // The next TCP segment the stack sends (virtual time runs until it does); `at` gets its time.
  Seg next(long long* at = nullptr) {
    Bytes buf(65536);
    size_t n = buf.size();
    long long t = 0;
    EXPECT_EQ(pd_.netdev_receive(u(), buf.data(), &n, &t), 0) << "nothing sent";
    buf.resize(n);
    auto s = parse(buf);
    EXPECT_TRUE(s.has_value()) << "not a valid TCP/IPv4 packet (" << n << " bytes)";
    if (at) *at = t;
    return s.value_or(Seg{});
  }

  // Listener on 8080 and the passive handshake (the remote's ISN 0, MSS 1000); returns the accepted fd.
  int passive_open() {
    const int lfd = pd_.socket(u(), AF_INET, SOCK_STREAM, IPPROTO_TCP);
    EXPECT_EQ(lfd, 3);
    open_.push_back(lfd);
    const int one = 1;
    EXPECT_EQ(pd_.setsockopt(u(), lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one), 0);
    const sockaddr_in a = sin_of(INADDR_ANY, kPort);
    EXPECT_EQ(pd_.bind(u(), lfd, reinterpret_cast<const sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(pd_.listen(u(), lfd, 1), 0);

    inject({.seq = 0, .flags = kSyn, .win = 32792, .opts = {2, 4, 0x03, 0xe8}});  // <mss 1000>
    const Seg sa = next();
    EXPECT_EQ(sa.src, kLocal);
    EXPECT_EQ(sa.dst, kRemote);
    EXPECT_EQ(sa.sport, kPort);
    EXPECT_EQ(sa.dport, kRemotePort);
    EXPECT_EQ(sa.flags, kSyn | kAck);
    EXPECT_EQ(sa.ack, 1u);
    EXPECT_EQ(sa.mss, 1460);
    EXPECT_TRUE(sa.data.empty());
    iss_ = sa.seq;
    inject({.seq = 1, .ack = iss_ + 1, .flags = kAck, .win = 32792});

    sockaddr_in peer{};
    socklen_t len = sizeof peer;
    const int fd = pd_.accept(u(), lfd, reinterpret_cast<sockaddr*>(&peer), &len);
    EXPECT_EQ(fd, 4);
    EXPECT_EQ(ntohl(peer.sin_addr.s_addr), kRemote);
    EXPECT_EQ(ntohs(peer.sin_port), kRemotePort);
    open_.push_back(fd);
    return fd;
  }

  void forget(int fd) { std::erase(open_, fd); }

  // The scheduler state of thread `tid` of this process ('R', 'S', ...), or 0 if it is gone.
  static char thread_state(pid_t tid) {
    std::ifstream f("/proc/self/task/" + std::to_string(tid) + "/stat");
    std::string line;
    if (!std::getline(f, line)) return 0;
    const size_t p = line.rfind(')');
    return p != std::string::npos && p + 2 < line.size() ? line[p + 2] : 0;
  }

  // Waits (real time, up to 10 s) until the thread that set `tid` is blocked in its call: asleep in the
  // kernel ('S') on 10 looks in a row, 1 ms apart, with its call not returned (`rc` still -2).
  static bool wait_until_sleeping(const std::atomic<pid_t>& tid, const std::atomic<ssize_t>& rc) {
    int asleep = 0;
    for (int i = 0; i < 10'000 && asleep < 10; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      if (rc.load() != -2) return false;
      const pid_t t = tid.load();
      asleep = t && thread_state(t) == 'S' ? asleep + 1 : 0;
    }
    return asleep >= 10 && rc.load() == -2;
  }

  void* handle_ = nullptr;
  packetdrill_interface pd_{};
  unsigned (*in_use_)(void*) = nullptr;
  std::vector<int> open_;
  uint32_t iss_ = 0;
  long long t0_ = 0;
};

TEST_F(Packetdrill, PassiveOpenDataBothWaysAndClose) {
  const int fd = passive_open();

  // 1000 bytes in: delivered, ACKed at once (the connection's first segments are ACKed quickly).
  const Bytes in = pattern(1000, 1);
  inject({.seq = 1, .ack = iss_ + 1, .flags = kAck | kPsh, .win = 32792, .data = in});
  Bytes got(4000);
  ASSERT_EQ(pd_.read(u(), fd, got.data(), got.size()), 1000);
  got.resize(1000);
  EXPECT_EQ(got, in);
  long long t = 0;
  Seg a = next(&t);
  EXPECT_EQ(a.flags, kAck);
  EXPECT_EQ(a.seq, iss_ + 1);
  EXPECT_EQ(a.ack, 1001u);
  EXPECT_TRUE(a.data.empty());
  EXPECT_LT(t - t0_, 1000) << "the ACK was not immediate";

  // 2000 bytes out: two MSS-sized (1000) segments, the last pushed.
  const Bytes out = pattern(2000, 7);
  ASSERT_EQ(pd_.write(u(), fd, out.data(), out.size()), 2000);
  Seg d1 = next(), d2 = next();
  EXPECT_EQ(d1.flags, kAck);
  EXPECT_EQ(d1.seq, iss_ + 1);
  EXPECT_EQ(d1.ack, 1001u);
  EXPECT_EQ(d1.data, Bytes(out.begin(), out.begin() + 1000));
  EXPECT_EQ(d2.flags, kAck | kPsh);
  EXPECT_EQ(d2.seq, iss_ + 1001);
  EXPECT_EQ(d2.ack, 1001u);
  EXPECT_EQ(d2.data, Bytes(out.begin() + 1000, out.end()));
  inject({.seq = 1001, .ack = iss_ + 2001, .flags = kAck, .win = 32792});

  // Our close: FIN; the remote's FIN|ACK; our last ACK (TIME-WAIT).
  ASSERT_EQ(pd_.close(u(), fd), 0);
  forget(fd);
  Seg f = next();
  EXPECT_EQ(f.flags, kFin | kAck);
  EXPECT_EQ(f.seq, iss_ + 2001);
  EXPECT_EQ(f.ack, 1001u);
  inject({.seq = 1001, .ack = iss_ + 2002, .flags = kFin | kAck, .win = 32792});
  Seg l = next();
  EXPECT_EQ(l.flags, kAck);
  EXPECT_EQ(l.seq, iss_ + 2002);
  EXPECT_EQ(l.ack, 1002u);
}

TEST_F(Packetdrill, BlockingReadReturnsWhenDataArrives) {
  const int fd = passive_open();
  Bytes got(100);
  std::atomic<ssize_t> rc{-2};
  std::atomic<long long> done_at{0};
  std::atomic<pid_t> tid{0};
  // packetdrill runs a blocking call on its own thread while the script goes on, and goes on only once
  // that thread sleeps in the kernel (it reads the thread's state from /proc); so do we.
  std::thread reader([&] {
    tid = static_cast<pid_t>(syscall(SYS_gettid));
    rc = pd_.read(u(), fd, got.data(), got.size());
    done_at = now();
  });
  EXPECT_TRUE(wait_until_sleeping(tid, rc)) << "the blocked read never slept (it spins, or it returned " << rc.load() << ")";
  EXPECT_EQ(pd_.usleep(u(), 250'000), 0);  // 250 ms of script time with the reader blocked
  EXPECT_EQ(rc.load(), -2) << "the read did not block";
  const long long sent_at = now();
  inject({.seq = 1, .ack = iss_ + 1, .flags = kAck | kPsh, .win = 32792, .data = pattern(100, 3)});
  reader.join();
  EXPECT_EQ(rc.load(), 100);
  EXPECT_EQ(got, pattern(100, 3));
  EXPECT_GE(done_at.load() - t0_, 250'000);
  EXPECT_LT(done_at.load() - sent_at, 1000) << "the read returned late (virtual time ran on)";
  Seg a = next();
  EXPECT_EQ(a.ack, 101u);
}

TEST_F(Packetdrill, RetransmissionComesOutAtItsTime) {
  const int fd = passive_open();
  const Bytes out = pattern(500, 9);
  ASSERT_EQ(pd_.write(u(), fd, out.data(), out.size()), 500);
  long long t1 = 0, t2 = 0, t3 = 0;
  Seg s1 = next(&t1);
  Seg s2 = next(&t2);  // not acknowledged: retransmitted after the RTO, then again after twice that
  Seg s3 = next(&t3);
  for (const Seg* s : {&s1, &s2, &s3}) {
    EXPECT_EQ(s->seq, iss_ + 1);
    EXPECT_EQ(s->data, out);
  }
  // With a handshake RTT of ~0 the RTO is its 200 ms floor; the next one backs off (doubles). Timers run at
  // the adapter's 1 ms steps.
  EXPECT_GE(t2 - t1, 200'000);
  EXPECT_LE(t2 - t1, 1'001'000);
  EXPECT_GE(t3 - t2, 2 * (t2 - t1) - 2'000) << "no backoff";
  EXPECT_LT(t3 - t1, 10'000'000);
  inject({.seq = 1, .ack = iss_ + 501, .flags = kAck, .win = 32792});
}

TEST_F(Packetdrill, TimeMovesOnlyWithTheScript) {
  const long long a = now();
  ASSERT_EQ(pd_.usleep(u(), 1'500'000), 0);
  const long long b = now();
  EXPECT_GE(b - a, 1'500'000);
  EXPECT_LT(b - a, 1'500'010);
}

TEST_F(Packetdrill, PollReportsReadableAndTimesOut) {
  const int fd = passive_open();
  pollfd p{fd, POLLIN, 0};
  const long long before = now();
  EXPECT_EQ(pd_.poll(u(), &p, 1, 100), 0);  // nothing to read: times out after 100 ms of virtual time
  EXPECT_GE(now() - before, 100'000);
  inject({.seq = 1, .ack = iss_ + 1, .flags = kAck | kPsh, .win = 32792, .data = pattern(10, 1)});
  p.revents = 0;
  EXPECT_EQ(pd_.poll(u(), &p, 1, 0), 1);
  EXPECT_TRUE(p.revents & POLLIN);
  EXPECT_EQ(pd_.fcntl(u(), fd, F_SETFL, O_RDWR | O_NONBLOCK), 0);
  EXPECT_EQ(pd_.fcntl(u(), fd, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
  Bytes got(64);
  EXPECT_EQ(pd_.read(u(), fd, got.data(), got.size()), 10);
  EXPECT_EQ(pd_.read(u(), fd, got.data(), got.size()), -1);
  EXPECT_EQ(errno, EAGAIN);
  next();  // the ACK of the data
}

TEST_F(Packetdrill, ActiveOpenAndReset) {
  const int fd = pd_.socket(u(), AF_INET, SOCK_STREAM, IPPROTO_TCP);
  ASSERT_GE(fd, 3);
  open_.push_back(fd);
  ASSERT_EQ(pd_.fcntl(u(), fd, F_SETFL, O_RDWR | O_NONBLOCK), 0);
  const sockaddr_in r = sin_of(kRemote, 80);
  EXPECT_EQ(pd_.connect(u(), fd, reinterpret_cast<const sockaddr*>(&r), sizeof r), -1);
  EXPECT_EQ(errno, EINPROGRESS);
  Seg syn = next();
  EXPECT_EQ(syn.flags, kSyn);
  EXPECT_EQ(syn.dport, 80);
  EXPECT_EQ(syn.src, kLocal);
  inject({.sport = 80, .dport = syn.sport, .seq = 5000, .ack = syn.seq + 1, .flags = kSyn | kAck, .opts = {2, 4, 5, 0xb4}});
  Seg ack = next();
  EXPECT_EQ(ack.flags, kAck);
  EXPECT_EQ(ack.ack, 5001u);
  inject({.sport = 80, .dport = syn.sport, .seq = 5001, .flags = kRst});
  Bytes buf(10);
  EXPECT_EQ(pd_.read(u(), fd, buf.data(), buf.size()), -1);
  EXPECT_EQ(errno, ECONNRESET);
}

}  // namespace

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  if (argc > 1) g_so_path = argv[1];
  return RUN_ALL_TESTS();
}
