// skiff-perf's pure parts: the JSON reader and writer (the control protocol's messages), iperf3's option
// parsing and parameter JSON, the latency histogram, and iperf3's number formats. No EAL, no sockets.

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "skiff-perf/hist.hh"
#include "skiff-perf/json.hh"
#include "skiff-perf/loop.hh"
#include "skiff-perf/proto.hh"
#include "skiff-perf/report.hh"

namespace perf {
namespace {

std::optional<Json> parse(std::string_view t, std::string* err = nullptr) { return Json::parse(t, err); }

// ---- JSON ----

TEST(PerfJson, ReadsIperf3Parameters) {
  // What iperf3 3.12's client sends for `-c HOST -u -b 100M -P 2 -R` (its field names and kinds).
  const auto j = parse(R"({"udp":true,"omit":0,"time":10,"num":0,"blockcount":0,"parallel":2,"reverse":true,)"
                       R"("len":1448,"bandwidth":100000000,"pacing_timer":1000,"client_version":"3.12"})");
  ASSERT_TRUE(j);
  TestParams p;
  std::string err;
  ASSERT_TRUE(TestParams::from_json(*j, &p, &err)) << err;
  EXPECT_TRUE(p.udp);
  EXPECT_TRUE(p.reverse);
  EXPECT_FALSE(p.bidir);
  EXPECT_EQ(p.parallel, 2);
  EXPECT_EQ(p.len, 1448);
  EXPECT_EQ(p.rate, 100000000u);
  EXPECT_EQ(p.time, 10);
  EXPECT_EQ(p.stream_count(), 2);
  EXPECT_FALSE(p.client_sends(0));  // reverse: the server sends
}

TEST(PerfJson, RefusesMalformedText) {
  for (const char* bad : {"", "{", R"({"a":)", R"({"a":1,})", R"([1,2)", R"({"a" 1})", R"("abc)", "tru", "01",
                          R"({"a":1} x)", R"({"a":"\q"})", R"({"a":"\u12"})", "{'a':1}", "nan", "1e999x"}) {
    std::string err;
    EXPECT_FALSE(parse(bad, &err)) << "accepted: " << bad;
    EXPECT_FALSE(err.empty()) << "no reason for: " << bad;
  }
}

TEST(PerfJson, DepthIsLimited) {
  const std::string deep = std::string(64, '[') + std::string(64, ']');
  EXPECT_TRUE(parse(deep));
  const std::string deeper = std::string(100000, '[') + std::string(100000, ']');
  std::string err;
  EXPECT_FALSE(parse(deeper, &err));  // refused, not a stack overflow
  EXPECT_NE(err.find("deep"), std::string::npos) << err;
}

TEST(PerfJson, RoundTripKeepsValuesAndOrder) {
  Json o = Json::object();
  o.set("cpu_util_total", Json::number(12.5));
  o.set("retransmits", Json::integer(-1));
  o.set("bytes", Json::uinteger(18446744073709551615ull));
  o.set("congestion_used", Json::string("cubic \"quoted\"\n\x01"));
  Json a = Json::array();
  a.push(Json::boolean(true));
  a.push(Json());
  o.set("streams", std::move(a));
  o.set("retransmits", Json::integer(7));  // replaces, keeps the position
  for (const bool pretty : {false, true}) {
    const std::string text = o.dump(pretty);
    std::string err;
    const auto back = parse(text, &err);
    ASSERT_TRUE(back) << err << "\n" << text;
    ASSERT_EQ(back->members().size(), 5u);
    EXPECT_EQ(back->members()[1].first, "retransmits");
    EXPECT_EQ(back->get("retransmits")->as_int(), 7);
    EXPECT_DOUBLE_EQ(back->get("cpu_util_total")->as_double(), 12.5);
    EXPECT_EQ(back->get("congestion_used")->as_string(), "cubic \"quoted\"\n\x01");
    EXPECT_TRUE(back->get("streams")->items()[0].as_bool());
    EXPECT_TRUE(back->get("streams")->items()[1].is_null());
  }
}

TEST(PerfJson, UnsignedMinusOneReadsBackAsMinusOne) {
  // iperf3 prints an unset int64 as 18446744073709551615 in places; it must read as -1, not saturate.
  const auto j = parse(R"({"retransmits":18446744073709551615})");
  ASSERT_TRUE(j);
  EXPECT_EQ(j->get("retransmits")->as_int(), -1);
}

TEST(PerfJson, UnicodeEscapes) {
  const auto j = parse(R"(["\u00e9\ud83d\ude00\/"])");
  ASSERT_TRUE(j);
  EXPECT_EQ(j->items()[0].as_string(), "\xc3\xa9\xf0\x9f\x98\x80/");
}

// ---- parameters ----

TEST(PerfParams, RefusesNonsense) {
  struct Case {
    const char* json;
    const char* why;
  } cases[] = {
      {R"({"time":10})", "neither tcp nor udp"},
      {R"({"tcp":true,"udp":true})", "both"},
      {R"({"tcp":true,"parallel":0})", "no streams"},
      {R"({"tcp":true,"parallel":129})", "more streams than the limit"},
      {R"({"tcp":true,"len":0})", "zero block length"},
      {R"({"tcp":true,"len":2000000})", "block over 1 MiB"},
      {R"({"tcp":true,"time":-1})", "negative duration"},
      {R"({"tcp":true,"time":"10"})", "duration as a string"},
      {R"({"udp":true,"len":8})", "UDP block shorter than its header"},
      {R"({"udp":true,"skiff_rr":1})", "request/response over UDP"},
      {R"({"tcp":true,"skiff_rr":0})", "zero-byte requests"},
      {R"([1,2])", "not an object"},
  };
  for (const auto& c : cases) {
    const auto j = parse(c.json);
    ASSERT_TRUE(j) << c.json;
    TestParams p;
    std::string err;
    EXPECT_FALSE(TestParams::from_json(*j, &p, &err)) << "accepted " << c.why << ": " << c.json;
    EXPECT_FALSE(err.empty()) << c.why;
  }
}

TEST(PerfParams, OptionsToJsonAndBack) {
  Options o;
  ASSERT_EQ(parse_options({"-c", "10.0.0.2", "-t", "5", "-P", "3", "--bidir", "-w", "256K", "-M", "1200", "-N",
                           "-l", "64K"},
                          &o),
            "");
  TestParams p = o.params();
  std::string err;
  const auto j = parse(p.to_json().dump());
  ASSERT_TRUE(j);
  TestParams q;
  ASSERT_TRUE(TestParams::from_json(*j, &q, &err)) << err;
  EXPECT_FALSE(q.udp);
  EXPECT_EQ(q.time, 5);
  EXPECT_EQ(q.parallel, 3);
  EXPECT_TRUE(q.bidir);
  EXPECT_EQ(q.window, 256 * 1024);
  EXPECT_EQ(q.mss, 1200);
  EXPECT_TRUE(q.nodelay);
  EXPECT_EQ(q.len, 64 * 1024);
  EXPECT_EQ(q.stream_count(), 6);  // --bidir: P streams each way
  EXPECT_TRUE(q.client_sends(0));
  EXPECT_TRUE(q.client_sends(2));
  EXPECT_FALSE(q.client_sends(3));
}

TEST(PerfParams, RequestResponseTravelsAsItsOwnKey) {
  Options o;
  ASSERT_EQ(parse_options({"-c", "h", "--crr", "--rr-size", "100"}, &o), "");
  const Json j = o.params().to_json();
  ASSERT_NE(j.get("skiff_crr"), nullptr);
  EXPECT_EQ(j.get("skiff_crr")->as_int(), 100);
  TestParams q;
  std::string err;
  ASSERT_TRUE(TestParams::from_json(j, &q, &err)) << err;
  EXPECT_EQ(q.workload, Workload::CRR);
  EXPECT_EQ(q.rr_size, 100);
  EXPECT_EQ(q.stream_count(), 0);  // CRR connects per transaction
  EXPECT_TRUE(q.nodelay);
}

TEST(PerfParams, CongestionControlName) {
  Options o;
  ASSERT_EQ(parse_options({"-c", "h", "-C", "newreno"}, &o), "");
  const Json j = o.params().to_json();
  ASSERT_NE(j.get("congestion"), nullptr);
  TestParams q;
  std::string err;
  ASSERT_TRUE(TestParams::from_json(j, &q, &err)) << err;
  EXPECT_EQ(q.congestion, "newreno");
  for (const char* bad : {R"({"tcp":true,"congestion":""})", R"({"tcp":true,"congestion":"a/b"})",
                          R"({"tcp":true,"congestion":"sixteen-chars-xx"})", R"({"tcp":true,"congestion":5})"}) {
    const auto b = parse(bad);
    ASSERT_TRUE(b);
    EXPECT_FALSE(TestParams::from_json(*b, &q, &err)) << "accepted " << bad;
  }
  Options x;
  EXPECT_NE(parse_options({"-c", "h", "-C", "../etc"}, &x), "");
}

TEST(PerfOptions, Iperf3Defaults) {
  Options o;
  ASSERT_EQ(parse_options({"-c", "h", "-u"}, &o), "");
  const TestParams p = o.params();
  EXPECT_EQ(p.rate, 1000000u);  // iperf3: UDP defaults to 1 Mbit/s
  EXPECT_EQ(p.len, kDefaultUdpLen);
  EXPECT_EQ(p.time, 10);
  Options t;
  ASSERT_EQ(parse_options({"-c", "h", "-n", "20M"}, &t), "");
  EXPECT_EQ(t.params().time, 0);  // -n without -t: until the bytes are sent
  EXPECT_EQ(t.params().num, 20u << 20);
  EXPECT_EQ(t.params().rate, 0u);
  EXPECT_EQ(t.params().len, kDefaultTcpLen);
}

TEST(PerfOptions, Errors) {
  const std::vector<std::vector<std::string>> bad = {
      {},                                   // neither -s nor -c
      {"-c"},                               // missing host
      {"-s", "-p", "70000"},                // port out of range
      {"-c", "h", "-P", "0"},               // no streams
      {"-c", "h", "-t", "x"},               // not a number
      {"-c", "h", "-R", "--bidir"},         // both directions twice
      {"-c", "h", "-u", "--rr"},            // RR is TCP
      {"-c", "h", "--crr", "-R"},           // CRR has no reverse
      {"-c", "h", "-i", "0.01"},            // interval too short
      {"-c", "h", "--plot", "x.png"},       // SVG only
      {"-c", "h", "--no-such-option"},
  };
  for (const auto& args : bad) {
    Options o;
    std::string joined;
    for (const auto& a : args) joined += a + " ";
    EXPECT_NE(parse_options(args, &o), "") << "accepted: " << joined;
  }
}

TEST(PerfOptions, Units) {
  uint64_t v = 0;
  ASSERT_TRUE(parse_size("128K", &v));
  EXPECT_EQ(v, 128u * 1024);
  ASSERT_TRUE(parse_size("1.5M", &v));
  EXPECT_EQ(v, 1536u * 1024);
  ASSERT_TRUE(parse_rate("100M", &v));
  EXPECT_EQ(v, 100000000u);  // rates are decimal
  ASSERT_TRUE(parse_rate("1G/100", &v));  // iperf3's RATE/BURST: the burst is ignored
  EXPECT_EQ(v, 1000000000u);
  EXPECT_FALSE(parse_size("", &v));
  EXPECT_FALSE(parse_size("-1", &v));
  EXPECT_FALSE(parse_size("12Q", &v));
}

// ---- histogram ----

TEST(PerfHistogram, QuantilesWithinThreePercent) {
  Histogram h;
  for (uint64_t v = 1; v <= 100000; ++v) h.add(v * 10);  // 10 ns .. 1 ms, uniform
  EXPECT_EQ(h.count(), 100000u);
  EXPECT_EQ(h.min(), 10u);
  EXPECT_EQ(h.max(), 1000000u);
  EXPECT_NEAR(h.mean(), 500005.0, 1e-6);
  for (const double q : {0.5, 0.9, 0.99, 0.999}) {
    const double want = q * 1e6;
    EXPECT_NEAR(static_cast<double>(h.quantile(q)), want, want * 0.03) << "q=" << q;
  }
}

TEST(PerfHistogram, ExactBelow64AndMerge) {
  Histogram a, b;
  for (int i = 0; i < 10; ++i) a.add(7);
  for (int i = 0; i < 30; ++i) b.add(63);
  a.merge(b);
  EXPECT_EQ(a.count(), 40u);
  EXPECT_EQ(a.quantile(0.2), 7u);
  EXPECT_EQ(a.quantile(0.5), 63u);
  EXPECT_EQ(a.min(), 7u);
  a.clear();
  EXPECT_EQ(a.count(), 0u);
  EXPECT_EQ(a.quantile(0.5), 0u);
}

// ---- iperf3's number formats ----

TEST(PerfFormat, Iperf3Widths) {
  EXPECT_EQ(fmt_bytes(1.09 * 1024 * 1024 * 1024), "1.09 GBytes");
  EXPECT_EQ(fmt_bytes(320 * 1024), " 320 KBytes");
  EXPECT_EQ(fmt_bytes(23.8 * 1024 * 1024), "23.8 MBytes");
  EXPECT_EQ(fmt_bits(9.35e9), "9.35 Gbits");
  EXPECT_EQ(fmt_bits(100e6), " 100 Mbits");
  EXPECT_EQ(fmt_bits(0), "0.00 bits");
  EXPECT_EQ(fmt_count(831082), " 831 K");
  EXPECT_EQ(fmt_ns(760), "760 ns");
  EXPECT_EQ(fmt_ns(3870), "3.87 us");
}

TEST(PerfPlot, SvgHasOneLinePerSeries) {
  const std::string path = testing::TempDir() + "skiff-perf-plot-test.svg";
  std::vector<PlotSeries> s(2);
  s[0].name = "stream <5> & co";
  s[1].name = "sum";
  for (int i = 1; i <= 5; ++i) {
    s[0].points.emplace_back(i, 1e9 * i);
    s[1].points.emplace_back(i, 2e9 * i);
  }
  ASSERT_TRUE(write_svg_plot(path, "title", "bits/s", s));
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string svg = ss.str();
  std::remove(path.c_str());
  size_t lines = 0;
  for (size_t at = 0; (at = svg.find("<polyline", at)) != std::string::npos; ++at) ++lines;
  EXPECT_EQ(lines, 2u);
  EXPECT_NE(svg.find("stream &lt;5&gt; &amp; co"), std::string::npos);  // names are escaped
  EXPECT_EQ(svg.find("<5>"), std::string::npos);
  EXPECT_NE(svg.find("Gbits/s"), std::string::npos);  // the axis takes the series' scale
}

}  // namespace
// ---- event loop ----

namespace {
// A Net that only records readiness-set calls.
class WatchLog final : public Net {
 public:
  struct Call {
    int op, fd;
    uint32_t events;
  };
  std::vector<Call> calls;
  int next_rc = 0;

  const char* name() const override { return "log"; }
  int socket(int) override { return -1; }
  int bind(int, const sockaddr_in&) override { return -1; }
  int listen(int, int) override { return -1; }
  int accept(int, sockaddr_in*) override { return -1; }
  int connect(int, const sockaddr_in&) override { return -1; }
  ssize_t send(int, const void*, size_t) override { return -1; }
  ssize_t recv(int, void*, size_t) override { return -1; }
  ssize_t sendto(int, const void*, size_t, const sockaddr_in&) override { return -1; }
  ssize_t recvfrom(int, void*, size_t, sockaddr_in*) override { return -1; }
  int setsockopt(int, int, int, const void*, socklen_t) override { return -1; }
  int getsockopt(int, int, int, void*, socklen_t*) override { return -1; }
  int getsockname(int, sockaddr_in*) override { return -1; }
  int getpeername(int, sockaddr_in*) override { return -1; }
  int shutdown(int, int) override { return -1; }
  int close(int) override { return 0; }
  int watch(int op, int fd, uint32_t events, uint64_t) override {
    calls.push_back({op, fd, events});
    return next_rc;
  }
  int wait(epoll_event*, int, int64_t) override { return 0; }
  bool busy_poll() const override { return true; }
};
struct NoopWatcher final : Watcher {
  void on_ready(uint32_t) override {}
};
}  // namespace

TEST(PerfLoop, ModifyReachesTheNetOnlyWhenTheEventsChange) {
  Loop loop;
  WatchLog net;
  NoopWatcher w;
  ASSERT_TRUE(loop.add(net, 5, EPOLLIN, &w));
  ASSERT_EQ(net.calls.size(), 1u);
  EXPECT_EQ(net.calls[0].op, EPOLL_CTL_ADD);
  EXPECT_TRUE(loop.modify(net, 5, EPOLLIN));  // unchanged: nothing reaches the Net
  EXPECT_EQ(net.calls.size(), 1u);
  EXPECT_TRUE(loop.modify(net, 5, EPOLLIN | EPOLLOUT));
  ASSERT_EQ(net.calls.size(), 2u);
  EXPECT_EQ(net.calls[1].op, EPOLL_CTL_MOD);
  EXPECT_EQ(net.calls[1].events, uint32_t{EPOLLIN | EPOLLOUT});
  EXPECT_TRUE(loop.modify(net, 5, EPOLLIN | EPOLLOUT));
  EXPECT_EQ(net.calls.size(), 2u);
  // A refused change is not remembered: the next identical request tries again.
  net.next_rc = -1;
  EXPECT_FALSE(loop.modify(net, 5, EPOLLIN));
  net.next_rc = 0;
  EXPECT_TRUE(loop.modify(net, 5, EPOLLIN));
  ASSERT_EQ(net.calls.size(), 4u);
  EXPECT_EQ(net.calls[3].events, uint32_t{EPOLLIN});
  // Removed and added again with other events: the remembered set follows.
  loop.remove(net, 5);
  ASSERT_TRUE(loop.add(net, 5, EPOLLOUT, &w));
  EXPECT_EQ(net.calls.size(), 6u);
  EXPECT_TRUE(loop.modify(net, 5, EPOLLOUT));
  EXPECT_EQ(net.calls.size(), 6u);
  // A socket the loop does not watch goes to the Net, which answers for it.
  net.next_rc = -1;
  EXPECT_FALSE(loop.modify(net, 9, EPOLLIN));
  EXPECT_EQ(net.calls.size(), 7u);
}

}  // namespace perf
