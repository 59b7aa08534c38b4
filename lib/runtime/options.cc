#include "runtime/options.hh"

#include <rte_cfgfile.h>

#include <array>
#include <cctype>
#include <charconv>
#include <cstring>
#include <map>

namespace skiff {

namespace {

template <class T>
bool parse_uint(const std::string& s, T lo, T hi, T* out) {
  unsigned long long v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 10);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size() || v < lo || v > hi) return false;
  *out = static_cast<T>(v);
  return true;
}

std::string bad(const std::string& opt, const std::string& v, const char* want) {
  return opt + ": invalid value '" + v + "' (expected " + want + ")";
}

// Fast Open keys as Linux's net.ipv4.tcp_fastopen_key writes them: four 32-bit hex words joined by '-',
// each stored little-endian (so the same text gives the kernel and Skiff the same key), and optionally a
// comma and a backup key in the same form.
bool parse_fastopen_keys(const std::string& s, std::array<uint8_t, 32>* out, unsigned* count) {
  std::array<uint8_t, 32> bytes{};
  unsigned n = 0;
  size_t pos = 0;
  while (true) {
    if (n == 2) return false;
    for (unsigned w = 0; w < 4; ++w) {
      size_t end = pos;
      while (end < s.size() && std::isxdigit(static_cast<unsigned char>(s[end]))) ++end;
      if (end == pos || end - pos > 8) return false;
      uint32_t v = 0;
      std::from_chars(s.data() + pos, s.data() + end, v, 16);
      for (unsigned b = 0; b < 4; ++b) bytes[16 * n + 4 * w + b] = static_cast<uint8_t>(v >> (8 * b));
      pos = end;
      if (w < 3) {
        if (pos >= s.size() || s[pos] != '-') return false;
        ++pos;
      }
    }
    ++n;
    if (pos == s.size()) break;
    if (s[pos] != ',') return false;
    ++pos;
  }
  *out = bytes;
  *count = n;
  return true;
}

// Stack-level keys shared by the command line (--key) and the [stack] section.
std::string apply_stack_key(StackConfig& cfg, const std::string& key, const std::string& v, const std::string& opt) {
  if (key == "ip") {
    auto c = wire::Ipv4Cidr::parse(v);
    if (!c || c->prefix_len == 0 || c->addr.is_any() || c->addr.is_multicast() || c->addr.is_broadcast())
      return bad(opt, v, "a unicast address with prefix, A.B.C.D/PREFIX");
    cfg.ip = *c;
  } else if (key == "gw") {
    auto a = wire::Ipv4Addr::parse(v);
    if (!a || a->is_any() || a->is_multicast() || a->is_broadcast()) return bad(opt, v, "a unicast address A.B.C.D");
    cfg.gateway = *a;
  } else if (key == "mtu") {
    uint16_t m;
    if (!parse_uint<uint16_t>(v, 68, 9600, &m)) return bad(opt, v, "an MTU in 68..9600");
    cfg.mtu = m;
  } else if (key == "mac") {
    auto m = wire::MacAddr::parse(v);
    if (!m || m->is_multicast() || m->is_zero()) return bad(opt, v, "a unicast MAC XX:XX:XX:XX:XX:XX");
    cfg.mac = *m;
  } else if (key == "pool-size") {
    unsigned n;
    if (!parse_uint<unsigned>(v, 1023, 1u << 24, &n)) return bad(opt, v, "a buffer count in 1023..16777216");
    cfg.pool_size = n;
  } else if (key == "mbuf-size") {
    uint16_t n;
    if (!parse_uint<uint16_t>(v, 1024, 65000, &n)) return bad(opt, v, "bytes in 1024..65000");
    cfg.mbuf_data = n;
  } else if (key == "idle-sleep") {
    unsigned us;
    if (!parse_uint<unsigned>(v, 0, 1'000'000, &us)) return bad(opt, v, "microseconds in 0..1000000");
    cfg.idle_sleep = std::chrono::microseconds(us);
  } else if (key == "queues") {
    unsigned n;
    if (!parse_uint<unsigned>(v, 1, 64, &n)) return bad(opt, v, "a queue count in 1..64 (at most one per lcore)");
    cfg.queues = n;
  } else if (key == "rss") {
    if (v == "on" || v == "1" || v == "yes") {
      cfg.rss = true;
    } else if (v == "off" || v == "0" || v == "no") {
      cfg.rss = false;
    } else {
      return bad(opt, v, "on or off");
    }
  } else if (key == "link-wait") {
    unsigned ms;
    if (!parse_uint<unsigned>(v, 0, 600'000, &ms)) return bad(opt, v, "milliseconds in 0..600000");
    cfg.link_wait = std::chrono::milliseconds(ms);
  } else {
    return opt + ": unknown option";
  }
  return "";
}

bool is_stack_key(const std::string& k) {
  static const char* const keys[] = {"ip", "gw", "mtu", "mac", "pool-size", "mbuf-size", "idle-sleep", "link-wait", "config", "queues", "rss"};
  for (auto* s : keys)
    if (k == s) return true;
  return false;
}

}  // namespace

std::string apply_config_key(StackConfig& cfg, const std::string& section, const std::string& key,
                             const std::string& v) {
  const std::string opt = "--config [" + section + "] " + key;
  if (section == "stack") {
    if (key == "config") return opt + ": nested config files are not supported";
    return apply_stack_key(cfg, key, v, opt);
  }
  auto dur_ms = [&](Duration* d, unsigned lo, unsigned hi) {
    unsigned ms;
    if (!parse_uint<unsigned>(v, lo, hi, &ms)) return bad(opt, v, ("milliseconds in " + std::to_string(lo) + ".." + std::to_string(hi)).c_str());
    *d = std::chrono::milliseconds(ms);
    return std::string();
  };
  auto count = [&](auto* out, unsigned lo, unsigned hi) {
    unsigned n;
    if (!parse_uint<unsigned>(v, lo, hi, &n)) return bad(opt, v, ("a number in " + std::to_string(lo) + ".." + std::to_string(hi)).c_str());
    *out = static_cast<std::remove_pointer_t<decltype(out)>>(n);
    return std::string();
  };
  if (section == "neigh") {
    NeighConfig& n = cfg.neigh;
    if (key == "capacity") return count(&n.capacity, 16, 1 << 20);
    if (key == "reachable-ms") return dur_ms(&n.reachable, 1000, 3'600'000);
    if (key == "stale-grace-ms") return dur_ms(&n.stale_grace, 0, 3'600'000);
    if (key == "retrans-ms") return dur_ms(&n.retrans, 100, 60'000);
    if (key == "max-probes") return count(&n.max_probes, 1, 100);
    if (key == "queue-per-entry") return count(&n.queue_per_entry, 1, 65535);
    if (key == "queue-total") return count(&n.queue_total, 1, 65536);
    if (key == "gc-idle-ms") return dur_ms(&n.gc_idle, 1000, 86'400'000);
    if (key == "locktime-ms") return dur_ms(&n.locktime, 0, 60'000);
  } else if (section == "ipv4") {
    Ipv4Config& i = cfg.ipv4;
    if (key == "default-ttl") return count(&i.default_ttl, 1, 255);
    if (key == "reass-timeout-ms") return dur_ms(&i.reass_timeout, 100, 600'000);
    if (key == "reass-max-bytes") return count(&i.reass_max_bytes, 65536, 1u << 30);
    if (key == "reass-max-datagrams") return count(&i.reass_max_datagrams, 1, 65536);
    if (key == "reass-max-frags") return count(&i.reass_max_frags, 2, 8192);
    if (key == "pmtu-expires-ms") return dur_ms(&i.pmtu_expires, 1000, 86'400'000);
    if (key == "min-pmtu") return count(&i.min_pmtu, 68, 65535);
  } else if (section == "sock") {
    SockConfig& k = cfg.sock;
    if (key == "max-fds") return count(&k.max_fds, 16, 1u << 24);
    if (key == "somaxconn") return count(&k.somaxconn, 1, 65535);
    if (key == "port-lo") return count(&k.port_lo, 1024, 65535);
    if (key == "port-hi") return count(&k.port_hi, 1024, 65535);
    if (key == "tcp-slab") return count(&k.tcp_slab, 0, 1u << 24);
    if (key == "udp-slab") return count(&k.udp_slab, 0, 1u << 24);
    if (key == "raw-slab") return count(&k.raw_slab, 0, 1u << 20);
    if (key == "rmem-max") return count(&k.rmem_max, 4096, 1 << 30);
    if (key == "wmem-max") return count(&k.wmem_max, 4096, 1 << 30);
    if (key == "rmem-default") return count(&k.rmem_default, 4096, 1 << 30);
    if (key == "wmem-default") return count(&k.wmem_default, 4096, 1 << 30);
  } else if (section == "tcp") {
    TcpConfig& t = cfg.tcp;
    if (key == "rto-initial-ms") return dur_ms(&t.rto_initial, 10, 60'000);
    if (key == "rto-min-ms") return dur_ms(&t.rto_min, 1, 60'000);
    if (key == "rto-max-ms") return dur_ms(&t.rto_max, 100, 3'600'000);
    if (key == "retries") return count(&t.retries, 1, 255);
    if (key == "syn-retries") return count(&t.syn_retries, 1, 127);
    if (key == "synack-retries") return count(&t.synack_retries, 1, 127);
    if (key == "time-wait-ms") return dur_ms(&t.time_wait, 0, 600'000);
    if (key == "fin-timeout-ms") return dur_ms(&t.fin_timeout, 1000, 600'000);
    if (key == "delack-ms") return dur_ms(&t.delack_min, 1, 500);
    if (key == "keepalive-idle-ms") return dur_ms(&t.keepalive_idle, 1000, 86'400'000);
    if (key == "keepalive-intvl-ms") return dur_ms(&t.keepalive_intvl, 1000, 86'400'000);
    if (key == "keepalive-probes") return count(&t.keepalive_probes, 1, 127);
    if (key == "challenge-ack-limit") return count(&t.challenge_ack_limit, 1, 1'000'000);
    if (key == "init-cwnd") return count(&t.init_cwnd_segs, 1, 1000);
    if (key == "ecn") return count(&t.ecn, 0, 2);
    if (key == "fastopen") return count(&t.fastopen, 0, 1);
    if (key == "hystart") return count(&t.hystart, 0, 3);
    if (key == "fastopen-key") {
      if (!parse_fastopen_keys(v, &t.fastopen_key, &t.fastopen_key_count))
        return bad(opt, v, "a key as xxxxxxxx-xxxxxxxx-xxxxxxxx-xxxxxxxx (hex), optionally ',' and a backup key");
      return "";
    }
    if (key == "notsent-lowat") return count(&t.notsent_lowat, 0, 1u << 30);
    if (key == "ooo-max-segs") return count(&t.ooo_max_segs, 1, 65536);
    if (key == "rmem") return count(&t.rmem_default, 4096, 1 << 30);
    if (key == "wmem") return count(&t.wmem_default, 4096, 1 << 30);
  } else if (section == "icmp") {
    if (key == "error-rate") return count(&cfg.icmp.error_rate, 0, 1'000'000);
    if (key == "error-burst") return count(&cfg.icmp.error_burst, 1, 1'000'000);
    if (key == "peer-interval-ms") return count(&cfg.icmp.peer_interval_ms, 0, 60'000);
    if (key == "peer-burst") return count(&cfg.icmp.peer_burst, 1, 1'000);
  } else {
    return "--config: unknown section [" + section + "]";
  }
  return opt + ": unknown key";
}

std::string load_config_file(StackConfig& cfg, const std::string& path) {
  rte_cfgfile* f = rte_cfgfile_load(path.c_str(), 0);
  if (!f) return "--config: cannot read '" + path + "' as an INI file";
  std::string err;
  const int nsec = rte_cfgfile_num_sections(f, nullptr, 0);
  std::vector<char*> names(nsec > 0 ? nsec : 0);
  std::vector<std::array<char, CFG_NAME_LEN>> storage(names.size());
  for (size_t i = 0; i < names.size(); ++i) names[i] = storage[i].data();
  rte_cfgfile_sections(f, names.data(), nsec);
  for (int s = 0; s < nsec && err.empty(); ++s) {
    const int n = rte_cfgfile_section_num_entries(f, names[s]);
    std::vector<rte_cfgfile_entry> entries(n > 0 ? n : 0);
    rte_cfgfile_section_entries(f, names[s], entries.data(), n);
    for (int e = 0; e < n && err.empty(); ++e) err = apply_config_key(cfg, names[s], entries[e].name, entries[e].value);
  }
  rte_cfgfile_close(f);
  return err;
}

ParsedOptions parse_stack_options(const std::vector<std::string>& args) {
  ParsedOptions r;
  std::vector<std::pair<std::string, std::string>> cli;  // key, value
  std::string config_path;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.rfind("--", 0) != 0 || a.size() <= 2) {
      r.app_args.push_back(a);
      continue;
    }
    std::string key = a.substr(2), value;
    const auto eq = key.find('=');
    const bool inline_value = eq != std::string::npos;
    if (inline_value) {
      value = key.substr(eq + 1);
      key = key.substr(0, eq);
    }
    if (!is_stack_key(key)) {
      r.app_args.push_back(a);
      continue;
    }
    if (!inline_value) {
      if (i + 1 >= args.size()) {
        r.error = "--" + key + ": missing value";
        return r;
      }
      value = args[++i];
    }
    if (key == "config") {
      config_path = value;
    } else {
      cli.emplace_back(key, value);
    }
  }
  if (!config_path.empty()) {
    r.error = load_config_file(r.cfg, config_path);
    if (!r.error.empty()) return r;
  }
  for (auto& [k, v] : cli) {
    r.error = apply_stack_key(r.cfg, k, v, "--" + k);
    if (!r.error.empty()) return r;
  }
  if (r.cfg.gateway && r.cfg.ip && !r.cfg.ip->contains(*r.cfg.gateway)) {
    r.error = "--gw: " + r.cfg.gateway->to_string() + " is not inside " + r.cfg.ip->to_string();
  } else if (r.cfg.gateway && !r.cfg.ip) {
    r.error = "--gw: needs --ip";
  }
  return r;
}

const char* stack_options_help() {
  return "Stack options (after EAL arguments and --):\n"
         "  --ip A.B.C.D/PREFIX   IPv4 address of port 0\n"
         "  --gw A.B.C.D          default gateway (inside port 0's subnet)\n"
         "  --mtu N               MTU of the ports (68..9600; default: the device's)\n"
         "  --mac XX:XX:..        MAC address of port 0 (default: the device's)\n"
         "  --config FILE         INI file: [stack] keys as above; [neigh], [ipv4], [icmp] tunables\n"
         "  --pool-size N         packet buffers per shard (default 8191)\n"
         "  --mbuf-size N         data bytes per packet buffer (default 2048; raised automatically to\n"
         "                        fit an af_packet port's framesz)\n"
         "  --idle-sleep USEC     sleep when a poll finds no work (default 0: busy-poll)\n"
         "  --link-wait MSEC      wait this long for link up at start (default 5000)\n"
         "  --queues N            RX/TX queues per port (default: one per lcore, as the device allows;\n"
         "                        shards without a queue get their flows by software steering)\n"
         "  --rss on|off          program Skiff's symmetric RSS key and RETA on multi-queue ports (default on)\n";
}

}  // namespace skiff
