#pragma once
// TestRun: the data side of one test, shared by client and server and by both backends. It owns the
// data sockets, moves the bytes (TCP bulk, paced or unpaced UDP, request/response, connect/request/
// response/close), keeps the counters, prints interval reports, builds the results message that the
// two sides exchange, and prints the summary (text or JSON).

#include <netinet/in.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "skiff-perf/hist.hh"
#include "skiff-perf/json.hh"
#include "skiff-perf/loop.hh"
#include "skiff-perf/proto.hh"
#include "skiff-perf/report.hh"

namespace perf {

class TestRun;

struct Stream final : Watcher {
  TestRun* run = nullptr;
  int id = 0;          // iperf3 stream id (1, 3, 4, ...)
  int fd = -1;         // own socket, or the server's shared UDP socket
  int label = 0;       // the number in "[  5]"
  bool sender = false; // this side sends (RR: this side asks)
  bool shared = false; // uses the server's shared UDP socket (sendto/recvfrom)
  bool open = true;    // socket still usable
  sockaddr_in local{}, remote{};

  uint64_t bytes = 0, packets = 0, blocks = 0;  // sent or received (counted while running)
  size_t off = 0;                               // TCP: bytes of the current block already sent
  // UDP receive
  uint64_t max_seq = 0, lost = 0, ooo = 0;
  uint64_t seq_base = 0;  // max_seq when the omitted start (-O) ended
  uint64_t omitted_packets = 0, omitted_errors = 0;  // sent, or lost, during the omitted start
  double jitter = 0, prev_transit = 0;
  bool have_transit = false;
  // UDP send
  uint64_t next_seq = 1;
  // TCP sender, from TCP_INFO
  uint32_t retrans = 0, cwnd = 0, snd_wnd = 0, rtt = 0, rttvar = 0, pmtu = 0;
  uint32_t retrans_base = 0;  // retransmits during the omitted start
  uint32_t max_cwnd = 0, max_snd_wnd = 0, max_rtt = 0, min_rtt = UINT32_MAX;
  bool have_snd_wnd = false;  // TCP_INFO has tcpi_snd_wnd (Linux 5.4 on; Skiff)
  uint64_t rtt_sum = 0, rtt_n = 0;
  // request/response
  uint64_t rr_in = 0;        // bytes of the current request (server) or response (client)
  uint64_t rr_owed = 0;      // server: response bytes still to send
  size_t rr_out = 0;         // client: bytes of the current request still to send
  Time rr_t0{};
  uint64_t trans = 0;
  Histogram hist, iv_hist;
  // interval marks
  uint64_t iv_bytes = 0, iv_packets = 0, iv_lost = 0, iv_seq = 0, iv_trans = 0;
  uint32_t iv_retrans = 0;
  // the peer's view, from its results message
  bool have_peer = false;
  uint64_t peer_bytes = 0, peer_packets = 0, peer_errors = 0;
  int64_t peer_retrans = -1;
  double peer_jitter = 0, peer_end = 0;

  void on_ready(uint32_t events) override;
};

// One connect/request/response/close worker (client) or one served connection (server).
struct CrrConn final : Watcher {
  TestRun* run = nullptr;
  Stream* stats = nullptr;  // where transactions are counted
  int fd = -1;
  bool client = false;
  bool connected = false;
  size_t out = 0;      // request/response bytes still to send
  uint64_t in = 0;     // bytes received of the current message
  Time t0{};
  void on_ready(uint32_t events) override;
};

// A report line: one stream (or a sum) over an interval or the whole test.
struct Line {
  double start = 0, end = 0;
  uint64_t bytes = 0;
  bool sender = false, udp = false, rr = false;
  bool omitted = false;  // an interval of the omitted start (-O)
  int64_t retrans = -1;  // -1: not known
  uint64_t cwnd = 0, snd_wnd = 0, rtt = 0, rttvar = 0, pmtu = 0;
  bool have_snd_wnd = false;  // TCP_INFO had tcpi_snd_wnd (Linux 5.4 on; Skiff)
  uint64_t packets = 0, lost = 0, total = 0, ooo = 0;
  double jitter_ms = 0;
  uint64_t trans = 0;
  double p50 = 0, p99 = 0, p999 = 0, mean = 0;  // ns
  double bps() const { return end > start ? static_cast<double>(bytes) * 8 / (end - start) : 0; }
  double tps() const { return end > start ? static_cast<double>(trans) / (end - start) : 0; }
};

// What the demo and the plot read back.
struct Summary {
  double seconds = 0;
  double sent_bps = 0, received_bps = 0;
  uint64_t sent_bytes = 0, received_bytes = 0;
  uint64_t packets_sent = 0, packets_received = 0, packets_lost = 0;
  double jitter_ms = 0;
  uint64_t retrans = 0;
  uint64_t trans = 0;
  double tps = 0, p50_ns = 0, p99_ns = 0, p999_ns = 0, mean_ns = 0;
};

class TestRun {
 public:
  TestRun(Loop& loop, Net& net, bool client, const TestParams& p, Output& out, double interval);
  ~TestRun();
  TestRun(const TestRun&) = delete;
  TestRun& operator=(const TestRun&) = delete;

  const TestParams& params() const { return p_; }
  Net& net() { return net_; }
  bool client() const { return client_; }

  // A data stream on its own socket (already connected); the TestRun owns and watches it.
  Stream* add_stream(int fd, bool sender);
  // Server UDP: a stream on the shared socket `fd`, to/from `peer`.
  Stream* add_shared_udp_stream(int fd, bool sender, const sockaddr_in& peer);
  // Server UDP: the shared socket, owned by the TestRun from now on; `on_unknown` sees datagrams from
  // peers that are not streams yet (the connect messages).
  void set_shared_udp(int fd, std::function<void(const uint8_t*, size_t, const sockaddr_in&)> on_unknown);
  // Client CRR: where each transaction connects (the server's port).
  void set_crr_target(const sockaddr_in& a) { crr_target_ = a; }
  // Server CRR: a connection accepted from the client while the test runs.
  void accept_crr(int fd);
  size_t stream_count() const { return streams_.size(); }
  const std::vector<std::unique_ptr<Stream>>& streams() const { return streams_; }
  // Prints "[  5] local ... connected to ..." and records it for JSON.
  void announce(const Stream& s);

  // Starts measuring and sending; stop() ends it (senders stop, receivers drain without counting).
  void start();
  void stop();
  // Server, at TEST_END: iperf3 closes the data sockets before the results exchange (a client that
  // drains its streams with blocking reads then sees EOF instead of waiting for a block's rest).
  void close_streams();
  bool running() const { return running_; }
  bool finished() const { return stopped_; }
  // Client: the -n/-k limit was reached (on this side's sends, or its receives in reverse mode).
  std::function<void()> on_limit;
  // Every interval report (the demo's progress).
  std::function<void(const Line& sum)> on_interval;
  // The stream (or a CRR worker) failed; the reason.
  std::function<void(const std::string&)> on_error;

  Json results_json() const;
  bool take_peer_results(const Json& j, std::string* err);
  bool have_peer_results() const { return have_peer_; }

  // Text summary (or nothing in JSON mode); `end_json` is the JSON "end" object.
  void print_summary();
  Json start_connected_json() const { return connected_; }
  Json intervals_json() const { return intervals_; }
  Json end_json() const;
  Summary summary() const;
  // The interval series for --plot (sum, and each stream when there are several).
  std::vector<PlotSeries> plot_series() const;
  const char* plot_unit() const { return p_.workload == Workload::Stream ? "bits/s" : "transactions/s"; }

  // Called by the watchers.
  void readable(Stream& s);
  void writable(Stream& s);
  void crr_event(CrrConn& c, uint32_t events);

 private:
  void send_tcp(Stream& s, uint64_t budget);
  void finish_block(Stream& s);
  void send_udp(Stream& s, unsigned max_packets, uint64_t budget);
  void udp_packet(Stream& s, const uint8_t* p, size_t n, double now_real);
  void shared_udp_readable();
  // Sends the next request of `s`, its transaction starting at `now`.
  void rr_client_send(Stream& s, Time now);
  void rr_server_flush(Stream& s);
  void pace();
  void tick_unlimited();
  void crr_start(CrrConn& c);
  void crr_finish(CrrConn& c, bool ok);
  void interval_report(bool final);
  void arm_interval(int k);
  void end_omit();
  void count_sent(uint64_t n, uint64_t blocks);
  void count_received(uint64_t n);
  bool sending_allowed() const;
  void stream_failed(Stream& s, const char* what, int err);
  void update_tcp_info(Stream& s);
  Line sender_line(const Stream& s) const;
  Line receiver_line(const Stream& s) const;
  Line local_interval(Stream& s, double t0, double t1);
  void print_line(const char* id, const char* role, const Line& l, bool summary, const char* tag);
  Json line_json(const Line& l, int socket, bool summary) const;
  const char* role_tag(const Stream& s) const;
  bool forward(const Stream& s) const;  // the client sends on it
  Line sum_of(const std::vector<Line>& v) const;

  Loop& loop_;
  Net& net_;
  const bool client_;
  const TestParams p_;
  Output& out_;
  const double interval_;
  std::vector<std::unique_ptr<Stream>> streams_;
  std::vector<std::unique_ptr<CrrConn>> crr_;
  int shared_fd_ = -1;
  struct SharedWatcher final : Watcher {
    TestRun* run;
    void on_ready(uint32_t) override { run->shared_udp_readable(); }
  } shared_watcher_;
  std::function<void(const uint8_t*, size_t, const sockaddr_in&)> on_unknown_;
  std::vector<uint8_t> buf_;
  Json connected_ = Json::array();
  Json intervals_ = Json::array();
  std::vector<std::pair<double, std::vector<double>>> series_;  // per interval: end time, per stream + sum
  bool running_ = false, stopped_ = false, limit_hit_ = false, header_printed_ = false, separated_ = false;
  bool have_peer_ = false;
  bool omitting_ = false;
  uint64_t omit_timer_ = 0;
  Time t0_{}, t_end_{};
  double last_iv_ = 0;
  uint64_t iv_timer_ = 0, pace_timer_ = 0, ticker_ = 0;
  uint64_t total_sent_ = 0, total_received_ = 0, total_blocks_ = 0;
  double peer_cpu_[3] = {0, 0, 0};
  double cpu_[3] = {0, 0, 0};
  double cpu_t0_user_ = 0, cpu_t0_sys_ = 0;
  std::string peer_congestion_, congestion_;
  bool peer_has_retrans_ = false;
  sockaddr_in crr_target_{};
  uint64_t crr_failures_ = 0;
};

// The local TCP congestion control name ("cubic" for the kernel, "newreno" for Skiff).
std::string congestion_name(Net& net, int fd);

}  // namespace perf
