// skiff-perf's server: the iperf3 server state machine (see proto.hh) over any Net. One test at a time;
// anyone else who connects meanwhile gets ACCESS_DENIED. Bad input ends the test with a logged reason
// and the server goes on listening.

#include <arpa/inet.h>
#include <netinet/tcp.h>

#include <cerrno>
#include <cstring>

#include "skiff-perf/peers.hh"

namespace perf {

namespace {
constexpr double kSetupTimeout = 10;  // seconds from accepting a client to its streams being up
constexpr double kResultsTimeout = 10;
}  // namespace

Server::Server(Loop& loop, Net& net, const Options& o, Output& out) : loop_(loop), net_(net), o_(o), out_(out) {
  listener_.s = this;
}

Server::~Server() {
  if (test_ && test_->timer) loop_.cancel(test_->timer);
  test_.reset();
  graveyard_.clear();
  for (auto& p : pending_)
    if (p->fd >= 0) loop_.close(net_, p->fd);
  if (lfd_ >= 0) loop_.close(net_, lfd_);
}

bool Server::start(std::string* err) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(o_.port);
  if (!o_.bind_host.empty() && !resolve_ipv4(o_.bind_host, o_.port, &a)) {
    *err = "cannot resolve '" + o_.bind_host + "'";
    return false;
  }
  lfd_ = net_.socket(SOCK_STREAM);
  if (lfd_ < 0) {
    *err = std::string("socket: ") + strerror(errno);
    return false;
  }
  net_.set_int(lfd_, SOL_SOCKET, SO_REUSEADDR, 1);
  if (net_.bind(lfd_, a) < 0 || net_.listen(lfd_, 128) < 0) {
    *err = std::string("unable to start listener for connections: ") + strerror(errno);
    return false;
  }
  sockaddr_in bound{};
  net_.getsockname(lfd_, &bound);
  port_ = ntohs(bound.sin_port);
  loop_.add(net_, lfd_, EPOLLIN, &listener_);
  print_banner();
  return true;
}

void Server::print_banner() {
  out_.line("-----------------------------------------------------------");
  out_.line("Server listening on %u (test #%d)", port_, tests_ + 1);
  out_.line("-----------------------------------------------------------");
}

static void log_error(const std::string& e) {
  fprintf(stderr, "skiff-perf: error - %s\n", e.c_str());
  fflush(stderr);
}

void Server::on_accept() {
  graveyard_.clear();
  std::erase_if(pending_, [](const std::unique_ptr<PendingStream>& p) { return p->fd < 0; });
  for (;;) {
    sockaddr_in peer{};
    const int fd = net_.accept(lfd_, &peer);
    if (fd < 0) return;
    if (done_) {
      net_.close(fd);
      continue;
    }
    if (!test_) {
      ++tests_;
      test_ = std::make_unique<Test>();
      test_->ctrl = std::make_unique<Control>(loop_, net_);
      test_->client = peer;
      test_->ctrl->attach(fd);
      test_->ctrl->on_data = [this] { on_control(); };
      test_->timer = loop_.after(kSetupTimeout, [this] {
        test_->timer = 0;
        end_test(false, "timed out waiting for the client to set up the test");
      });
      continue;
    }
    Test& t = *test_;
    if (t.phase == Phase::Streams && !t.p.udp) {
      auto ps = std::make_unique<PendingStream>();
      ps->s = this;
      ps->fd = fd;
      loop_.add(net_, fd, EPOLLIN, ps.get());
      pending_.push_back(std::move(ps));
      continue;
    }
    if (t.phase == Phase::Running && t.p.workload == Workload::CRR && t.run &&
        peer.sin_addr.s_addr == t.client.sin_addr.s_addr) {
      t.run->accept_crr(fd);
      continue;
    }
    // Busy: iperf3's answer without reading anything, so the running test is not disturbed.
    const int8_t denied = ACCESS_DENIED;
    net_.send(fd, &denied, 1);
    net_.close(fd);
    log_error("refused a connection from " + ip_string(peer) + " port " + std::to_string(ntohs(peer.sin_port)) +
              ": a test is running (ACCESS_DENIED)");
  }
}

void Server::pending_event(PendingStream& ps) {
  if (ps.fd < 0) return;
  char b[kCookieLen];
  for (;;) {
    const ssize_t n = net_.recv(ps.fd, b, kCookieLen - ps.buf.size());
    if (n > 0) {
      ps.buf.append(b, static_cast<size_t>(n));
      if (ps.buf.size() < kCookieLen) continue;
      break;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    loop_.close(net_, ps.fd);  // closed before sending a whole cookie
    ps.fd = -1;
    return;
  }
  const int fd = ps.fd;
  ps.fd = -1;
  loop_.remove(net_, fd);
  if (!test_ || test_->phase != Phase::Streams || ps.buf != test_->cookie ||
      static_cast<int>(test_->run->stream_count()) >= test_->expected) {
    const int8_t denied = ACCESS_DENIED;
    net_.send(fd, &denied, 1);
    net_.close(fd);
    return;
  }
  setup_stream_socket(fd);
  const int i = static_cast<int>(test_->run->stream_count());
  stream_added(test_->run->add_stream(fd, !test_->p.client_sends(i)));
}

void Server::setup_stream_socket(int fd) {
  const TestParams& p = test_->p;
  if (p.window) {
    net_.set_int(fd, SOL_SOCKET, SO_SNDBUF, p.window);
    net_.set_int(fd, SOL_SOCKET, SO_RCVBUF, p.window);
  }
  if (!p.udp) {
    if (!p.window) {
      if (const int sb = tcp_send_buffer(net_, p.stream_count())) net_.set_int(fd, SOL_SOCKET, SO_SNDBUF, sb);
    }
    if (p.nodelay) net_.set_int(fd, IPPROTO_TCP, TCP_NODELAY, 1);
    if (p.mss) net_.set_int(fd, IPPROTO_TCP, TCP_MAXSEG, p.mss);
    if (!p.congestion.empty() && net_.setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, p.congestion.data(),
                                                 static_cast<socklen_t>(p.congestion.size())) < 0)
      log_error(std::string("TCP_CONGESTION '") + p.congestion + "': " + strerror(errno) +
                " (the stream keeps the default)");
  }
}

void Server::stream_added(Stream* s) {
  test_->run->announce(*s);
  if (static_cast<int>(test_->run->stream_count()) >= test_->expected) begin_test();
}

void Server::on_udp_unknown(const uint8_t* p, size_t n, const sockaddr_in& from) {
  if (!test_ || n != 4) return;
  uint32_t v;
  memcpy(&v, p, 4);
  if (ntohl(v) != kUdpConnectMsg) return;
  Test& t = *test_;
  const uint32_t reply = htonl(kUdpConnectReply);
  for (auto& s : t.run->streams())
    if (s->remote.sin_addr.s_addr == from.sin_addr.s_addr && s->remote.sin_port == from.sin_port) {
      net_.sendto(s->fd, &reply, 4, from);  // a repeated connect: answer again
      return;
    }
  if (t.phase != Phase::Streams || static_cast<int>(t.run->stream_count()) >= t.expected) return;
  const int i = static_cast<int>(t.run->stream_count());
  Stream* s = t.run->add_shared_udp_stream(shared_udp_fd_, !t.p.client_sends(i), from);
  sockaddr_in local{};
  if (t.ctrl->fd() >= 0 && net_.getsockname(t.ctrl->fd(), &local) == 0) s->local.sin_addr = local.sin_addr;
  net_.sendto(shared_udp_fd_, &reply, 4, from);
  stream_added(s);
}

void Server::on_control() {
  if (!test_ || test_->phase == Phase::Dead) return;
  Test& t = *test_;
  Control& c = *t.ctrl;
  bool more = false;  // the next message is not complete yet
  while (!more && test_ && t.phase != Phase::Dead && c.available()) {
    switch (t.phase) {
      case Phase::Cookie:
        if (c.available() < kCookieLen) {
          more = true;
          break;
        }
        t.cookie.assign(reinterpret_cast<const char*>(c.peek()), kCookieLen);
        c.consume(kCookieLen);
        c.send_state(PARAM_EXCHANGE);
        t.phase = Phase::Params;
        break;
      case Phase::Params: {
        Json j;
        std::string err;
        const int r = c.take_json(&j, &err);
        if (r == 0) {
          more = true;
          break;
        }
        if (r < 0) return end_test(false, "unable to receive parameters from client: " + err);
        if (!TestParams::from_json(j, &t.p, &err)) return end_test(false, "bad parameters from client: " + err);
        out_.line("Accepted connection from %s, port %u", ip_string(t.client).c_str(), ntohs(t.client.sin_port));
        t.run = std::make_unique<TestRun>(loop_, net_, false, t.p, out_, o_.interval);
        t.run->on_error = [](const std::string& e) { log_error(e); };
        t.expected = t.p.stream_count();
        if (t.p.udp) {
          const int u = net_.socket(SOCK_DGRAM);
          sockaddr_in a{};
          net_.getsockname(lfd_, &a);
          if (u < 0 || net_.bind(u, a) < 0) {
            const int e = errno;
            if (u >= 0) net_.close(u);
            c.send_state(SERVER_ERROR);
            const uint32_t codes[2] = {htonl(1), htonl(static_cast<uint32_t>(e))};
            c.send(codes, sizeof codes);
            return end_test(false, std::string("unable to bind the UDP socket: ") + strerror(e));
          }
          if (t.p.window) {
            net_.set_int(u, SOL_SOCKET, SO_SNDBUF, t.p.window);
            net_.set_int(u, SOL_SOCKET, SO_RCVBUF, t.p.window);
          } else {
            net_.set_int(u, SOL_SOCKET, SO_RCVBUF, 4 << 20);  // many streams share it
          }
          shared_udp_fd_ = u;
          t.run->set_shared_udp(u, [this](const uint8_t* p, size_t n, const sockaddr_in& from) {
            on_udp_unknown(p, n, from);
          });
        }
        t.phase = Phase::Streams;
        c.send_state(CREATE_STREAMS);
        if (t.expected == 0) begin_test();
        break;
      }
      case Phase::Streams:
      case Phase::Running: {
        const auto s = static_cast<int8_t>(*c.peek());
        c.consume(1);
        if (s == TEST_END && t.phase == Phase::Running) {
          t.run->stop();
          t.run->close_streams();
          shared_udp_fd_ = -1;
          t.phase = Phase::Results;
          if (t.timer) loop_.cancel(t.timer);
          t.timer = loop_.after(kResultsTimeout, [this] {
            test_->timer = 0;
            end_test(false, "timed out waiting for the client's results");
          });
          c.send_state(EXCHANGE_RESULTS);
        } else if (s == CLIENT_TERMINATE) {
          if (t.run) t.run->stop();
          if (t.run) t.run->print_summary();
          return end_test(false, "the client has terminated");
        } else {
          return end_test(false, "received an unknown control message (" + std::to_string(s) + ")");
        }
        break;
      }
      case Phase::Results: {
        Json j;
        std::string err;
        const int r = c.take_json(&j, &err);
        if (r == 0) {
          more = true;
          break;
        }
        if (r < 0 || !t.run->take_peer_results(j, &err)) return end_test(false, "unable to receive results: " + err);
        c.send_json(t.run->results_json());
        c.send_state(DISPLAY_RESULTS);
        t.run->print_summary();
        t.phase = Phase::Done;
        break;
      }
      case Phase::Done: {
        const auto s = static_cast<int8_t>(*c.peek());
        c.consume(1);
        if (s == IPERF_DONE) return end_test(true, "");
        return end_test(false, "received an unknown control message (" + std::to_string(s) + ")");
      }
      case Phase::Dead: return;
    }
  }
  if (test_ && t.phase != Phase::Dead && c.closed()) {
    if (t.phase == Phase::Done) return end_test(true, "");  // closed instead of IPERF_DONE: fine
    if (t.phase == Phase::Running && t.run) {
      t.run->stop();
      t.run->print_summary();
    }
    if (t.phase == Phase::Cookie) {
      // iperf3 takes whatever arrived before the end as the cookie and asks for the parameters; only
      // their read fails.
      c.send_state(PARAM_EXCHANGE);
      return end_test(false, "unable to receive parameters from client: the client closed the connection");
    }
    if (t.phase == Phase::Params)
      return end_test(false, "unable to receive parameters from client: the client closed the connection");
    end_test(false, "the client has unexpectedly closed the connection");
  }
}

void Server::begin_test() {
  Test& t = *test_;
  if (t.phase != Phase::Streams) return;
  for (auto& p : pending_)  // streams beyond the expected count, or late: refused
    if (p->fd >= 0) {
      loop_.close(net_, p->fd);
      p->fd = -1;
    }
  if (t.timer) loop_.cancel(t.timer);
  t.timer = 0;
  if (t.p.time > 0) {
    // A client that vanishes without closing: give up well after its test should have ended.
    t.timer = loop_.after(t.p.time + t.p.omit + 60, [this] {
      test_->timer = 0;
      end_test(false, "the test ran far past its duration; the client is gone");
    });
  }
  t.ctrl->send_state(TEST_START);
  t.ctrl->send_state(TEST_RUNNING);
  t.phase = Phase::Running;
  t.run->start();
}

void Server::print_json(const std::string& err) {
  Test& t = *test_;
  Json doc = Json::object();
  Json start = json_start_common();
  if (t.run) start.set("connected", t.run->start_connected_json());
  Json ac = Json::object();
  ac.set("host", Json::string(ip_string(t.client)));
  ac.set("port", Json::integer(ntohs(t.client.sin_port)));
  start.set("accepted_connection", std::move(ac));
  start.set("cookie", Json::string(t.cookie.empty() ? "" : t.cookie.substr(0, kCookieLen - 1)));
  Json ts = Json::object();
  ts.set("protocol", Json::string(t.p.udp ? "UDP" : "TCP"));
  ts.set("num_streams", Json::integer(t.p.parallel));
  ts.set("blksize", Json::integer(t.p.len));
  ts.set("omit", Json::integer(t.p.omit));
  ts.set("duration", Json::number(t.p.time));
  ts.set("bytes", Json::uinteger(t.p.num));
  ts.set("blocks", Json::uinteger(t.p.blockcount));
  ts.set("reverse", Json::integer(t.p.reverse ? 1 : 0));
  ts.set("tos", Json::integer(0));
  ts.set("target_bitrate", Json::uinteger(t.p.rate));
  ts.set("bidir", Json::integer(t.p.bidir ? 1 : 0));
  start.set("test_start", std::move(ts));
  start.set("skiff_backend", Json::string(net_.name()));
  doc.set("start", std::move(start));
  doc.set("intervals", t.run ? t.run->intervals_json() : Json::array());
  doc.set("end", t.run && t.run->finished() ? t.run->end_json() : Json::object());
  if (!err.empty()) doc.set("error", Json::string(err));
  if (out_.text) {
    fprintf(out_.text, "%s\n", doc.dump(true).c_str());
    fflush(out_.text);
  }
}

void Server::end_test(bool ok, const std::string& err) {
  if (!test_ || test_->phase == Phase::Dead) return;
  Test& t = *test_;
  const bool started = t.phase != Phase::Cookie && t.phase != Phase::Params;
  if (t.run) t.run->stop();
  if (!ok) log_error(err);
  if (o_.json && started) print_json(ok ? "" : err);
  t.phase = Phase::Dead;
  if (t.timer) loop_.cancel(t.timer);
  t.timer = 0;
  for (auto& p : pending_)
    if (p->fd >= 0) {
      loop_.close(net_, p->fd);
      p->fd = -1;
    }
  // Sockets close now; the objects go later (this may run inside one of their callbacks).
  t.ctrl->close();
  shared_udp_fd_ = -1;
  graveyard_.push_back(std::move(test_));
  loop_.at(Clock::now(), [this] { graveyard_.clear(); });
  if (o_.one_off) {
    done_ = true;
    return;
  }
  print_banner();
}

void Server::terminate() {
  if (test_ && test_->phase != Phase::Dead) {
    test_->ctrl->send_state(SERVER_TERMINATE);
    if (test_->phase == Phase::Running && test_->run) {
      test_->run->stop();
      test_->run->print_summary();
    }
    end_test(false, "interrupt - the server has terminated");
  }
  done_ = true;
}

}  // namespace perf
