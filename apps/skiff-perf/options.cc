// skiff-perf's command line (iperf3's options and meanings) and the parameter JSON.

#include <cctype>
#include <cmath>
#include <cstdlib>

#include "skiff-perf/proto.hh"

namespace perf {

namespace {

bool parse_scaled(const std::string& s, double base, uint64_t* out) {
  if (s.empty()) return false;
  char* end = nullptr;
  double v = strtod(s.c_str(), &end);
  if (end == s.c_str() || !std::isfinite(v) || v < 0) return false;
  switch (*end) {
    case 'k': case 'K': v *= base; ++end; break;
    case 'm': case 'M': v *= base * base; ++end; break;
    case 'g': case 'G': v *= base * base * base; ++end; break;
    case 't': case 'T': v *= base * base * base * base; ++end; break;
    default: break;
  }
  if (*end || v > 1.8e19) return false;
  *out = static_cast<uint64_t>(v);
  return true;
}

bool parse_int(const std::string& s, long lo, long hi, int* out) {
  char* end = nullptr;
  const long v = strtol(s.c_str(), &end, 10);
  if (s.empty() || *end || v < lo || v > hi) return false;
  *out = static_cast<int>(v);
  return true;
}

bool parse_double(const std::string& s, double lo, double hi, double* out) {
  char* end = nullptr;
  const double v = strtod(s.c_str(), &end);
  if (s.empty() || *end || !std::isfinite(v) || v < lo || v > hi) return false;
  *out = v;
  return true;
}

// A TCP_CONGESTION name as the kernel takes it (TCP_CA_NAME_MAX is 16 with the NUL).
bool valid_congestion(const std::string& s) {
  if (s.empty() || s.size() > 15) return false;
  for (const char c : s)
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) return false;
  return true;
}

}  // namespace

bool parse_size(const std::string& s, uint64_t* out) { return parse_scaled(s, 1024, out); }
bool parse_rate(const std::string& s, uint64_t* out) {
  // iperf3 accepts "RATE/BURST"; skiff-perf takes the rate and ignores the burst.
  return parse_scaled(s.substr(0, s.find('/')), 1000, out);
}

const char* usage_text() {
  return "Usage: skiff-perf [EAL args] -- --ip A.B.C.D/P [stack options] (-s | -c HOST) [options]\n"
         "       skiff-perf --kernel (-s | -c HOST) [options]     (the same tool over Linux sockets)\n"
         "       skiff-perf --demo                                 (no NIC, no setup: Skiff vs the kernel)\n"
         "Options (iperf3's):\n"
         "  -s, --server            run as a server\n"
         "  -c, --client HOST       run as a client, connecting to HOST\n"
         "  -p, --port N            server port (default 5201)\n"
         "  -t, --time SECS         test duration (default 10)\n"
         "  -n, --bytes N[KMG]      bytes to transmit instead of a duration\n"
         "  -k, --blockcount N      blocks (-l) to transmit instead of a duration\n"
         "  -l, --length N[KM]      block length (TCP default 128K, UDP 1460 or the path's MSS)\n"
         "  -P, --parallel N        parallel streams (1..128)\n"
         "  -R, --reverse           the server sends\n"
         "      --bidir             both directions at once\n"
         "  -b, --bitrate N[KMG]    target bits/s per stream (UDP default 1M; 0 = unlimited)\n"
         "  -i, --interval SECS     seconds between interval reports (0 = none; default 1)\n"
"  -C, --congestion ALGO   TCP congestion control (Skiff: cubic, reno; the kernel: its own)\n"
         "  -O, --omit SECS         leave out the first SECS seconds (reported as omitted)\n"
         "  -J, --json              JSON output\n"
         "  -u, --udp               UDP instead of TCP\n"
         "  -M, --set-mss N         TCP maximum segment size\n"
         "  -N, --no-delay          TCP_NODELAY\n"
         "  -w, --window N[KM]      socket buffer sizes (SO_SNDBUF/SO_RCVBUF)\n"
         "  -B, --bind HOST         local address\n"
         "  -1, --one-off           server: handle one test, then exit\n"
         "      --udp-counters-64bit  64-bit UDP packet counters\n"
         "skiff-perf's own:\n"
         "      --rr                TCP request/response (transactions/s, latency p50/p99/p99.9)\n"
         "      --crr               connect, request, response, close per transaction\n"
         "      --rr-size N         request and response size (default 1)\n"
         "      --plot FILE.svg     draw the interval throughput over time\n"
         "      --kernel            use Linux sockets instead of Skiff (no EAL arguments)\n"
         "      --demo [SECS]       the embedded comparison (SECS per test, default 3)\n";
}

std::string parse_options(const std::vector<std::string>& args, Options* o) {
  for (size_t i = 0; i < args.size(); ++i) {
    std::string a = args[i];
    std::string inline_val;
    bool has_inline = false;
    if (a.rfind("--", 0) == 0) {
      const auto eq = a.find('=');
      if (eq != std::string::npos) {
        inline_val = a.substr(eq + 1);
        a = a.substr(0, eq);
        has_inline = true;
      }
    }
    std::string val;
    auto need = [&]() -> bool {
      if (has_inline) {
        val = inline_val;
        return true;
      }
      if (i + 1 >= args.size()) return false;
      val = args[++i];
      return true;
    };
    auto bad = [&](const char* what) { return a + ": " + what + " '" + val + "'"; };
#define NEED()                                  \
  do {                                          \
    if (!need()) return a + ": missing value"; \
  } while (0)
    if (a == "-s" || a == "--server") {
      o->role = Options::Role::Server;
    } else if (a == "-c" || a == "--client") {
      NEED();
      o->role = Options::Role::Client;
      o->host = val;
    } else if (a == "-p" || a == "--port") {
      NEED();
      int p;
      if (!parse_int(val, 1, 65535, &p)) return bad("invalid port");
      o->port = static_cast<uint16_t>(p);
    } else if (a == "-t" || a == "--time") {
      NEED();
      if (!parse_double(val, 0, 86400, &o->time)) return bad("invalid duration");
      o->time_set = true;
    } else if (a == "-n" || a == "--bytes") {
      NEED();
      if (!parse_size(val, &o->bytes)) return bad("invalid size");
    } else if (a == "-k" || a == "--blockcount") {
      NEED();
      if (!parse_size(val, &o->blocks)) return bad("invalid count");
    } else if (a == "-l" || a == "--length") {
      NEED();
      uint64_t v;
      if (!parse_size(val, &v) || v < 1 || v > (1u << 20)) return bad("invalid length (1..1M)");
      o->len = static_cast<int>(v);
    } else if (a == "-P" || a == "--parallel") {
      NEED();
      if (!parse_int(val, 1, kMaxStreams, &o->parallel)) return bad("invalid stream count (1..128)");
    } else if (a == "-R" || a == "--reverse") {
      o->reverse = true;
    } else if (a == "--bidir") {
      o->bidir = true;
    } else if (a == "-b" || a == "--bitrate" || a == "--bandwidth") {
      NEED();
      if (!parse_rate(val, &o->rate)) return bad("invalid rate");
      o->rate_set = true;
    } else if (a == "-C" || a == "--congestion") {
      NEED();
      if (!valid_congestion(val)) return bad("invalid congestion control name");
      o->congestion = val;
    } else if (a == "-O" || a == "--omit") {
      NEED();
      if (!parse_int(val, 0, 600, &o->omit)) return bad("invalid omit (0..600 seconds)");
    } else if (a == "-i" || a == "--interval") {
      NEED();
      if (!parse_double(val, 0, 60, &o->interval) || (o->interval > 0 && o->interval < 0.1))
        return bad("invalid interval (0, or 0.1..60)");
    } else if (a == "-J" || a == "--json") {
      o->json = true;
    } else if (a == "-u" || a == "--udp") {
      o->udp = true;
    } else if (a == "-M" || a == "--set-mss") {
      NEED();
      if (!parse_int(val, 88, 9000, &o->mss)) return bad("invalid MSS (88..9000)");
    } else if (a == "-N" || a == "--no-delay") {
      o->nodelay = true;
    } else if (a == "-w" || a == "--window") {
      NEED();
      uint64_t v;
      if (!parse_size(val, &v) || v < 1024 || v > (1u << 30)) return bad("invalid window");
      o->window = static_cast<int>(v);
    } else if (a == "-B" || a == "--bind") {
      NEED();
      o->bind_host = val;
    } else if (a == "-1" || a == "--one-off") {
      o->one_off = true;
    } else if (a == "-V" || a == "--verbose") {
      o->verbose = true;
    } else if (a == "--udp-counters-64bit") {
      o->udp64 = true;
    } else if (a == "--rr") {
      o->workload = Workload::RR;
    } else if (a == "--crr") {
      o->workload = Workload::CRR;
    } else if (a == "--rr-size") {
      NEED();
      uint64_t v;
      if (!parse_size(val, &v) || v < 1 || v > (1u << 20)) return bad("invalid size (1..1M)");
      o->rr_size = static_cast<int>(v);
    } else if (a == "--plot") {
      NEED();
      o->plot = val;
      if (val.size() < 5 || val.compare(val.size() - 4, 4, ".svg") != 0) return bad("only SVG plots (FILE.svg)");
    } else if (a == "--kernel") {
      o->kernel = true;
    } else if (a == "--demo") {
      o->demo = true;
      if (i + 1 < args.size() && parse_double(args[i + 1], 0.5, 60, &o->demo_time)) ++i;
    } else if (a == "-f" || a == "--format") {
      NEED();  // accepted for compatibility; reports are always adaptive
    } else {
      return a + ": unknown option (see --help)";
    }
#undef NEED
  }
  if (o->demo) return "";
  if (o->role == Options::Role::None) return "one of -s or -c HOST is required (see --help)";
  if (o->workload != Workload::Stream && o->udp) return "--rr/--crr: TCP only (drop -u)";
  if (o->workload != Workload::Stream && (o->reverse || o->bidir)) return "--rr/--crr: no -R or --bidir";
  if (o->reverse && o->bidir) return "-R and --bidir: choose one";
  return "";
}

TestParams Options::params() const {
  TestParams p;
  p.udp = udp;
  p.time = (bytes || blocks) && !time_set ? 0 : time;
  p.num = bytes;
  p.blockcount = blocks;
  p.parallel = parallel;
  p.reverse = reverse;
  p.bidir = bidir;
  p.len = len ? len : (udp ? kDefaultUdpLen : kDefaultTcpLen);
  p.rate = rate_set ? rate : (udp ? 1000000 : 0);
  p.window = window;
  p.mss = mss;
  p.nodelay = nodelay || workload != Workload::Stream;
  p.udp64 = udp64;
  p.workload = workload;
  p.rr_size = rr_size;
  p.omit = omit;
  p.congestion = congestion;
  return p;
}

Json TestParams::to_json() const {
  Json j = Json::object();
  j.set(udp ? "udp" : "tcp", Json::boolean(true));
  j.set("omit", Json::integer(omit));
  // iperf3 reads "time" as an integer; a fractional -t still ends on time because the client sends TEST_END.
  j.set("time", time == std::floor(time) ? Json::integer(static_cast<int64_t>(time)) : Json::number(time));
  j.set("num", Json::uinteger(num));
  j.set("blockcount", Json::uinteger(blockcount));
  if (mss) j.set("MSS", Json::integer(mss));
  if (nodelay) j.set("nodelay", Json::boolean(true));
  j.set("parallel", Json::integer(parallel));
  if (reverse) j.set("reverse", Json::boolean(true));
  if (bidir) j.set("bidirectional", Json::boolean(true));
  if (window) j.set("window", Json::integer(window));
  j.set("len", Json::integer(len));
  if (rate) j.set("bandwidth", Json::uinteger(rate));
  j.set("pacing_timer", Json::integer(1000));
  if (udp64) j.set("udp_counters_64bit", Json::integer(1));
  if (!congestion.empty()) j.set("congestion", Json::string(congestion));
  if (workload == Workload::RR) j.set("skiff_rr", Json::integer(rr_size));
  if (workload == Workload::CRR) j.set("skiff_crr", Json::integer(rr_size));
  j.set("client_version", Json::string("3.12"));
  return j;
}

bool TestParams::from_json(const Json& j, TestParams* out, std::string* err) {
  if (!j.is_object()) {
    *err = "parameters are not a JSON object";
    return false;
  }
  TestParams p;
  const Json* v;
  p.udp = (v = j.get("udp")) && v->as_bool();
  const bool tcp = (v = j.get("tcp")) && v->as_bool();
  if (p.udp == tcp) {
    *err = "parameters name neither (or both) of tcp and udp";
    return false;
  }
  auto num = [&](const char* key, double lo, double hi, double def, double* dst) {
    const Json* x = j.get(key);
    if (!x) {
      *dst = def;
      return true;
    }
    const double d = x->as_double(-1);
    if (!x->is_number() || !(d >= lo && d <= hi)) {
      *err = std::string("parameter '") + key + "' out of range";
      return false;
    }
    *dst = d;
    return true;
  };
  double d;
  if (!num("time", 0, 86400 * 7, 10, &p.time)) return false;
  if (!num("num", 0, 1.8e19, 0, &d)) return false;
  p.num = static_cast<uint64_t>(d);
  if (!num("blockcount", 0, 1.8e19, 0, &d)) return false;
  p.blockcount = static_cast<uint64_t>(d);
  if (!num("parallel", 1, kMaxStreams, 1, &d)) return false;
  p.parallel = static_cast<int>(d);
  if (!num("len", 1, 1 << 20, p.udp ? kDefaultUdpLen : kDefaultTcpLen, &d)) return false;
  p.len = static_cast<int>(d);
  if (!num("bandwidth", 0, 1.8e19, 0, &d)) return false;
  p.rate = static_cast<uint64_t>(d);
  if (!num("window", 0, 1 << 30, 0, &d)) return false;
  p.window = static_cast<int>(d);
  if (!num("MSS", 0, 65535, 0, &d)) return false;
  p.mss = static_cast<int>(d);
  if (!num("omit", 0, 3600, 0, &d)) return false;
  p.omit = static_cast<int>(d);
  p.reverse = (v = j.get("reverse")) && v->as_bool();
  p.bidir = (v = j.get("bidirectional")) && v->as_bool();
  p.nodelay = (v = j.get("nodelay")) && v->as_bool();
  p.udp64 = (v = j.get("udp_counters_64bit")) && v->as_bool();
  if ((v = j.get("skiff_rr"))) {
    p.workload = Workload::RR;
  } else if ((v = j.get("skiff_crr"))) {
    p.workload = Workload::CRR;
  }
  if (v && p.workload != Workload::Stream) {
    const double s = v->as_double(-1);
    if (!(s >= 1 && s <= (1 << 20)) || p.udp) {
      *err = "bad request/response parameters";
      return false;
    }
    p.rr_size = static_cast<int>(s);
  }
  if ((v = j.get("congestion"))) {
    if (!v->is_string() || !valid_congestion(v->as_string())) {
      *err = "bad congestion control name";
      return false;
    }
    p.congestion = v->as_string();
  }
  if (p.udp && p.len < (p.udp64 ? 16 : 12)) {
    *err = "UDP block length too small for the packet header";
    return false;
  }
  *out = p;
  return true;
}

}  // namespace perf
