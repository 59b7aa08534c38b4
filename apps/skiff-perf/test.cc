#include "skiff-perf/test.hh"

#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <ctime>

#include "api/skiff.h"  // struct skiff_tcp_info (Linux's whole struct tcp_info)

namespace perf {

namespace {

// Bytes one writable event may send: about one block (-l), as iperf3 writes a block per stream per loop.
// Sending megabytes at once would queue them all before the receiver (often the same thread) reads any,
// and every copy and checksum would then miss the cache: a 4 MiB budget cut Skiff's one-core bulk rate by
// half or more, and the kernel's by a quarter.
constexpr uint64_t kTcpBudgetMin = 64u << 10, kTcpBudgetMax = 256u << 10;
constexpr unsigned kUdpBurst = 32;         // datagrams an unpaced UDP sender sends per loop iteration
constexpr int kReadsPerEvent = 16;

double now_real() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

uint32_t rd32(const uint8_t* p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return ntohl(v);
}

void wr32(uint8_t* p, uint32_t v) {
  v = htonl(v);
  memcpy(p, &v, 4);
}

double cpu_seconds(bool user) {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  const timeval& tv = user ? ru.ru_utime : ru.ru_stime;
  return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) * 1e-6;
}

bool soft_error(int e) { return e == EAGAIN || e == EWOULDBLOCK || e == ENOBUFS || e == EINTR; }

}  // namespace

std::string congestion_name(Net& net, int fd) {
  char name[32] = {};
  socklen_t l = sizeof name - 1;
  if (fd >= 0 && net.getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, name, &l) == 0 && name[0]) return name;
  return strcmp(net.name(), "skiff") == 0 ? "newreno" : "unknown";
}

void Stream::on_ready(uint32_t events) {
  if (events & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP)) run->readable(*this);
  if ((events & EPOLLOUT) && open) run->writable(*this);
}

void CrrConn::on_ready(uint32_t events) { run->crr_event(*this, events); }

TestRun::TestRun(Loop& loop, Net& net, bool client, const TestParams& p, Output& out, double interval)
    : loop_(loop), net_(net), client_(client), p_(p), out_(out), interval_(interval) {
  shared_watcher_.run = this;
  buf_.resize(static_cast<size_t>(std::max({p.len, p.rr_size, 65536})));
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (auto& b : buf_) {  // incompressible filler (xorshift)
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    b = static_cast<uint8_t>(x);
  }
}

TestRun::~TestRun() {
  if (iv_timer_) loop_.cancel(iv_timer_);
  if (pace_timer_) loop_.cancel(pace_timer_);
  if (omit_timer_) loop_.cancel(omit_timer_);
  if (ticker_) loop_.remove_ticker(ticker_);
  for (auto& c : crr_) {
    if (c->fd >= 0) {
      if (c->client) {
        linger lg{1, 0};
        net_.setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
      }
      loop_.close(net_, c->fd);
    }
  }
  for (auto& s : streams_)
    if (!s->shared && s->fd >= 0) loop_.close(net_, s->fd);
  if (shared_fd_ >= 0) loop_.close(net_, shared_fd_);
}

Stream* TestRun::add_stream(int fd, bool sender) {
  auto s = std::make_unique<Stream>();
  s->run = this;
  const size_t n = streams_.size();
  s->id = n == 0 ? 1 : static_cast<int>(n) + 2;
  s->fd = fd;
  s->label = fd;
  s->sender = sender;
  if (fd >= 0) {
    net_.getsockname(fd, &s->local);
    net_.getpeername(fd, &s->remote);
    loop_.add(net_, fd, EPOLLIN, s.get());
  } else {
    s->open = false;
  }
  streams_.push_back(std::move(s));
  return streams_.back().get();
}

Stream* TestRun::add_shared_udp_stream(int fd, bool sender, const sockaddr_in& peer) {
  auto s = std::make_unique<Stream>();
  s->run = this;
  const size_t n = streams_.size();
  s->id = n == 0 ? 1 : static_cast<int>(n) + 2;
  s->fd = fd;
  s->label = fd + static_cast<int>(n);
  s->sender = sender;
  s->shared = true;
  s->remote = peer;
  net_.getsockname(fd, &s->local);
  streams_.push_back(std::move(s));
  return streams_.back().get();
}

void TestRun::set_shared_udp(int fd, std::function<void(const uint8_t*, size_t, const sockaddr_in&)> on_unknown) {
  shared_fd_ = fd;
  on_unknown_ = std::move(on_unknown);
  loop_.add(net_, fd, EPOLLIN, &shared_watcher_);
}

void TestRun::announce(const Stream& s) {
  out_.line("[%3d] local %s port %u connected to %s port %u", s.label, ip_string(s.local).c_str(),
            ntohs(s.local.sin_port), ip_string(s.remote).c_str(), ntohs(s.remote.sin_port));
  Json c = Json::object();
  c.set("socket", Json::integer(s.label));
  c.set("local_host", Json::string(ip_string(s.local)));
  c.set("local_port", Json::integer(ntohs(s.local.sin_port)));
  c.set("remote_host", Json::string(ip_string(s.remote)));
  c.set("remote_port", Json::integer(ntohs(s.remote.sin_port)));
  connected_.push(std::move(c));
}

bool TestRun::forward(const Stream& s) const { return client_ ? s.sender : !s.sender; }

const char* TestRun::role_tag(const Stream& s) const {
  if (!p_.bidir) return "";
  if (client_) return s.sender ? "[TX-C]" : "[RX-C]";
  return s.sender ? "[TX-S]" : "[RX-S]";
}

// ---- start and stop ----

void TestRun::start() {
  if (running_ || stopped_) return;
  running_ = true;
  t0_ = Clock::now();
  cpu_t0_user_ = cpu_seconds(true);
  cpu_t0_sys_ = cpu_seconds(false);
  bool paced = false, unpaced_udp = false;
  if (p_.workload == Workload::CRR && client_) {
    for (int i = 0; i < p_.parallel; ++i) {
      Stream* st = add_stream(-1, true);
      st->label = i + 1;
      auto c = std::make_unique<CrrConn>();
      c->run = this;
      c->stats = st;
      c->client = true;
      crr_.push_back(std::move(c));
    }
    for (size_t i = 0; i < crr_.size(); ++i) crr_start(*crr_[i]);
  } else if (p_.workload == Workload::CRR) {
    Stream* st = add_stream(-1, false);  // the server's count of served transactions
    st->label = 0;
  }
  for (auto& sp : streams_) {
    Stream& s = *sp;
    if (!s.sender || !s.open) continue;
    if (p_.workload == Workload::RR) {
      rr_client_send(s, Clock::now());
    } else if (p_.workload == Workload::Stream) {
      if (p_.rate) {
        paced = true;
      } else if (p_.udp) {
        unpaced_udp = true;
      } else {
        loop_.modify(net_, s.fd, EPOLLIN | EPOLLOUT);
      }
    }
  }
  if (paced || unpaced_udp) {
    if (paced && !net_.busy_poll()) {
      pace_timer_ = loop_.after(0, [this] { pace(); });
    }
    if (unpaced_udp || net_.busy_poll()) {
      ticker_ = loop_.add_ticker([this] {
        tick_unlimited();
        if (p_.rate) pace();
      });
    }
  }
  arm_interval(1);
  if (p_.omit > 0) {
    omitting_ = true;
    omit_timer_ = loop_.at(t0_ + from_seconds(p_.omit), [this] {
      omit_timer_ = 0;
      end_omit();
    });
  }
}

void TestRun::arm_interval(int k) {
  if (interval_ <= 0) return;
  iv_timer_ = loop_.at(t0_ + from_seconds(interval_ * k), [this, k] {
    iv_timer_ = 0;
    interval_report(false);
    arm_interval(k + 1);
  });
}

// -O: the first seconds (slow start, buffers filling) are reported as omitted and then forgotten; the test
// proper starts counting from zero, as iperf3 does on both sides.
void TestRun::end_omit() {
  if (!running_ || !omitting_) return;
  if (iv_timer_) loop_.cancel(iv_timer_);
  iv_timer_ = 0;
  if (interval_ > 0 && seconds(Clock::now() - t0_) - last_iv_ >= 0.05 * interval_) interval_report(false);
  omitting_ = false;
  t0_ = Clock::now();
  last_iv_ = 0;
  cpu_t0_user_ = cpu_seconds(true);
  cpu_t0_sys_ = cpu_seconds(false);
  for (auto& sp : streams_) {
    Stream& s = *sp;
    if (!p_.udp && s.sender && s.open) update_tcp_info(s);
    s.omitted_packets = s.packets;
    s.omitted_errors = s.lost;
    s.bytes = s.packets = s.blocks = s.trans = 0;
    s.lost = s.ooo = 0;
    s.seq_base = s.iv_seq = s.max_seq;
    s.retrans_base = s.iv_retrans = s.retrans;
    s.iv_bytes = s.iv_packets = s.iv_lost = s.iv_trans = 0;
    s.max_cwnd = s.max_snd_wnd = s.max_rtt = 0;
    s.min_rtt = UINT32_MAX;
    s.rtt_sum = s.rtt_n = 0;
    s.hist.clear();
    s.iv_hist.clear();
  }
  series_.clear();
  arm_interval(1);
}

void TestRun::stop() {
  if (!running_) return;
  running_ = false;
  stopped_ = true;
  t_end_ = Clock::now();
  const double wall = seconds(t_end_ - t0_);
  if (wall > 0) {
    cpu_[1] = (cpu_seconds(true) - cpu_t0_user_) / wall * 100;
    cpu_[2] = (cpu_seconds(false) - cpu_t0_sys_) / wall * 100;
    cpu_[0] = cpu_[1] + cpu_[2];
  }
  if (iv_timer_) loop_.cancel(iv_timer_);
  if (pace_timer_) loop_.cancel(pace_timer_);
  if (omit_timer_) loop_.cancel(omit_timer_);
  if (ticker_) loop_.remove_ticker(ticker_);
  iv_timer_ = pace_timer_ = ticker_ = omit_timer_ = 0;
  if (!p_.udp && !streams_.empty()) congestion_ = congestion_name(net_, streams_.front()->fd);
  for (auto& s : streams_) {
    if (!p_.udp && s->sender && s->open && s->fd >= 0) {
      update_tcp_info(*s);
      if (p_.workload == Workload::Stream) finish_block(*s);
    }
  }
  for (auto& c : crr_) {
    if (c->client && c->fd >= 0) {
      linger lg{1, 0};
      net_.setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
      loop_.close(net_, c->fd);
      c->fd = -1;
    }
  }
  if (interval_ > 0 && wall - last_iv_ >= std::min(0.1 * interval_, 0.05)) interval_report(true);
}

void TestRun::close_streams() {
  for (auto& s : streams_) {
    if (!s->shared && s->fd >= 0) loop_.close(net_, s->fd);
    s->fd = -1;
    s->open = false;
  }
  if (shared_fd_ >= 0) loop_.close(net_, shared_fd_);
  shared_fd_ = -1;
}

bool TestRun::sending_allowed() const {
  if (!running_) return false;
  if (p_.num && total_sent_ >= p_.num) return false;
  if (p_.blockcount && total_blocks_ >= p_.blockcount) return false;
  return true;
}

void TestRun::count_sent(uint64_t n, uint64_t blocks) {
  total_sent_ += n;
  total_blocks_ += blocks;
  if (!limit_hit_ && ((p_.num && total_sent_ >= p_.num) || (p_.blockcount && total_blocks_ >= p_.blockcount))) {
    limit_hit_ = true;
    if (client_ && on_limit) loop_.at(Clock::now(), on_limit);  // not from inside the send loop
  }
}

void TestRun::count_received(uint64_t n) {
  total_received_ += n;
  if (!limit_hit_ && client_ && p_.num && total_received_ >= p_.num) {
    limit_hit_ = true;
    if (on_limit) loop_.at(Clock::now(), on_limit);
  }
}

void TestRun::stream_failed(Stream& s, const char* what, int err) {
  if (!s.open) return;
  s.open = false;
  if (!s.shared) loop_.remove(net_, s.fd);
  if (running_ && on_error) {
    on_error(std::string("stream ") + std::to_string(s.id) + ": " + what + ": " + strerror(err));
  }
}

// ---- data movement ----

void TestRun::readable(Stream& s) {
  if (!s.open || s.fd < 0) return;
  if (p_.udp) {
    for (int k = 0; k < 64; ++k) {
      const ssize_t n = net_.recv(s.fd, buf_.data(), buf_.size());
      if (n < 0) {
        if (!soft_error(errno) && errno != ECONNREFUSED) stream_failed(s, "recv", errno);
        return;
      }
      // Arrival time per datagram: a batch spans the sender's bursts, and jitter is about their spacing.
      if (running_ && !s.sender) udp_packet(s, buf_.data(), static_cast<size_t>(n), now_real());
    }
    return;
  }
  for (int k = 0; k < kReadsPerEvent; ++k) {
    const ssize_t n = net_.recv(s.fd, buf_.data(), buf_.size());
    if (n > 0) {
      const auto u = static_cast<uint64_t>(n);
      if (p_.workload == Workload::RR) {
        const auto rr = static_cast<uint64_t>(p_.rr_size);
        if (client_) {
          s.rr_in += u;
          while (s.rr_in >= rr) {
            s.rr_in -= rr;
            if (running_) {
              // One clock read ends this transaction and starts the next (sent right away).
              const Time now = Clock::now();
              const auto ns = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(now - s.rr_t0).count());
              ++s.trans;
              s.bytes += rr;
              s.hist.add(ns);
              s.iv_hist.add(ns);
              rr_client_send(s, now);
            }
          }
        } else {
          s.rr_in += u;
          const uint64_t done = s.rr_in / rr;
          s.rr_in %= rr;
          s.rr_owed += done * rr;
          if (running_) {
            s.trans += done;
            s.bytes += u;
          }
          rr_server_flush(s);
        }
      } else if (running_ && !s.sender) {
        s.bytes += u;
        count_received(u);
      }
      // A short read emptied the receive queue: the next readiness event says when there is more (or
      // the end), so no second call just to hear EAGAIN (a system call per transaction on the kernel).
      if (u < buf_.size()) return;
      continue;
    }
    if (n == 0) {  // the peer closed its side
      s.open = false;
      loop_.remove(net_, s.fd);
      return;
    }
    if (!soft_error(errno)) stream_failed(s, "recv", errno);
    return;
  }
}

void TestRun::writable(Stream& s) {
  if (p_.workload == Workload::RR) {
    if (client_) {
      if (s.rr_out) {
        const ssize_t n = net_.send(s.fd, buf_.data(), s.rr_out);
        if (n > 0) s.rr_out -= static_cast<size_t>(n);
        if (n < 0 && !soft_error(errno)) return stream_failed(s, "send", errno);
      }
      if (!s.rr_out) loop_.modify(net_, s.fd, EPOLLIN);
    } else {
      rr_server_flush(s);
    }
    return;
  }
  if (!p_.udp && s.sender && running_ && !p_.rate) {
    send_tcp(s, std::clamp<uint64_t>(static_cast<uint64_t>(p_.len), kTcpBudgetMin, kTcpBudgetMax));
    return;
  }
  if (!p_.udp && s.sender && s.off) {
    finish_block(s);
    return;
  }
  loop_.modify(net_, s.fd, EPOLLIN);
}

// iperf3 readers read whole blocks (a blocking read of -l bytes), so a sender that stops - at the end
// or at -n - first completes the block it started; those bytes are not counted.
void TestRun::finish_block(Stream& s) {
  while (s.open && s.off) {
    const ssize_t n = net_.send(s.fd, buf_.data() + s.off, static_cast<size_t>(p_.len) - s.off);
    if (n <= 0) {
      if (n < 0 && !soft_error(errno)) return stream_failed(s, "send", errno);
      loop_.modify(net_, s.fd, EPOLLIN | EPOLLOUT);
      return;
    }
    s.off += static_cast<size_t>(n);
    if (s.off >= static_cast<size_t>(p_.len)) s.off = 0;
  }
  loop_.modify(net_, s.fd, EPOLLIN);
}

void TestRun::send_tcp(Stream& s, uint64_t budget) {
  if (!s.open) return;
  if (!sending_allowed()) {
    finish_block(s);
    return;
  }
  const auto len = static_cast<size_t>(p_.len);
  uint64_t sent = 0;
  while (sent < budget) {
    size_t want = len - s.off;
    if (p_.rate) want = static_cast<size_t>(std::min<uint64_t>(want, budget - sent));
    const ssize_t n = net_.send(s.fd, buf_.data() + s.off, want);
    if (n <= 0) {
      if (n < 0 && !soft_error(errno)) stream_failed(s, "send", errno);
      return;
    }
    const auto u = static_cast<uint64_t>(n);
    sent += u;
    s.bytes += u;
    s.off += static_cast<size_t>(n);
    uint64_t blocks = 0;
    if (s.off >= len) {
      s.off = 0;
      ++s.blocks;
      blocks = 1;
    }
    count_sent(u, blocks);
    if (!sending_allowed()) {
      finish_block(s);
      return;
    }
  }
}

void TestRun::send_udp(Stream& s, unsigned max_packets, uint64_t budget) {
  if (!s.open) return;
  const auto len = static_cast<size_t>(p_.len);
  uint64_t sent = 0;
  uint8_t* b = buf_.data();
  for (unsigned k = 0; k < max_packets && sent < budget && sending_allowed(); ++k) {
    timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    wr32(b, static_cast<uint32_t>(ts.tv_sec));
    wr32(b + 4, static_cast<uint32_t>(ts.tv_nsec / 1000));
    if (p_.udp64) {
      wr32(b + 8, static_cast<uint32_t>(s.next_seq >> 32));
      wr32(b + 12, static_cast<uint32_t>(s.next_seq));
    } else {
      wr32(b + 8, static_cast<uint32_t>(s.next_seq));
    }
    const ssize_t n = s.shared ? net_.sendto(s.fd, b, len, s.remote) : net_.send(s.fd, b, len);
    if (n < 0) {
      if (!soft_error(errno) && errno != ECONNREFUSED) stream_failed(s, "send", errno);
      return;
    }
    ++s.next_seq;
    ++s.packets;
    ++s.blocks;
    s.bytes += static_cast<uint64_t>(n);
    sent += static_cast<uint64_t>(n);
    count_sent(static_cast<uint64_t>(n), 1);
  }
}

void TestRun::udp_packet(Stream& s, const uint8_t* p, size_t n, double t) {
  const size_t hdr = p_.udp64 ? 16 : 12;
  if (n < hdr) return;
  const uint32_t sec = rd32(p), usec = rd32(p + 4);
  const uint64_t seq = p_.udp64 ? (uint64_t{rd32(p + 8)} << 32) | rd32(p + 12) : rd32(p + 8);
  s.bytes += n;
  ++s.packets;
  count_received(n);
  if (seq > s.max_seq) {
    if (seq > s.max_seq + 1) s.lost += seq - s.max_seq - 1;
    s.max_seq = seq;
  } else {
    ++s.ooo;
    if (s.lost) --s.lost;
  }
  // RFC 1889 interarrival jitter; the clocks' offset cancels in the differences.
  const double transit = t - (static_cast<double>(sec) + static_cast<double>(usec) * 1e-6);
  if (s.have_transit) s.jitter += (std::fabs(transit - s.prev_transit) - s.jitter) / 16;
  s.prev_transit = transit;
  s.have_transit = true;
}

void TestRun::shared_udp_readable() {
  for (int k = 0; k < 64; ++k) {
    sockaddr_in from{};
    const ssize_t n = net_.recvfrom(shared_fd_, buf_.data(), buf_.size(), &from);
    if (n < 0) return;
    Stream* st = nullptr;
    for (auto& s : streams_)
      if (s->remote.sin_addr.s_addr == from.sin_addr.s_addr && s->remote.sin_port == from.sin_port) {
        st = s.get();
        break;
      }
    if (!st || (n == 4 && !running_)) {
      if (on_unknown_) on_unknown_(buf_.data(), static_cast<size_t>(n), from);
    } else if (running_ && !st->sender) {
      udp_packet(*st, buf_.data(), static_cast<size_t>(n), now_real());
    }
  }
}

void TestRun::rr_client_send(Stream& s, Time now) {
  if (!s.open) return;
  s.rr_t0 = now;
  s.rr_out = static_cast<size_t>(p_.rr_size);
  const ssize_t n = net_.send(s.fd, buf_.data(), s.rr_out);
  if (n > 0) s.rr_out -= static_cast<size_t>(n);
  if (n < 0 && !soft_error(errno)) return stream_failed(s, "send", errno);
  if (s.rr_out) loop_.modify(net_, s.fd, EPOLLIN | EPOLLOUT);
}

void TestRun::rr_server_flush(Stream& s) {
  while (s.rr_owed && s.open) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(s.rr_owed, buf_.size()));
    const ssize_t n = net_.send(s.fd, buf_.data(), want);
    if (n <= 0) {
      if (n < 0 && !soft_error(errno)) return stream_failed(s, "send", errno);
      loop_.modify(net_, s.fd, EPOLLIN | EPOLLOUT);
      return;
    }
    s.rr_owed -= static_cast<uint64_t>(n);
  }
  loop_.modify(net_, s.fd, EPOLLIN);
}

void TestRun::pace() {
  if (!running_) return;
  const double el = seconds(Clock::now() - t0_);
  const double allowed = static_cast<double>(p_.rate) * el / 8;
  for (auto& sp : streams_) {
    Stream& s = *sp;
    if (!s.sender || !s.open || static_cast<double>(s.bytes) >= allowed) continue;
    const auto budget = static_cast<uint64_t>(allowed - static_cast<double>(s.bytes)) + 1;
    if (p_.udp) {
      send_udp(s, 100000, budget);
    } else {
      send_tcp(s, budget);
    }
  }
  if (!net_.busy_poll() && running_) pace_timer_ = loop_.after(0.001, [this] { pace(); });
}

void TestRun::tick_unlimited() {
  if (!p_.udp || p_.rate || !running_) return;
  for (auto& s : streams_)
    if (s->sender && s->open) send_udp(*s, kUdpBurst, UINT64_MAX);
}

// ---- connect, request, response, close ----

void TestRun::crr_start(CrrConn& c) {
  if (!running_) return;
  const int fd = net_.socket(SOCK_STREAM);
  if (fd < 0) {
    if (on_error) on_error(std::string("CRR socket: ") + strerror(errno));
    return;
  }
  net_.set_int(fd, IPPROTO_TCP, TCP_NODELAY, 1);
  if (p_.mss) net_.set_int(fd, IPPROTO_TCP, TCP_MAXSEG, p_.mss);
  c.fd = fd;
  c.connected = false;
  c.in = 0;
  c.out = 0;
  c.t0 = Clock::now();
  if (net_.connect(fd, crr_target_) < 0 && errno != EINPROGRESS) {
    const int e = errno;
    loop_.close(net_, fd);
    c.fd = -1;
    if (on_error) on_error(std::string("CRR connect: ") + strerror(e));
    return;
  }
  loop_.add(net_, fd, EPOLLOUT | EPOLLIN, &c);
}

void TestRun::crr_finish(CrrConn& c, bool ok) {
  if (c.client) {
    linger lg{1, 0};
    net_.setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  }
  loop_.close(net_, c.fd);
  c.fd = -1;
  if (!c.client) return;
  if (!ok) {
    ++crr_failures_;
    if (running_ && on_error && crr_failures_ > 100) {
      on_error("CRR: more than 100 transactions failed");
      return;
    }
  }
  crr_start(c);
}

void TestRun::crr_event(CrrConn& c, uint32_t events) {
  if (c.fd < 0) return;
  const auto rr = static_cast<uint64_t>(p_.rr_size);
  if (c.client && !c.connected) {
    if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
    int err = 0;
    net_.get_int(c.fd, SOL_SOCKET, SO_ERROR, &err);
    if (err) return crr_finish(c, false);
    sockaddr_in peer{};
    if (net_.getpeername(c.fd, &peer) < 0) return;  // still connecting (a stale event)
    c.connected = true;
    c.out = static_cast<size_t>(rr);
    loop_.modify(net_, c.fd, EPOLLIN);
  }
  // Send what is owed (the request, or the server's responses).
  while (c.out) {
    const ssize_t n = net_.send(c.fd, buf_.data(), std::min(c.out, buf_.size()));
    if (n <= 0) {
      if (n < 0 && !soft_error(errno)) return crr_finish(c, false);
      loop_.modify(net_, c.fd, EPOLLIN | EPOLLOUT);
      return;
    }
    c.out -= static_cast<size_t>(n);
    if (!c.out) loop_.modify(net_, c.fd, EPOLLIN);
  }
  if (!(events & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP))) return;
  for (int k = 0; k < kReadsPerEvent; ++k) {
    const ssize_t n = net_.recv(c.fd, buf_.data(), buf_.size());
    if (n > 0) {
      c.in += static_cast<uint64_t>(n);
      if (c.client) {
        if (c.in >= rr) {
          if (running_) {
            const auto ns = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - c.t0).count());
            ++c.stats->trans;
            c.stats->bytes += rr;
            c.stats->hist.add(ns);
            c.stats->iv_hist.add(ns);
          }
          return crr_finish(c, true);
        }
      } else {
        const uint64_t done = c.in / rr;
        c.in %= rr;
        if (done) {
          if (running_ && c.stats) {
            c.stats->trans += done;
            c.stats->bytes += done * rr;
          }
          c.out += static_cast<size_t>(done * rr);
          return crr_event(c, 0);  // send the responses
        }
      }
      continue;
    }
    if (n == 0 || !soft_error(errno)) return crr_finish(c, !c.client);  // server: the client is done
    return;
  }
}

void TestRun::accept_crr(int fd) {
  std::erase_if(crr_, [](const std::unique_ptr<CrrConn>& c) { return c->fd < 0; });
  auto c = std::make_unique<CrrConn>();
  c->run = this;
  c->fd = fd;
  c->connected = true;
  c->stats = streams_.empty() ? nullptr : streams_.front().get();
  net_.set_int(fd, IPPROTO_TCP, TCP_NODELAY, 1);
  loop_.add(net_, fd, EPOLLIN, c.get());
  crr_.push_back(std::move(c));
}

// ---- reports ----

void TestRun::update_tcp_info(Stream& s) {
  if (p_.udp || s.fd < 0 || !s.open) return;
  skiff_tcp_info ti{};  // (Linux's whole struct; a kernel older than 6.18 fills less of it)
  socklen_t l = sizeof ti;
  if (net_.getsockopt(s.fd, IPPROTO_TCP, TCP_INFO, &ti, &l) < 0) return;
  s.retrans = ti.tcpi_total_retrans;
  s.cwnd = ti.tcpi_snd_cwnd * ti.tcpi_snd_mss;
  // iperf3's snd_wnd: the peer's window (where TCP_INFO has it).
  s.have_snd_wnd = l >= offsetof(skiff_tcp_info, tcpi_snd_wnd) + sizeof ti.tcpi_snd_wnd;
  if (s.have_snd_wnd) {
    s.snd_wnd = ti.tcpi_snd_wnd;
    s.max_snd_wnd = std::max(s.max_snd_wnd, s.snd_wnd);
  }
  s.rtt = ti.tcpi_rtt;
  s.rttvar = ti.tcpi_rttvar;
  s.pmtu = ti.tcpi_pmtu;
  s.max_cwnd = std::max(s.max_cwnd, s.cwnd);
  if (s.rtt) {
    s.max_rtt = std::max(s.max_rtt, s.rtt);
    s.min_rtt = std::min(s.min_rtt, s.rtt);
    s.rtt_sum += s.rtt;
    ++s.rtt_n;
  }
}

Line TestRun::local_interval(Stream& s, double t0, double t1) {
  Line l;
  l.start = t0;
  l.end = t1;
  l.sender = s.sender;
  l.udp = p_.udp;
  l.rr = p_.workload != Workload::Stream;
  l.omitted = omitting_;
  l.bytes = s.bytes - s.iv_bytes;
  s.iv_bytes = s.bytes;
  if (l.rr) {
    l.trans = s.trans - s.iv_trans;
    s.iv_trans = s.trans;
    l.p50 = static_cast<double>(s.iv_hist.quantile(0.5));
    l.p99 = static_cast<double>(s.iv_hist.quantile(0.99));
    l.p999 = static_cast<double>(s.iv_hist.quantile(0.999));
    l.mean = s.iv_hist.mean();
    s.iv_hist.clear();
  } else if (!p_.udp && s.sender) {
    update_tcp_info(s);
    l.retrans = s.retrans - s.iv_retrans;
    s.iv_retrans = s.retrans;
    l.cwnd = s.cwnd;
    l.snd_wnd = s.snd_wnd;
    l.have_snd_wnd = s.have_snd_wnd;
    l.rtt = s.rtt;
    l.rttvar = s.rttvar;
    l.pmtu = s.pmtu;
  } else if (p_.udp && s.sender) {
    l.packets = l.total = s.packets - s.iv_packets;
    s.iv_packets = s.packets;
  } else if (p_.udp) {
    l.total = l.packets = s.max_seq - s.iv_seq;
    s.iv_seq = s.max_seq;
    l.lost = s.lost >= s.iv_lost ? s.lost - s.iv_lost : 0;
    s.iv_lost = s.lost;
    l.jitter_ms = s.jitter * 1000;
  }
  return l;
}

Line TestRun::sum_of(const std::vector<Line>& v) const {
  Line s;
  if (v.empty()) return s;
  s = v.front();
  s.bytes = s.trans = s.packets = s.lost = s.total = 0;
  s.retrans = -1;
  double jit = 0;
  for (const Line& l : v) {
    s.start = std::min(s.start, l.start);
    s.end = std::max(s.end, l.end);
    s.bytes += l.bytes;
    s.trans += l.trans;
    s.packets += l.packets;
    s.lost += l.lost;
    s.total += l.total;
    if (l.retrans >= 0) s.retrans = std::max<int64_t>(s.retrans, 0) + l.retrans;
    jit += l.jitter_ms;
    s.p50 = std::max(s.p50, l.p50);
    s.p99 = std::max(s.p99, l.p99);
    s.p999 = std::max(s.p999, l.p999);
  }
  s.jitter_ms = jit / static_cast<double>(v.size());
  return s;
}

void TestRun::print_line(const char* id, const char* role, const Line& l, bool summary, const char* tag) {
  if (!out_.texting()) return;
  char head[64];
  snprintf(head, sizeof head, "%s%s %6.2f-%-6.2f sec  ", id, role, l.start, l.end);
  char tail[160];
  if (l.rr) {
    const double secs = l.end - l.start;
    const std::string rate = fmt_count(secs > 0 ? static_cast<double>(l.trans) / secs : 0);
    if (l.sender) {
      snprintf(tail, sizeof tail, "%10llu trans  %8s trans/sec  p50 %s  p99 %s  p99.9 %s%s%s",
               static_cast<unsigned long long>(l.trans), rate.c_str(), fmt_ns(l.p50).c_str(),
               fmt_ns(l.p99).c_str(), fmt_ns(l.p999).c_str(), *tag ? "  " : "", tag);
    } else {
      snprintf(tail, sizeof tail, "%10llu trans  %8s trans/sec  served", static_cast<unsigned long long>(l.trans),
               rate.c_str());
    }
    out_.line("%s%s%s", head, tail, l.omitted ? "  (omitted)" : "");
    return;
  }
  const std::string xfer = fmt_bytes(static_cast<double>(l.bytes));
  const std::string rate = fmt_bits(l.bps());
  if (l.udp) {
    if (summary || !l.sender) {
      const uint64_t total = l.total;
      const double pct = total ? 100.0 * static_cast<double>(l.lost) / static_cast<double>(total) : 0;
      snprintf(tail, sizeof tail, "  %5.3f ms  %llu/%llu (%.2g%%)  %s", l.sender ? 0.0 : l.jitter_ms,
               static_cast<unsigned long long>(l.sender ? 0 : l.lost), static_cast<unsigned long long>(total), pct,
               tag);
    } else {
      snprintf(tail, sizeof tail, "  %llu  ", static_cast<unsigned long long>(l.packets));
    }
  } else if (l.sender && l.retrans >= 0) {
    if (summary) {
      snprintf(tail, sizeof tail, "  %3lld             %s", static_cast<long long>(l.retrans), tag);
    } else if (id[1] == 'S') {
      snprintf(tail, sizeof tail, "  %3lld             ", static_cast<long long>(l.retrans));
    } else {
      snprintf(tail, sizeof tail, "  %3lld   %s       ", static_cast<long long>(l.retrans),
               fmt_bytes(static_cast<double>(l.cwnd)).c_str());
    }
  } else {
    snprintf(tail, sizeof tail, "                  %s", tag);
  }
  out_.line("%s%s  %s/sec%s%s", head, xfer.c_str(), rate.c_str(), tail, l.omitted ? "  (omitted)" : "");
}

Json TestRun::line_json(const Line& l, int socket, bool summary) const {
  Json j = Json::object();
  if (socket >= 0) j.set("socket", Json::integer(socket));
  j.set("start", Json::number(l.start));
  j.set("end", Json::number(l.end));
  j.set("seconds", Json::number(l.end - l.start));
  j.set("bytes", Json::uinteger(l.bytes));
  j.set("bits_per_second", Json::number(l.bps()));
  if (l.rr) {
    j.set("transactions", Json::uinteger(l.trans));
    j.set("transactions_per_second", Json::number(l.tps()));
    if (l.sender) {
      Json lat = Json::object();
      lat.set("p50", Json::number(l.p50 / 1000));
      lat.set("p99", Json::number(l.p99 / 1000));
      lat.set("p99_9", Json::number(l.p999 / 1000));
      if (l.mean > 0) lat.set("mean", Json::number(l.mean / 1000));
      j.set("latency_us", std::move(lat));
    }
  } else if (l.udp) {
    if (!l.sender || summary) {
      j.set("jitter_ms", Json::number(l.sender ? 0 : l.jitter_ms));
      j.set("lost_packets", Json::uinteger(l.sender ? 0 : l.lost));
      j.set("packets", Json::uinteger(l.total));
      j.set("lost_percent",
            Json::number(l.total && !l.sender ? 100.0 * static_cast<double>(l.lost) / static_cast<double>(l.total) : 0));
      if (summary) j.set("out_of_order", Json::uinteger(l.ooo));
    } else {
      j.set("packets", Json::uinteger(l.packets));
    }
  } else if (l.sender && l.retrans >= 0) {
    j.set("retransmits", Json::integer(l.retrans));
    if (socket >= 0 && !summary) {
      j.set("snd_cwnd", Json::uinteger(l.cwnd));
      if (l.have_snd_wnd) j.set("snd_wnd", Json::uinteger(l.snd_wnd));
      j.set("rtt", Json::uinteger(l.rtt));
      j.set("rttvar", Json::uinteger(l.rttvar));
      j.set("pmtu", Json::uinteger(l.pmtu));
    }
  }
  if (!summary) j.set("omitted", Json::boolean(l.omitted));
  j.set("sender", Json::boolean(l.sender));
  return j;
}

void TestRun::interval_report(bool final) {
  const double t = final ? seconds(t_end_ - t0_) : seconds(Clock::now() - t0_);
  const double t_prev = last_iv_;
  last_iv_ = t;
  std::vector<Line> fwd, rev;
  std::vector<std::pair<const Stream*, Line>> lines;
  for (auto& s : streams_) {
    Line l = local_interval(*s, t_prev, t);
    (forward(*s) ? fwd : rev).push_back(l);
    lines.emplace_back(s.get(), l);
  }
  const bool many = streams_.size() > 1;
  if (out_.texting() && !header_printed_) {
    header_printed_ = true;
    const char* role = p_.bidir ? "[Role]" : "";
    bool local_sender = false;
    for (auto& s : streams_) local_sender |= s->sender;
    if (p_.workload != Workload::Stream) {
      out_.line("[ ID]%s Interval           Transactions     Rate", role);
    } else if (p_.udp) {
      out_.line(local_sender && !p_.bidir ? "[ ID]%s Interval           Transfer     Bitrate         Total Datagrams"
                                          : "[ ID]%s Interval           Transfer     Bitrate         Jitter    Lost/Total Datagrams",
                role);
    } else {
      out_.line(client_ || local_sender ? "[ ID]%s Interval           Transfer     Bitrate         Retr  Cwnd"
                                        : "[ ID]%s Interval           Transfer     Bitrate",
                role);
    }
  }
  Json iv = Json::object();
  Json js = Json::array();
  auto print_group = [&](bool forward_group) {
    std::vector<Line> g;
    for (auto& [s, l] : lines) {
      if (forward(*s) != forward_group) continue;
      char id[16];
      snprintf(id, sizeof id, "[%3d]", s->label);
      print_line(id, role_tag(*s), l, false, "");
      js.push(line_json(l, s->label, false));
      g.push_back(l);
    }
    if (g.size() > 1) {
      const char* role = !p_.bidir ? "" : forward_group ? (client_ ? "[TX-C]" : "[RX-S]") : (client_ ? "[RX-C]" : "[TX-S]");
      print_line("[SUM]", role, sum_of(g), false, "");
    }
  };
  print_group(true);
  print_group(false);
  if (many) {
    out_.line("- - - - - - - - - - - - - - - - - - - - - - - - -");
    separated_ = true;
  }
  iv.set("streams", std::move(js));
  const Line sf = sum_of(fwd.empty() ? rev : fwd);
  iv.set("sum", line_json(sf, -1, false));
  if (p_.bidir) iv.set("sum_bidir_reverse", line_json(sum_of(rev), -1, false));
  intervals_.push(std::move(iv));
  std::vector<double> ys;
  for (auto& [s, l] : lines) ys.push_back(l.rr ? l.tps() : l.bps());
  Line all = sum_of(fwd);
  {
    std::vector<Line> both = fwd;
    for (const Line& l : rev) both.push_back(l);
    all = sum_of(both);
  }
  ys.push_back(all.rr ? all.tps() : all.bps());
  series_.emplace_back(t, std::move(ys));
  if (on_interval) on_interval(all);
}

// ---- results exchange ----

Json TestRun::results_json() const {
  Json j = Json::object();
  j.set("cpu_util_total", Json::number(cpu_[0]));
  j.set("cpu_util_user", Json::number(cpu_[1]));
  j.set("cpu_util_system", Json::number(cpu_[2]));
  bool tcp_sender = false;
  for (auto& s : streams_) tcp_sender |= !p_.udp && s->sender;
  j.set("sender_has_retransmits", Json::integer(p_.udp ? 0 : tcp_sender ? 1 : -1));
  if (!p_.udp) {
    j.set("congestion_used", Json::string(congestion_.empty() ? congestion_name(net_, -1) : congestion_));
  }
  const double dur = stopped_ ? seconds(t_end_ - t0_) : running_ ? seconds(Clock::now() - t0_) : 0;
  Json arr = Json::array();
  for (auto& s : streams_) {
    Json o = Json::object();
    o.set("id", Json::integer(s->id));
    o.set("bytes", Json::uinteger(s->bytes));
    o.set("retransmits", Json::integer(!p_.udp && s->sender ? s->retrans - s->retrans_base : -1));
    o.set("jitter", Json::number(s->sender ? 0 : s->jitter));
    // As iperf3 counts them: whole-test totals, with what fell in the omitted start (-O) given apart.
    o.set("errors", Json::uinteger(s->sender ? 0 : s->lost + s->omitted_errors));
    o.set("omitted_errors", Json::uinteger(s->sender ? 0 : s->omitted_errors));
    o.set("packets", Json::uinteger(s->sender ? s->packets + s->omitted_packets : s->max_seq));
    o.set("omitted_packets", Json::uinteger(s->sender ? s->omitted_packets : s->seq_base));
    if (p_.workload != Workload::Stream) o.set("skiff_transactions", Json::uinteger(s->trans));
    o.set("start_time", Json::integer(0));
    o.set("end_time", Json::number(dur));
    arr.push(std::move(o));
  }
  j.set("streams", std::move(arr));
  return j;
}

bool TestRun::take_peer_results(const Json& j, std::string* err) {
  const Json* streams = j.get("streams");
  if (!j.is_object() || !streams || !streams->is_array()) {
    *err = "results without a streams array";
    return false;
  }
  const Json* v;
  if ((v = j.get("cpu_util_total"))) peer_cpu_[0] = v->as_double();
  if ((v = j.get("cpu_util_user"))) peer_cpu_[1] = v->as_double();
  if ((v = j.get("cpu_util_system"))) peer_cpu_[2] = v->as_double();
  peer_has_retrans_ = (v = j.get("sender_has_retransmits")) && v->as_int() == 1;
  if ((v = j.get("congestion_used"))) peer_congestion_ = v->as_string();
  for (const Json& e : streams->items()) {
    const Json* id = e.get("id");
    if (!id) continue;
    Stream* st = nullptr;
    for (auto& s : streams_)
      if (s->id == id->as_int(-1)) st = s.get();
    if (!st) {
      if (p_.workload == Workload::CRR) continue;  // the server counts on its own pseudo-stream
      *err = "results name a stream id that does not exist";
      return false;
    }
    st->have_peer = true;
    if ((v = e.get("bytes"))) st->peer_bytes = static_cast<uint64_t>(std::max<int64_t>(0, v->as_int()));
    if ((v = e.get("retransmits"))) st->peer_retrans = v->as_int(-1);
    if ((v = e.get("jitter"))) st->peer_jitter = v->as_double();
    if ((v = e.get("errors"))) st->peer_errors = static_cast<uint64_t>(std::max<int64_t>(0, v->as_int()));
    if ((v = e.get("packets"))) st->peer_packets = static_cast<uint64_t>(std::max<int64_t>(0, v->as_int()));
    if ((v = e.get("omitted_errors")) && v->as_int() > 0)
      st->peer_errors -= std::min(st->peer_errors, static_cast<uint64_t>(v->as_int()));
    if ((v = e.get("omitted_packets"))) {
      if (v->as_int() > 0) st->peer_packets -= std::min(st->peer_packets, static_cast<uint64_t>(v->as_int()));
    } else if (p_.udp) {
      // iperf3 3.12's server counts its packets over the whole test and leaves the omitted ones out of
      // its results; both ends saw the same sequence numbers, so ours at the end of the omitted start
      // tell how many.
      st->peer_packets -= std::min(st->peer_packets, st->sender ? st->omitted_packets : st->seq_base);
    }
    if ((v = e.get("end_time"))) st->peer_end = v->as_double();
  }
  have_peer_ = true;
  return true;
}

Line TestRun::sender_line(const Stream& s) const {
  Line l;
  l.udp = p_.udp;
  l.sender = true;
  l.rr = p_.workload != Workload::Stream;
  if (s.sender) {
    l.end = seconds(t_end_ - t0_);
    l.bytes = s.bytes;
    l.retrans = p_.udp ? -1 : s.retrans - s.retrans_base;
    l.packets = l.total = s.packets;
    l.trans = s.trans;
    l.p50 = static_cast<double>(s.hist.quantile(0.5));
    l.p99 = static_cast<double>(s.hist.quantile(0.99));
    l.p999 = static_cast<double>(s.hist.quantile(0.999));
    l.mean = s.hist.mean();
  } else {
    l.end = s.peer_end;
    l.bytes = s.peer_bytes;
    l.retrans = !p_.udp && peer_has_retrans_ ? s.peer_retrans : -1;
    l.packets = l.total = s.peer_packets;
  }
  return l;
}

Line TestRun::receiver_line(const Stream& s) const {
  Line l;
  l.udp = p_.udp;
  l.rr = p_.workload != Workload::Stream;
  if (!s.sender) {
    l.end = seconds(t_end_ - t0_);
    l.bytes = s.bytes;
    l.trans = s.trans;
    l.jitter_ms = s.jitter * 1000;
    l.ooo = s.ooo;
    const uint64_t sent = s.have_peer ? s.peer_packets : 0;
    const uint64_t seen = s.max_seq - s.seq_base;
    l.total = std::max(seen, sent);
    l.lost = s.lost + (l.total - seen);
  } else {
    l.end = s.peer_end;
    l.bytes = s.peer_bytes;
    l.jitter_ms = s.peer_jitter * 1000;
    l.total = std::max(s.peer_packets, s.packets);
    l.lost = s.peer_errors + (l.total - s.peer_packets);
  }
  return l;
}

void TestRun::print_summary() {
  if (!out_.texting()) return;
  if (!separated_) out_.line("- - - - - - - - - - - - - - - - - - - - - - - - -");
  const char* role = p_.bidir ? "[Role]" : "";
  bool any_sender_line = client_;
  for (auto& s : streams_) any_sender_line |= s->sender;
  if (p_.workload != Workload::Stream) {
    out_.line("[ ID]%s Interval           Transactions     Rate", role);
  } else if (p_.udp) {
    out_.line("[ ID]%s Interval           Transfer     Bitrate         Jitter    Lost/Total Datagrams", role);
  } else {
    out_.line(any_sender_line ? "[ ID]%s Interval           Transfer     Bitrate         Retr"
                              : "[ ID]%s Interval           Transfer     Bitrate",
              role);
  }
  for (int group = 0; group < 2; ++group) {
    std::vector<Line> snd, rcv;
    for (auto& s : streams_) {
      if (forward(*s) != (group == 0)) continue;
      char id[16];
      snprintf(id, sizeof id, "[%3d]", s->label);
      const bool show_sender = client_ ? (s->sender || s->have_peer) : s->sender;
      const bool show_receiver = client_ ? (!s->sender || s->have_peer) : !s->sender;
      if (p_.workload != Workload::Stream) {
        Line l = s->sender ? sender_line(*s) : receiver_line(*s);
        print_line(id, role_tag(*s), l, true, s->sender ? "" : "");
        (s->sender ? snd : rcv).push_back(l);
        continue;
      }
      if (show_sender) {
        Line l = sender_line(*s);
        print_line(id, role_tag(*s), l, true, "sender");
        snd.push_back(l);
      }
      if (show_receiver) {
        Line l = receiver_line(*s);
        print_line(id, role_tag(*s), l, true, "receiver");
        rcv.push_back(l);
      }
    }
    const char* grole = !p_.bidir ? "" : group == 0 ? (client_ ? "[TX-C]" : "[RX-S]") : (client_ ? "[RX-C]" : "[TX-S]");
    if (snd.size() > 1) {
      Line sum = sum_of(snd);
      sum.sender = true;
      print_line("[SUM]", grole, sum, true, p_.workload != Workload::Stream ? "" : "sender");
    }
    if (rcv.size() > 1) {
      Line sum = sum_of(rcv);
      sum.sender = false;
      print_line("[SUM]", grole, sum, true, p_.workload != Workload::Stream ? "" : "receiver");
    }
  }
  if (p_.udp) {  // small-packet UDP: the rate in packets, which iperf3's report leaves to arithmetic
    const Summary sm = summary();
    if (sm.seconds > 0 && (sm.packets_sent || sm.packets_received)) {
      out_.line("UDP packets/s: %s sent, %s received (%d-byte datagrams)",
                fmt_count(static_cast<double>(sm.packets_sent) / sm.seconds).c_str(),
                fmt_count(static_cast<double>(sm.packets_received) / sm.seconds).c_str(), p_.len);
    }
  }
  if (p_.workload == Workload::CRR && client_) {
    uint64_t fails = crr_failures_;
    if (fails) out_.line("%llu transactions failed", static_cast<unsigned long long>(fails));
  }
}

Json TestRun::end_json() const {
  Json end = Json::object();
  Json arr = Json::array();
  std::vector<Line> snd, rcv;
  for (auto& s : streams_) {
    Json e = Json::object();
    const Line sl = sender_line(*s), rl = receiver_line(*s);
    const bool have_s = s->sender || s->have_peer, have_r = !s->sender || s->have_peer;
    if (have_s) snd.push_back(sl);
    if (have_r) rcv.push_back(rl);
    if (p_.udp) {
      e.set("udp", line_json(s->sender ? sl : rl, s->label, true));
    } else {
      if (have_s) {
        Json sj = line_json(sl, s->label, true);
        if (s->sender && p_.workload == Workload::Stream) {
          sj.set("max_snd_cwnd", Json::uinteger(s->max_cwnd));
          if (s->have_snd_wnd) sj.set("max_snd_wnd", Json::uinteger(s->max_snd_wnd));
          sj.set("max_rtt", Json::uinteger(s->max_rtt));
          sj.set("min_rtt", Json::uinteger(s->rtt_n ? s->min_rtt : 0));
          sj.set("mean_rtt", Json::uinteger(s->rtt_n ? s->rtt_sum / s->rtt_n : 0));
        }
        e.set("sender", std::move(sj));
      }
      if (have_r) e.set("receiver", line_json(rl, s->label, true));
    }
    arr.push(std::move(e));
  }
  end.set("streams", std::move(arr));
  Line ss = sum_of(snd), rs = sum_of(rcv);
  ss.sender = true;
  rs.sender = false;
  if (p_.udp) end.set("sum", line_json(rs, -1, true));
  end.set("sum_sent", line_json(ss, -1, true));
  end.set("sum_received", line_json(rs, -1, true));
  Json cpu = Json::object();
  cpu.set("host_total", Json::number(cpu_[0]));
  cpu.set("host_user", Json::number(cpu_[1]));
  cpu.set("host_system", Json::number(cpu_[2]));
  cpu.set("remote_total", Json::number(peer_cpu_[0]));
  cpu.set("remote_user", Json::number(peer_cpu_[1]));
  cpu.set("remote_system", Json::number(peer_cpu_[2]));
  end.set("cpu_utilization_percent", std::move(cpu));
  if (!p_.udp) {
    const std::string mine = congestion_.empty() ? congestion_name(net_, -1) : congestion_;
    bool local_sends = false;
    for (auto& s : streams_) local_sends |= s->sender;
    const std::string peer = peer_congestion_.empty() ? mine : peer_congestion_;
    end.set("sender_tcp_congestion", Json::string(local_sends ? mine : peer));
    end.set("receiver_tcp_congestion", Json::string(local_sends ? peer : mine));
  }
  if (p_.udp) {
    const Summary sm = summary();
    Json u = Json::object();
    u.set("datagram_size", Json::integer(p_.len));
    u.set("packets_per_second_sent", Json::number(sm.seconds > 0 ? static_cast<double>(sm.packets_sent) / sm.seconds : 0));
    u.set("packets_per_second_received",
          Json::number(sm.seconds > 0 ? static_cast<double>(sm.packets_received) / sm.seconds : 0));
    end.set("skiff_udp", std::move(u));
  }
  if (p_.workload != Workload::Stream) {
    const Summary sm = summary();
    Json rr = Json::object();
    rr.set("mode", Json::string(p_.workload == Workload::RR ? "rr" : "crr"));
    rr.set("size", Json::integer(p_.rr_size));
    rr.set("transactions", Json::uinteger(sm.trans));
    rr.set("transactions_per_second", Json::number(sm.tps));
    Json lat = Json::object();
    lat.set("p50", Json::number(sm.p50_ns / 1000));
    lat.set("p99", Json::number(sm.p99_ns / 1000));
    lat.set("p99_9", Json::number(sm.p999_ns / 1000));
    lat.set("mean", Json::number(sm.mean_ns / 1000));
    rr.set("latency_us", std::move(lat));
    if (crr_failures_) rr.set("failed", Json::uinteger(crr_failures_));
    end.set("skiff_rr", std::move(rr));
  }
  return end;
}

Summary TestRun::summary() const {
  Summary sm;
  sm.seconds = stopped_ ? seconds(t_end_ - t0_) : 0;
  Histogram h;
  double sent_bps = 0, recv_bps = 0;
  for (auto& s : streams_) {
    const bool have_s = s->sender || s->have_peer, have_r = !s->sender || s->have_peer;
    if (have_s) {
      const Line l = sender_line(*s);
      sm.sent_bytes += l.bytes;
      sent_bps += l.bps();
      sm.packets_sent += l.total;
      if (l.retrans > 0) sm.retrans += static_cast<uint64_t>(l.retrans);
    }
    if (have_r) {
      const Line l = receiver_line(*s);
      sm.received_bytes += l.bytes;
      recv_bps += l.bps();
      sm.packets_lost += l.lost;
      sm.packets_received += l.total >= l.lost ? l.total - l.lost : 0;
      sm.jitter_ms = std::max(sm.jitter_ms, l.jitter_ms);
    }
    sm.trans += s->trans;
    h.merge(s->hist);
  }
  sm.sent_bps = sent_bps;
  sm.received_bps = recv_bps;
  if (p_.workload != Workload::Stream) {
    // The server's count lives in its own pseudo-stream; the client's in its streams' histograms.
    sm.trans = client_ ? h.count() : sm.trans;
    sm.tps = sm.seconds > 0 ? static_cast<double>(sm.trans) / sm.seconds : 0;
    sm.p50_ns = static_cast<double>(h.quantile(0.5));
    sm.p99_ns = static_cast<double>(h.quantile(0.99));
    sm.p999_ns = static_cast<double>(h.quantile(0.999));
    sm.mean_ns = h.mean();
  }
  return sm;
}

std::vector<PlotSeries> TestRun::plot_series() const {
  std::vector<PlotSeries> out;
  const size_t n = streams_.size();
  if (n > 1) {
    for (size_t i = 0; i < n; ++i) {
      PlotSeries s;
      s.name = "stream " + std::to_string(streams_[i]->label);
      if (p_.bidir) s.name += streams_[i]->sender ? " (send)" : " (recv)";
      for (const auto& [t, ys] : series_)
        if (i < ys.size()) s.points.emplace_back(t, ys[i]);
      out.push_back(std::move(s));
    }
  }
  PlotSeries sum;
  sum.name = n > 1 ? "sum" : "stream";
  for (const auto& [t, ys] : series_)
    if (!ys.empty()) sum.points.emplace_back(t, ys.back());
  out.push_back(std::move(sum));
  return out;
}

}  // namespace perf
