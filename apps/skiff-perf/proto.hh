#pragma once
// The iperf3 wire protocol (3.12 and later) as seen on the wire, plus skiff-perf's options and test
// parameters.
//
// Control connection (TCP, default port 5201): the client sends a 37-byte cookie (36 characters and a
// NUL). Then the server drives with one-byte states; JSON travels as a 4-byte big-endian length and the
// text. TCP data streams connect to the same port and send the cookie first; UDP streams send a 4-byte
// "connect" datagram and get a 4-byte reply. Stream ids are 1, 3, 4, 5, ... on both sides, in connection
// order; with --bidir the first half are the client's senders.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "skiff-perf/json.hh"

namespace perf {

inline constexpr size_t kCookieLen = 37;
inline constexpr uint32_t kUdpConnectMsg = 0x39383736;    // client -> server ("9876")
inline constexpr uint32_t kUdpConnectReply = 0x36373839;  // server -> client ("6789")
inline constexpr uint32_t kMaxJsonLen = 1u << 20;         // bigger length prefixes are refused
inline constexpr uint16_t kDefaultPort = 5201;
inline constexpr int kDefaultTcpLen = 128 * 1024;
inline constexpr int kDefaultUdpLen = 1460;
inline constexpr int kMaxStreams = 128;

enum State : int8_t {
  TEST_START = 1,
  TEST_RUNNING = 2,
  TEST_END = 4,
  PARAM_EXCHANGE = 9,
  CREATE_STREAMS = 10,
  SERVER_TERMINATE = 11,
  CLIENT_TERMINATE = 12,
  EXCHANGE_RESULTS = 13,
  DISPLAY_RESULTS = 14,
  IPERF_DONE = 16,
  ACCESS_DENIED = -1,
  SERVER_ERROR = -2,
};

// What skiff-perf adds on the data connections (see docs/performance.md, "skiff-perf"):
//   rr:  every data stream carries requests of rr_size bytes; the server answers each with rr_size bytes;
//   crr: no data streams; per transaction the client connects to the server's port, sends rr_size bytes,
//        reads rr_size bytes back and closes with RST (SO_LINGER 0, so no TIME-WAIT piles up).
enum class Workload { Stream, RR, CRR };

// The test as both sides agree on it (the client's parameter JSON).
struct TestParams {
  bool udp = false;
  double time = 10;  // seconds (0: until -n/-k is reached)
  uint64_t num = 0;  // bytes (-n)
  uint64_t blockcount = 0;
  int parallel = 1;
  bool reverse = false, bidir = false;
  int len = kDefaultTcpLen;
  uint64_t rate = 0;  // bits/s per stream, 0 = unlimited
  int window = 0;
  int mss = 0;
  bool nodelay = false;
  bool udp64 = false;
  int omit = 0;
  Workload workload = Workload::Stream;
  int rr_size = 1;
  std::string congestion;  // -C: TCP_CONGESTION for the data streams ("" = the stack's default)

  Json to_json() const;
  // Reads and checks the client's parameters; false with a reason for nonsense.
  static bool from_json(const Json& j, TestParams* out, std::string* err);
  // How many data streams the client creates.
  int stream_count() const {
    if (workload == Workload::CRR) return 0;
    return bidir ? parallel * 2 : parallel;
  }
  // Whether the client's i-th stream (0-based, in connection order) is sent by the client.
  bool client_sends(int i) const {
    if (workload != Workload::Stream) return true;  // RR: the client sends requests
    if (bidir) return i < parallel;
    return !reverse;
  }
};

struct Options {
  enum class Role { None, Server, Client } role = Role::None;
  std::string host;
  uint16_t port = kDefaultPort;
  double time = 10;
  bool time_set = false;
  uint64_t bytes = 0, blocks = 0;
  int len = 0;  // 0: the protocol's default
  int parallel = 1;
  bool reverse = false, bidir = false;
  uint64_t rate = 0;
  bool rate_set = false;
  double interval = 1;
  bool json = false, udp = false, nodelay = false, udp64 = false, one_off = false, verbose = false;
  int mss = 0, window = 0;
  Workload workload = Workload::Stream;
  int rr_size = 1;
  int omit = 0;
  std::string congestion;
  std::string plot;
  bool kernel = false, demo = false;
  double demo_time = 3;
  std::string bind_host;  // -B

  TestParams params() const;
};

// Parses iperf3-style options; returns an error line ("" when fine).
std::string parse_options(const std::vector<std::string>& args, Options* o);
const char* usage_text();

// "100M" style values: sizes use powers of 1024 (iperf3's -n, -l, -w), rates powers of 1000 (-b).
bool parse_size(const std::string& s, uint64_t* out);
bool parse_rate(const std::string& s, uint64_t* out);

}  // namespace perf
