// SO_TIMESTAMP / SO_TIMESTAMPNS on a TCP socket's recvmsg (Linux's tcp_recv_timestamp): the arrival time of the
// last segment the call read from, as SCM_TIMESTAMP (struct timeval) or SCM_TIMESTAMPNS (struct timespec);
// nothing for data that arrived while the socket asked for no stamps, and nothing without the option. The
// stamp is the wall-clock time now less the data's age by the shard's (manual) clock, so a segment that
// arrived 80 ms of manual time ago reads as about 80 ms before the real time of the call.
#include <sys/time.h>
#include <time.h>

#include "tcp_test_util.hh"

using namespace tcpt;

namespace {

const OpenOpts kMss1460{.mss = 1460};

int64_t realtime_ns() {
  timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  return int64_t{t.tv_sec} * 1'000'000'000 + t.tv_nsec;
}

struct Read {
  ssize_t n = -1;
  int level = -1, type = -1;
  int64_t stamp_ns = 0;  // the stamp, in ns since the epoch (from a timeval or a timespec)
  size_t controllen = 0;
  int flags = 0;
  int64_t before_ns = 0, after_ns = 0;  // the real time around the call
};

// recvmsg of up to `want` bytes with room for one control message.
Read read_stamped(int fd, size_t want, int flags = 0, size_t ctl_room = 64) {
  Read r;
  Bytes buf(want);
  iovec iov{buf.data(), buf.size()};
  alignas(cmsghdr) uint8_t ctl[128] = {};
  msghdr m{};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = ctl;
  m.msg_controllen = ctl_room;
  r.before_ns = realtime_ns();
  r.n = skiff_recvmsg(fd, &m, MSG_DONTWAIT | flags);
  r.after_ns = realtime_ns();
  r.controllen = m.msg_controllen;
  r.flags = m.msg_flags;
  if (cmsghdr* c = m.msg_controllen ? CMSG_FIRSTHDR(&m) : nullptr) {
    r.level = c->cmsg_level;
    r.type = c->cmsg_type;
    if (c->cmsg_type == SCM_TIMESTAMPNS && c->cmsg_len == CMSG_LEN(sizeof(timespec))) {
      timespec ts;
      memcpy(&ts, CMSG_DATA(c), sizeof ts);
      r.stamp_ns = int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
    } else if (c->cmsg_type == SCM_TIMESTAMP && c->cmsg_len == CMSG_LEN(sizeof(timeval))) {
      timeval tv;
      memcpy(&tv, CMSG_DATA(c), sizeof tv);
      r.stamp_ns = int64_t{tv.tv_sec} * 1'000'000'000 + int64_t{tv.tv_usec} * 1000;
    }
  }
  return r;
}

// The stamp says the data is `age` old: within the real time the call took (and a microsecond's rounding).
void expect_age(const Read& r, Duration age) {
  const int64_t a = std::chrono::duration_cast<std::chrono::nanoseconds>(age).count();
  EXPECT_GE(r.stamp_ns, r.before_ns - a - 1000);
  EXPECT_LE(r.stamp_ns, r.after_ns - a + 1000);
}

}  // namespace

TEST(TcpRcvTimestamp, NoOptionNoControlMessage) {
  StackHarness h;
  Conn c = accept_conn(h, kMss1460);
  c.push(pattern(600, 1));
  const Read r = read_stamped(c.fd, 600);
  EXPECT_EQ(r.n, 600);
  EXPECT_EQ(r.controllen, 0u);
  skiff_close(c.fd);
}

TEST(TcpRcvTimestamp, EachReadReportsTheLastSegmentItReadFrom) {
  StackHarness h;
  Conn c = accept_conn(h, kMss1460);
  ASSERT_EQ(set_int(c.fd, SOL_SOCKET, SO_TIMESTAMPNS, 1), 0);
  // Segments over 512 bytes keep buffers of their own (smaller ones are copied into the one before, which
  // then carries the later arrival, as Linux's tcp_try_coalesce).
  c.push(pattern(600, 1));
  h.advance(30ms);
  c.push(pattern(600, 2));
  h.advance(50ms);
  Read r = read_stamped(c.fd, 600);
  ASSERT_EQ(r.n, 600);
  EXPECT_EQ(r.level, SOL_SOCKET);
  EXPECT_EQ(r.type, SCM_TIMESTAMPNS);
  expect_age(r, 80ms);  // the first segment
  c.push(pattern(600, 3));
  h.advance(10ms);
  r = read_stamped(c.fd, 1200);  // the second and the third: the third's arrival
  ASSERT_EQ(r.n, 1200);
  EXPECT_EQ(r.type, SCM_TIMESTAMPNS);
  expect_age(r, 10ms);
  skiff_close(c.fd);
}

TEST(TcpRcvTimestamp, PartialReadsAndPeekReportTheSegmentTheyReadFrom) {
  StackHarness h;
  Conn c = accept_conn(h, kMss1460);
  ASSERT_EQ(set_int(c.fd, SOL_SOCKET, SO_TIMESTAMP, 1), 0);
  c.push(pattern(1000, 1));
  h.advance(40ms);
  c.push(pattern(1000, 2));
  h.advance(20ms);
  Read r = read_stamped(c.fd, 100, MSG_PEEK);
  ASSERT_EQ(r.n, 100);
  EXPECT_EQ(r.type, SCM_TIMESTAMP);  // microseconds: struct timeval
  expect_age(r, 60ms);
  r = read_stamped(c.fd, 500);
  ASSERT_EQ(r.n, 500);
  expect_age(r, 60ms);
  r = read_stamped(c.fd, 700);  // the first segment's last 500 bytes and 200 of the second
  ASSERT_EQ(r.n, 700);
  expect_age(r, 20ms);
  skiff_close(c.fd);
}

TEST(TcpRcvTimestamp, OutOfOrderDataKeepsItsOwnArrival) {
  StackHarness h;
  Conn c = accept_conn(h, kMss1460);
  ASSERT_EQ(set_int(c.fd, SOL_SOCKET, SO_TIMESTAMPNS, 1), 0);
  const uint32_t first = c.snd;
  c.snd = first + 700;
  c.push(pattern(700, 2));  // beyond a gap: out of order
  h.advance(25ms);
  c.snd = first;
  c.push(pattern(700, 1));  // fills the gap: both are in order now
  c.snd = first + 1400;
  h.advance(5ms);
  Read r = read_stamped(c.fd, 700);
  ASSERT_EQ(r.n, 700);
  expect_age(r, 5ms);  // the gap's filler arrived last
  r = read_stamped(c.fd, 700);
  ASSERT_EQ(r.n, 700);
  expect_age(r, 30ms);  // the out-of-order segment, stamped when it came
  skiff_close(c.fd);
}

TEST(TcpRcvTimestamp, DataFromBeforeTheOptionIsNotStampedAndAShortBufferIsTruncated) {
  StackHarness h;
  Conn c = accept_conn(h, kMss1460);
  c.push(pattern(600, 1));  // arrives while no stamps are asked for
  ASSERT_EQ(set_int(c.fd, SOL_SOCKET, SO_TIMESTAMPNS, 1), 0);
  Read r = read_stamped(c.fd, 600);
  ASSERT_EQ(r.n, 600);
  EXPECT_EQ(r.controllen, 0u);  // (Linux: an skb without a stamp gets none)
  c.push(pattern(600, 2));
  r = read_stamped(c.fd, 600, 0, CMSG_LEN(4));  // no room for a timespec
  ASSERT_EQ(r.n, 600);
  EXPECT_TRUE(r.flags & MSG_CTRUNC);
  ASSERT_EQ(set_int(c.fd, SOL_SOCKET, SO_TIMESTAMPNS, 0), 0);
  c.push(pattern(600, 3));
  r = read_stamped(c.fd, 600);
  ASSERT_EQ(r.n, 600);
  EXPECT_EQ(r.controllen, 0u);
  skiff_close(c.fd);
}
