#pragma once
// The two ends of the iperf3 protocol over any Net: Client (what `iperf3 -c` does) and Server (what
// `iperf3 -s` does), both event-driven on a Loop so several can share one thread.

#include <memory>
#include <string>
#include <vector>

#include "skiff-perf/control.hh"
#include "skiff-perf/proto.hh"
#include "skiff-perf/test.hh"

namespace perf {

// The "start" section's fixed parts (version, system, timestamp) for -J.
Json json_start_common();

class Client {
 public:
  Client(Loop& loop, Net& net, const Options& o, Output& out);
  ~Client();
  void start();
  bool done() const { return done_; }
  int exit_code() const { return rc_; }
  // SIGINT: tell the server (CLIENT_TERMINATE), print what was measured.
  void terminate();
  const TestRun* run() const { return run_.get(); }
  const std::string& error() const { return error_; }
  // Called on every interval report (the demo's progress line).
  std::function<void(const Line&)> on_interval;

 private:
  struct Pending final : Watcher {
    Client* c = nullptr;
    int fd = -1;
    int tries = 0;
    uint64_t timer = 0;
    void on_ready(uint32_t events) override { c->stream_event(events); }
  };
  void on_control();
  void handle_state(int8_t s);
  void connect_next_stream();
  void resend_udp_connect();
  void stream_event(uint32_t events);
  void stream_ready();
  void end_test();
  void finish(int rc, const std::string& err = "");
  void print_json(const std::string& err);
  int stream_socket(bool udp);

  Loop& loop_;
  Net& net_;
  Options o_;
  TestParams p_;
  Output& out_;
  Control ctrl_;
  std::unique_ptr<TestRun> run_;
  std::string cookie_;
  sockaddr_in server_{}, bind_{};
  bool have_bind_ = false;
  enum class Expect { State, Results, ErrorCodes } expect_ = Expect::State;
  int next_stream_ = 0;
  std::vector<int8_t> deferred_;  // states that arrived before our last stream was up
  Pending pending_;
  bool ended_ = false, done_ = false, results_in_ = false;
  int rc_ = 1;
  std::string error_, socket_error_;
  uint64_t setup_timer_ = 0, end_timer_ = 0;
};

class Server {
 public:
  Server(Loop& loop, Net& net, const Options& o, Output& out);
  ~Server();
  // Listens; false with a reason.
  bool start(std::string* err);
  uint16_t port() const { return port_; }
  bool done() const { return done_; }
  void terminate();
  int tests() const { return tests_; }

 private:
  struct Listener final : Watcher {
    Server* s = nullptr;
    void on_ready(uint32_t) override { s->on_accept(); }
  };
  struct PendingStream final : Watcher {
    Server* s = nullptr;
    int fd = -1;
    std::string buf;
    void on_ready(uint32_t) override { s->pending_event(*this); }
  };
  enum class Phase { Cookie, Params, Streams, Running, Results, Done, Dead };
  struct Test {
    std::unique_ptr<Control> ctrl;
    std::unique_ptr<TestRun> run;
    std::string cookie;
    TestParams p;
    Phase phase = Phase::Cookie;
    sockaddr_in client{};
    int expected = 0;
    uint64_t timer = 0;
  };

  void on_accept();
  void on_control();
  void pending_event(PendingStream& ps);
  void on_udp_unknown(const uint8_t* p, size_t n, const sockaddr_in& from);
  void stream_added(Stream* s);
  void begin_test();
  void end_test(bool ok, const std::string& err);
  void print_banner();
  void print_json(const std::string& err);
  void setup_stream_socket(int fd);

  Loop& loop_;
  Net& net_;
  Options o_;
  Output& out_;
  Listener listener_;
  int lfd_ = -1;
  int shared_udp_fd_ = -1;  // the running UDP test's socket (owned by its TestRun)
  uint16_t port_ = 0;
  std::unique_ptr<Test> test_;
  std::vector<std::unique_ptr<Test>> graveyard_;  // ended tests, freed outside their own callbacks
  std::vector<std::unique_ptr<PendingStream>> pending_;
  int tests_ = 0;
  bool done_ = false;
};

}  // namespace perf
