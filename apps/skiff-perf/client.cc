// skiff-perf's client: the iperf3 client state machine (see proto.hh) over any Net.

#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <sys/utsname.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <random>

#include "skiff-perf/peers.hh"

namespace perf {

namespace {

std::string make_cookie() {
  static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
  std::random_device rd;
  std::mt19937_64 rng((static_cast<uint64_t>(rd()) << 32) ^ rd() ^
                      static_cast<uint64_t>(Clock::now().time_since_epoch().count()));
  std::string c(kCookieLen, '\0');
  for (size_t i = 0; i + 1 < kCookieLen; ++i) c[i] = alphabet[rng() % 32];
  return c;  // 36 characters and the NUL
}

const char* state_error(int8_t s) {
  switch (s) {
    case ACCESS_DENIED: return "the server is busy running a test. try again later";
    case SERVER_TERMINATE: return "the server has terminated";
    default: return nullptr;
  }
}

}  // namespace

Json json_start_common() {
  Json s = Json::object();
  s.set("connected", Json::array());
  s.set("version", Json::string("skiff-perf 0.1 (iperf 3.12 protocol)"));
  utsname u{};
  uname(&u);
  s.set("system_info", Json::string(std::string(u.sysname) + " " + u.nodename + " " + u.release + " " + u.version +
                                    " " + u.machine));
  const time_t now = time(nullptr);
  tm g{};
  gmtime_r(&now, &g);
  char b[64];
  strftime(b, sizeof b, "%a, %d %b %Y %H:%M:%S GMT", &g);
  Json ts = Json::object();
  ts.set("time", Json::string(b));
  ts.set("timesecs", Json::integer(static_cast<int64_t>(now)));
  s.set("timestamp", std::move(ts));
  return s;
}

Client::Client(Loop& loop, Net& net, const Options& o, Output& out)
    : loop_(loop), net_(net), o_(o), p_(o.params()), out_(out), ctrl_(loop, net) {
  pending_.c = this;
}

Client::~Client() {
  if (setup_timer_) loop_.cancel(setup_timer_);
  if (end_timer_) loop_.cancel(end_timer_);
  if (pending_.timer) loop_.cancel(pending_.timer);
  if (pending_.fd >= 0) loop_.close(net_, pending_.fd);
}

void Client::start() {
  if (!resolve_ipv4(o_.host, o_.port, &server_)) return finish(1, "cannot resolve '" + o_.host + "'");
  if (!o_.bind_host.empty()) {
    if (!resolve_ipv4(o_.bind_host, 0, &bind_)) return finish(1, "cannot resolve '" + o_.bind_host + "'");
    have_bind_ = true;
  }
  out_.line("Connecting to host %s, port %u", o_.host.c_str(), o_.port);
  if (p_.reverse) out_.line("Reverse mode, remote host %s is sending", o_.host.c_str());
  ctrl_.on_connected = [this] {
    cookie_ = make_cookie();
    ctrl_.send(cookie_.data(), cookie_.size());
  };
  ctrl_.on_data = [this] { on_control(); };
  if (!ctrl_.connect(server_, have_bind_ ? &bind_ : nullptr))
    return finish(1, std::string("unable to connect to server: ") + strerror(ctrl_.error()));
  setup_timer_ = loop_.after(30, [this] {
    setup_timer_ = 0;
    finish(1, "timed out setting up the test (is the server running?)");
  });
}

void Client::on_control() {
  while (!done_ && ctrl_.available()) {
    if (expect_ == Expect::State) {
      const auto s = static_cast<int8_t>(*ctrl_.peek());
      ctrl_.consume(1);
      if ((s == TEST_START || s == TEST_RUNNING) && run_ && next_stream_ < p_.stream_count()) {
        // The server saw every stream before we did (a UDP reply still unread): finish them first.
        deferred_.push_back(s);
        continue;
      }
      handle_state(s);
    } else if (expect_ == Expect::Results) {
      Json j;
      std::string err;
      const int r = ctrl_.take_json(&j, &err);
      if (r == 0) break;
      if (r < 0) return finish(1, "unable to receive results: " + err);
      if (!run_->take_peer_results(j, &err)) return finish(1, "unable to receive results: " + err);
      results_in_ = true;
      expect_ = Expect::State;
    } else {
      if (ctrl_.available() < 8) break;
      uint32_t codes[2];
      memcpy(codes, ctrl_.peek(), 8);
      ctrl_.consume(8);
      return finish(1, "the server reported an error (code " + std::to_string(static_cast<int32_t>(ntohl(codes[0]))) +
                           ", errno " + std::to_string(static_cast<int32_t>(ntohl(codes[1]))) + ")");
    }
  }
  if (!done_ && ctrl_.closed()) {
    if (!ctrl_.connected() || ctrl_.bytes_in() == 0) {
      if (!ctrl_.connected()) return finish(1, std::string("unable to connect to server: ") + strerror(ctrl_.error()));
    }
    finish(1, "control socket has closed unexpectedly");
  }
}

int Client::stream_socket(bool udp) {
  const int fd = net_.socket(udp ? SOCK_DGRAM : SOCK_STREAM);
  if (fd < 0) return -1;
  if (p_.window) {
    net_.set_int(fd, SOL_SOCKET, SO_SNDBUF, p_.window);
    net_.set_int(fd, SOL_SOCKET, SO_RCVBUF, p_.window);
  } else if (udp) {
    // Room for bursts: a stack charges each datagram its whole buffer (16 KiB with af_packet frames).
    net_.set_int(fd, SOL_SOCKET, SO_RCVBUF, 4 << 20);
  }
  if (!udp) {
    if (!p_.window) {
      if (const int sb = tcp_send_buffer(net_, p_.stream_count())) net_.set_int(fd, SOL_SOCKET, SO_SNDBUF, sb);
    }
    if (p_.mss) net_.set_int(fd, IPPROTO_TCP, TCP_MAXSEG, p_.mss);
    if (p_.nodelay) net_.set_int(fd, IPPROTO_TCP, TCP_NODELAY, 1);
    if (!p_.congestion.empty() &&
        net_.setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, p_.congestion.data(),
                        static_cast<socklen_t>(p_.congestion.size())) < 0) {
      socket_error_ = std::string("unable to set TCP_CONGESTION '") + p_.congestion + "': " + strerror(errno);
      net_.close(fd);
      return -1;
    }
  }
  if (have_bind_ && net_.bind(fd, bind_) < 0) {
    net_.close(fd);
    return -1;
  }
  return fd;
}

void Client::handle_state(int8_t s) {
  switch (s) {
    case PARAM_EXCHANGE: {
      if (p_.udp && !o_.len) {
        // iperf3's "dynamic" UDP length: the control connection's MSS, if the stack tells it.
        int mss = 0;
        if (net_.get_int(ctrl_.fd(), IPPROTO_TCP, TCP_MAXSEG, &mss) == 0 && mss >= 64)
          p_.len = std::min(mss, 32768);
      }
      ctrl_.send_json(p_.to_json());
      return;
    }
    case CREATE_STREAMS:
      run_ = std::make_unique<TestRun>(loop_, net_, true, p_, out_, o_.interval);
      run_->on_limit = [this] { end_test(); };
      run_->on_interval = [this](const Line& l) {
        if (on_interval) on_interval(l);
      };
      run_->on_error = [this](const std::string& e) { finish(1, e); };
      run_->set_crr_target(server_);
      next_stream_ = 0;
      connect_next_stream();
      return;
    case TEST_START:
      if (!run_) return finish(1, "the server started a test before creating streams");
      return;
    case TEST_RUNNING:
      if (!run_) return finish(1, "the server started a test before creating streams");
      if (setup_timer_) loop_.cancel(setup_timer_);
      setup_timer_ = 0;
      run_->start();
      if (p_.time > 0) end_timer_ = loop_.after(p_.time + p_.omit, [this] {
        end_timer_ = 0;
        end_test();
      });
      return;
    case EXCHANGE_RESULTS:
      if (!run_) return finish(1, "results requested before a test");
      run_->stop();
      ctrl_.send_json(run_->results_json());
      expect_ = Expect::Results;
      return;
    case DISPLAY_RESULTS: {
      if (!run_) return finish(1, "results displayed before a test");
      ctrl_.send_state(IPERF_DONE);
      if (p_.workload != Workload::Stream && run_->summary().trans == 0)
        return finish(1, "no transaction completed (--rr/--crr need skiff-perf -s on the other end)");
      finish(0);
      return;
    }
    case SERVER_ERROR:
      expect_ = Expect::ErrorCodes;
      return;
    default:
      if (const char* e = state_error(s)) return finish(1, e);
      return finish(1, "received an unknown control message (" + std::to_string(s) + ")");
  }
}

void Client::connect_next_stream() {
  if (done_ || next_stream_ >= p_.stream_count()) return;
  const int fd = stream_socket(p_.udp);
  if (fd < 0) {
    return finish(1, socket_error_.empty() ? std::string("unable to create a stream socket: ") + strerror(errno)
                                           : socket_error_);
  }
  pending_.fd = fd;
  pending_.tries = 0;
  if (net_.connect(fd, server_) < 0 && errno != EINPROGRESS) {
    const int e = errno;
    return finish(1, std::string("unable to connect a stream: ") + strerror(e));
  }
  if (p_.udp) {
    const uint32_t msg = htonl(kUdpConnectMsg);
    net_.send(fd, &msg, 4);
    loop_.add(net_, fd, EPOLLIN, &pending_);
    // iperf3 sends the connect message once; resend a few times in case the first one was lost.
    pending_.timer = loop_.after(1, [this] { resend_udp_connect(); });
  } else {
    loop_.add(net_, fd, EPOLLOUT, &pending_);
  }
}

void Client::resend_udp_connect() {
  pending_.timer = 0;
  if (pending_.fd < 0 || done_) return;
  if (++pending_.tries > 5) return finish(1, "no reply to the UDP stream's connect message");
  const uint32_t m = htonl(kUdpConnectMsg);
  net_.send(pending_.fd, &m, 4);
  pending_.timer = loop_.after(1, [this] { resend_udp_connect(); });
}

void Client::stream_event(uint32_t events) {
  if (pending_.fd < 0 || done_) return;
  if (p_.udp) {
    uint32_t reply = 0;
    const ssize_t n = net_.recv(pending_.fd, &reply, sizeof reply);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      return finish(1, std::string("UDP stream connect: ") + strerror(errno));
    }
    reply = ntohl(reply);
    if (n != 4 || (reply != kUdpConnectReply && reply != 0xb168de3a)) return;  // not the reply: ignore
    return stream_ready();
  }
  int err = 0;
  net_.get_int(pending_.fd, SOL_SOCKET, SO_ERROR, &err);
  if (err) return finish(1, std::string("unable to connect a stream: ") + strerror(err));
  sockaddr_in peer{};
  if (net_.getpeername(pending_.fd, &peer) < 0) {
    if (events & (EPOLLERR | EPOLLHUP)) return finish(1, "unable to connect a stream");
    return;  // still connecting
  }
  if (net_.send(pending_.fd, cookie_.data(), cookie_.size()) != static_cast<ssize_t>(cookie_.size()))
    return finish(1, "unable to send the cookie on a stream");
  stream_ready();
}

void Client::stream_ready() {
  const int fd = pending_.fd;
  pending_.fd = -1;
  if (pending_.timer) loop_.cancel(pending_.timer);
  pending_.timer = 0;
  loop_.remove(net_, fd);
  Stream* s = run_->add_stream(fd, p_.client_sends(next_stream_));
  run_->announce(*s);
  ++next_stream_;
  if (next_stream_ < p_.stream_count()) return connect_next_stream();
  const std::vector<int8_t> states = std::move(deferred_);
  deferred_.clear();
  for (const int8_t st : states)
    if (!done_) handle_state(st);
}

void Client::end_test() {
  if (ended_ || done_ || !run_) return;
  ended_ = true;
  run_->stop();
  ctrl_.send_state(TEST_END);
}

void Client::terminate() {
  if (done_) return;
  if (ctrl_.connected()) ctrl_.send_state(CLIENT_TERMINATE);
  if (run_) run_->stop();
  finish(1, "interrupt - the client has terminated");
}

void Client::print_json(const std::string& err) {
  Json doc = Json::object();
  Json start = json_start_common();
  if (run_) start.set("connected", run_->start_connected_json());
  Json ct = Json::object();
  ct.set("host", Json::string(o_.host));
  ct.set("port", Json::integer(o_.port));
  start.set("connecting_to", std::move(ct));
  start.set("cookie", Json::string(cookie_.empty() ? "" : cookie_.substr(0, kCookieLen - 1)));
  if (!p_.udp) start.set("tcp_mss_default", Json::integer(0));
  start.set("target_bitrate", Json::uinteger(p_.rate));
  start.set("sock_bufsize", Json::integer(p_.window));
  int snd = 0, rcv = 0;
  if (run_ && !run_->streams().empty() && run_->streams().front()->fd >= 0) {
    net_.get_int(run_->streams().front()->fd, SOL_SOCKET, SO_SNDBUF, &snd);
    net_.get_int(run_->streams().front()->fd, SOL_SOCKET, SO_RCVBUF, &rcv);
  }
  start.set("sndbuf_actual", Json::integer(snd));
  start.set("rcvbuf_actual", Json::integer(rcv));
  Json ts = Json::object();
  ts.set("protocol", Json::string(p_.udp ? "UDP" : "TCP"));
  ts.set("num_streams", Json::integer(p_.parallel));
  ts.set("blksize", Json::integer(p_.len));
  ts.set("omit", Json::integer(p_.omit));
  ts.set("duration", Json::number(p_.time));
  ts.set("bytes", Json::uinteger(p_.num));
  ts.set("blocks", Json::uinteger(p_.blockcount));
  ts.set("reverse", Json::integer(p_.reverse ? 1 : 0));
  ts.set("tos", Json::integer(0));
  ts.set("target_bitrate", Json::uinteger(p_.rate));
  ts.set("bidir", Json::integer(p_.bidir ? 1 : 0));
  ts.set("fqrate", Json::integer(0));
  ts.set("interval", Json::number(o_.interval));
  if (p_.workload != Workload::Stream) {
    ts.set("skiff_workload", Json::string(p_.workload == Workload::RR ? "rr" : "crr"));
    ts.set("skiff_rr_size", Json::integer(p_.rr_size));
  }
  start.set("test_start", std::move(ts));
  start.set("skiff_backend", Json::string(net_.name()));
  doc.set("start", std::move(start));
  doc.set("intervals", run_ ? run_->intervals_json() : Json::array());
  doc.set("end", run_ && run_->finished() ? run_->end_json() : Json::object());
  if (!err.empty()) doc.set("error", Json::string(err));
  if (out_.text) {
    fprintf(out_.text, "%s\n", doc.dump(true).c_str());
    fflush(out_.text);
  }
}

void Client::finish(int rc, const std::string& err) {
  if (done_) return;
  done_ = true;
  rc_ = rc;
  error_ = err;
  if (setup_timer_) loop_.cancel(setup_timer_);
  if (end_timer_) loop_.cancel(end_timer_);
  setup_timer_ = end_timer_ = 0;
  if (run_) run_->stop();
  if (o_.json) {
    print_json(err);
  } else {
    if (run_ && run_->finished()) run_->print_summary();
    if (err.empty()) {
      out_.line("\niperf Done.");
    } else if (out_.text) {
      fprintf(stderr, "skiff-perf: error - %s\n", err.c_str());
    }
  }
  if (!o_.plot.empty() && run_ && run_->finished()) {
    const std::string title = std::string("skiff-perf ") + (p_.udp ? "UDP" : "TCP") +
                              (p_.workload == Workload::RR ? " request/response" : p_.workload == Workload::CRR ? " connect/request/response" : "") +
                              " to " + o_.host + " (" + net_.name() + ")";
    if (!write_svg_plot(o_.plot, title, run_->plot_unit(), run_->plot_series()))
      fprintf(stderr, "skiff-perf: --plot %s: %s\n", o_.plot.c_str(), strerror(errno));
  }
  ctrl_.close();
}

}  // namespace perf
