// libFuzzer target: one TCP connection driven deep into its state machine. The target plays the peer and
// keeps the peer's view of the connection (our RCV.NXT from our last ACK, our highest sequence sent, what
// the peer has acknowledged, our last TSval), and builds every segment relative to it from the fuzz bytes:
// in-order, out-of-order, old or beyond-window data; ACKs of all, some, none or more than was sent; SACK
// blocks inside the outstanding range (dupacks with SACK: loss recovery); zero and tiny windows; FIN, RST
// and SYN in any state; ICMP errors quoting our segments. The application side sends, reads, shuts down,
// closes and sets options from the input too, and the clock moves, so timers (RTO, TLP, RACK reordering,
// persist, delayed ACK, keepalive, FIN-WAIT-2, TIME-WAIT) run.
//
// Input: a setup byte (active or passive open; which options the peer offers; buffer sizes), then
// operations (see run()). Every run starts from a fresh shard; at its end every buffer must be back.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <algorithm>
#include <initializer_list>
#include <vector>

#include "api/skiff.h"
#include "fuzz_env.hh"
#include "stack/shard.hh"
#include "tcp/tcp_impl.hh"
#include "wire/endian.hh"
#include "wire/tcp.hh"

using namespace skiff;
using namespace skiff::fuzz;
namespace tf = skiff::wire::tcp_flag;

namespace {

constexpr uint16_t kListenPort = 7000;
constexpr uint16_t kPeerServer = 80;
constexpr size_t kMaxOps = 128;

FuzzStack* g_fs = nullptr;

bool after(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) > 0; }

// Appends bytes (push_back rather than vector::insert, which GCC 12 at -O3 warns about falsely).
void put(Bytes& b, std::initializer_list<uint8_t> l) {
  for (uint8_t x : l) b.push_back(x);
}

struct Conn {
  int fd = -1;
  uint16_t lport = 0, pport = 0;   // our port, the peer's port
  uint32_t peer_nxt = 0;           // the peer's next new sequence number
  uint32_t una = 0;                // the highest ACK the peer sent
  uint32_t our_max = 0;            // our highest sequence number sent + 1
  uint32_t our_ack = 0;            // our last ACK (our RCV.NXT)
  uint32_t our_tsval = 0;
  bool ts = false, sack = false;
  uint16_t mss = 536;
  bool reset = false;              // we sent a RST
  bool peer_fin = false;
};

struct Driver {
  FuzzStack& fs;
  std::vector<Conn> conns;
  size_t cur = 0;
  int lfd = -1;
  uint16_t next_pport = 40000;
  uint8_t setup_bits = 0;
  uint16_t setup_mss = 1460;
  uint8_t setup_ws = 7;

  Conn& c() { return conns[cur]; }

  uint32_t peer_tsval() const { return 1000u + static_cast<uint32_t>(to_ms(fs.clock().now() - Instant::from_ns(1'000'000'000))); }

  void observe() {
    for (const Bytes& f : fs.sent()) {
      OutSeg s;
      if (!parse_out_tcp(f, &s)) continue;
      for (Conn& k : conns) {
        if (k.lport != s.sport || k.pport != s.dport) continue;
        const uint32_t end = s.seq + static_cast<uint32_t>(s.len) + ((s.flags & tf::kSyn) ? 1 : 0) + ((s.flags & tf::kFin) ? 1 : 0);
        // RFC 3168 §6.1: only new data leaves ECN-capable (ECT(0)), and CWR rides only on such a segment.
        if (s.ecn && (s.ecn != 2 || !s.len || (s.flags & tf::kSyn) || after(k.our_max, s.seq)))
          fail("an ECN-capable segment that is not new data (ECN %u, %zu bytes, flags %#x, seq %u, sent up to %u)", s.ecn,
               s.len, s.flags, s.seq, k.our_max);
        if ((s.flags & tf::kCwr) && !(s.flags & tf::kSyn) && s.ecn != 2) fail("CWR on a segment that is not ECT(0)");
        if (after(end, k.our_max) || k.our_max == 0) k.our_max = end;
        if (TcpSock* tp = fs.shard().tcp.lookup(FuzzStack::kOurIp, k.lport, FuzzStack::kPeerIp, k.pport);
            tp && s.len > tp->mss)
          fail("a segment of %zu bytes left with MSS %u (path MTU %u)", s.len, tp->mss, tp->pmtu);
        if (s.flags & tf::kAck) k.our_ack = s.ack;
        if (s.has_ts) k.our_tsval = s.tsval;
        if (s.flags & tf::kRst) k.reset = true;
        if (s.flags & tf::kSyn) {
          k.ts = k.ts && s.has_ts;
          k.sack = k.sack && s.sack_perm;
          if (s.mss) k.mss = std::min<uint16_t>(k.mss, s.mss);
        }
      }
    }
  }

  Bytes opts_for(const Conn& k, bool with_ts, uint32_t tsval, const std::vector<std::pair<uint32_t, uint32_t>>& sacks) {
    Bytes o;
    if (with_ts && k.ts) {
      put(o, {1, 1, 8, 10});
      for (int i = 3; i >= 0; --i) o.push_back(static_cast<uint8_t>(tsval >> (8 * i)));
      for (int i = 3; i >= 0; --i) o.push_back(static_cast<uint8_t>(k.our_tsval >> (8 * i)));
    }
    const size_t room = (40 - o.size() - 4) / 8;
    const size_t n = std::min(room, sacks.size());
    if (n) {
      put(o, {1, 1, 5, static_cast<uint8_t>(2 + 8 * n)});
      for (size_t i = 0; i < n; ++i) {
        for (int j = 3; j >= 0; --j) o.push_back(static_cast<uint8_t>(sacks[i].first >> (8 * j)));
        for (int j = 3; j >= 0; --j) o.push_back(static_cast<uint8_t>(sacks[i].second >> (8 * j)));
      }
    }
    return o;
  }

  // `ecn`: the IP header's ECN field (RFC 3168: 2 ECT(0), 3 CE).
  void send_seg(Conn& k, uint32_t seq, uint32_t ack, uint8_t flags, uint16_t wnd, const Bytes& opts, size_t len,
                uint16_t urg = 0, uint8_t ecn = 0) {
    static const Bytes pat = [] {
      Bytes b(65536);
      for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<uint8_t>(i * 7 + 3);
      return b;
    }();
    Bytes payload(pat.begin(), pat.begin() + static_cast<ptrdiff_t>(std::min(len, pat.size())));
    fs.inject(fs.from_peer_ip(ipv4_packet(FuzzStack::kPeerIp, FuzzStack::kOurIp, 6,
                                          tcp_segment(FuzzStack::kPeerIp, FuzzStack::kOurIp, k.pport, k.lport, seq, ack,
                                                      flags, wnd, opts, payload, urg),
                                          1, 0, 64, {}, ecn)));
    const uint32_t end = seq + static_cast<uint32_t>(len) + ((flags & tf::kFin) ? 1 : 0) + ((flags & tf::kSyn) ? 1 : 0);
    if (after(end, k.peer_nxt) && !after(seq, k.peer_nxt)) k.peer_nxt = end;
    if ((flags & tf::kAck) && after(ack, k.una) && !after(ack, k.our_max)) k.una = ack;
    if (flags & tf::kFin) k.peer_fin = true;
    observe();
  }

  Bytes syn_opts() const {
    Bytes o;
    if (setup_bits & 0x02) put(o, {2, 4, static_cast<uint8_t>(setup_mss >> 8), static_cast<uint8_t>(setup_mss)});
    if (setup_bits & 0x04) put(o, {1, 1, 4, 2});
    if (setup_bits & 0x08) {
      const uint32_t v = peer_tsval();
      put(o, {1, 1, 8, 10, static_cast<uint8_t>(v >> 24), static_cast<uint8_t>(v >> 16),
                         static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v), 0, 0, 0, 0});
    }
    if (setup_bits & 0x10) put(o, {1, 3, 3, setup_ws});
    return o;
  }

  void sockopts(int fd) {
    if (setup_bits & 0x20) {
      const int v = 4096;
      skiff_setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof v);
    }
    if (setup_bits & 0x40) {
      const int v = 1;
      skiff_setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, sizeof v);
    }
    if (setup_bits & 0x80) {
      const int v = 8192;
      skiff_setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
    }
  }

  // Opens a connection (passive: the peer connects to our listener; active: we connect to the peer). A
  // passive one may be a Fast Open (RFC 7413): the listener takes it, the SYN brings our cookie and
  // `fo_data` bytes, and the peer's ACK of the SYN-ACK waits unless `fo_ack`: the connection is accepted in
  // SYN-RECEIVED and lives there, reading and writing, until the operations complete its handshake. An active
  // one may be a Fast Open too: the peer's cookie is cached, sendto(MSG_FASTOPEN) puts `fo_data` bytes in the
  // SYN, and the SYN-ACK acknowledges them if `fo_ack` (else only the SYN: the data goes again after it).
  void open(bool active, bool fastopen = false, size_t fo_data = 0, bool fo_ack = true) {
    Conn k;
    k.pport = active ? kPeerServer : next_pport++;
    k.ts = setup_bits & 0x08;
    k.sack = setup_bits & 0x04;
    k.mss = (setup_bits & 0x02) ? setup_mss : 536;
    const uint32_t isn = 0x10000000u * static_cast<uint32_t>(conns.size() + 1) + 12345;
    if (active) {
      k.fd = skiff_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
      if (k.fd < 0) return;
      sockopts(k.fd);
      const sockaddr_in pa = sin_of(FuzzStack::kPeerIp, kPeerServer);
      if (fastopen) {
        FastOpenEntry& e = fs.shard().tcp.fastopen.get(FuzzStack::kOurIp, FuzzStack::kPeerIp);
        e.cookie_len = 8;
        e.mss = static_cast<uint16_t>(k.mss);
        // An odd length also sets TCP_FASTOPEN_NO_COOKIE: the SYN carries the data and no option.
        const int no_cookie = fo_data & 1;
        skiff_setsockopt(k.fd, IPPROTO_TCP, TCP_FASTOPEN_NO_COOKIE, &no_cookie, sizeof no_cookie);
        const Bytes d(fo_data, 0x5a);
        skiff_sendto(k.fd, d.data(), d.size(), MSG_FASTOPEN, reinterpret_cast<const sockaddr*>(&pa), sizeof pa);
      } else {
        skiff_connect(k.fd, reinterpret_cast<const sockaddr*>(&pa), sizeof pa);
      }
      for (const Bytes& f : fs.sent()) {
        OutSeg s;
        if (parse_out_tcp(f, &s) && (s.flags & ~(tf::kEce | tf::kCwr)) == tf::kSyn) {
          k.lport = s.sport;
          k.our_max = s.seq + 1 + static_cast<uint32_t>(s.len);
          k.una = fastopen && !fo_ack ? s.seq + 1 : k.our_max;
          k.our_tsval = s.tsval;
          k.ts = k.ts && s.has_ts;
          k.sack = k.sack && s.sack_perm;
        }
      }
      if (!k.lport) {
        skiff_close(k.fd);
        return;
      }
      k.peer_nxt = isn;
      conns.push_back(k);
      cur = conns.size() - 1;
      // With timestamps the peer also grants ECN (an ECN-setup SYN-ACK: ECE).
      send_seg(c(), isn, c().una, tf::kSyn | tf::kAck | ((setup_bits & 0x08) ? tf::kEce : 0), 65535, syn_opts(), 0);
    } else {
      if (lfd < 0) {
        lfd = skiff_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        sockopts(lfd);
        const sockaddr_in la = sin_of(Ipv4Addr::any(), kListenPort);
        skiff_bind(lfd, reinterpret_cast<const sockaddr*>(&la), sizeof la);
        skiff_listen(lfd, 8);
      }
      Bytes o = syn_opts();
      if (fastopen) {
        const int q = 4;
        skiff_setsockopt(lfd, IPPROTO_TCP, TCP_FASTOPEN, &q, sizeof q);
        // An odd length: the listener takes SYN data without a cookie (TCP_FASTOPEN_NO_COOKIE) and the SYN
        // has none. Bit 1 of the length: the listener's key has a backup, and the SYN brings the backup's
        // cookie (taken, and the SYN-ACK gives the primary's).
        const int no_cookie = fo_data & 1;
        skiff_setsockopt(lfd, IPPROTO_TCP, TCP_FASTOPEN_NO_COOKIE, &no_cookie, sizeof no_cookie);
        uint8_t keys[32];
        for (int i = 0; i < 32; ++i) keys[i] = static_cast<uint8_t>(i * 7 + 1);
        const bool backup = fo_data & 2;
        skiff_setsockopt(lfd, IPPROTO_TCP, TCP_FASTOPEN_KEY, keys, backup ? 32 : 16);
        uint8_t cookie[tcp::kFastOpenCookieLen];
        tcp::fastopen_cookie(tcp::fastopen_keys_from(keys, 2).key[backup ? 1 : 0], FuzzStack::kPeerIp,
                             FuzzStack::kOurIp, cookie);
        if (!no_cookie) {
          put(o, {wire::tcp_opt::kFastOpen, 2 + tcp::kFastOpenCookieLen});
          for (uint8_t b : cookie) o.push_back(b);
        }
      } else {
        fo_data = 0;
        fo_ack = true;
      }
      k.lport = kListenPort;
      k.peer_nxt = isn;
      conns.push_back(k);
      cur = conns.size() - 1;
      // With timestamps the peer asks for ECN too (an ECN-setup SYN: ECE and CWR).
      send_seg(c(), isn, 0, tf::kSyn | ((setup_bits & 0x08) ? tf::kEce | tf::kCwr : 0), 65535, o, fo_data);
      if (!c().our_max) return;  // no SYN-ACK
      c().una = c().our_max - 1;
      if (fo_ack) {
        c().una = c().our_max;
        send_seg(c(), c().peer_nxt, c().our_max, tf::kAck, 65535, opts_for(c(), true, peer_tsval(), {}), 0);
      }
      c().fd = skiff_accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK);
    }
  }

  // SACK blocks inside (una, our_max], from the input: each a start and a length as fractions of the range.
  std::vector<std::pair<uint32_t, uint32_t>> sack_blocks(Input& in, const Conn& k, unsigned n) {
    std::vector<std::pair<uint32_t, uint32_t>> v;
    const uint32_t range = k.our_max - k.una;
    for (unsigned i = 0; i < n; ++i) {
      const uint8_t a = in.u8(), b = in.u8();
      if (a == 0xff) {  // a raw block anywhere (validation of nonsense blocks)
        const uint32_t l = k.una + in.u32();
        v.push_back({l, l + in.u16()});
        continue;
      }
      if (range == 0) break;
      const uint32_t l = k.una + static_cast<uint32_t>(uint64_t(range) * a / 256);
      uint32_t len = static_cast<uint32_t>(uint64_t(range) * (b + 1) / 256);
      if (len == 0) len = 1;
      uint32_t r = l + len;
      if (after(r, k.our_max)) r = k.our_max;
      if (r != l) v.push_back({l, r});
    }
    return v;
  }

  void segment_op(Input& in) {
    Conn& k = c();
    const uint8_t f = in.u8();
    const uint8_t m = in.u8();
    uint8_t flags = tf::kAck;
    if (f & 0x01) flags |= tf::kPsh;
    if (f & 0x02) flags |= tf::kFin;
    if (f & 0x04) flags |= tf::kUrg;
    if (f & 0x08) flags |= tf::kEce;
    if (f & 0x10) flags |= tf::kCwr;
    if (f & 0x20) flags &= static_cast<uint8_t>(~tf::kAck);
    uint32_t seq = k.our_ack;
    switch (m & 3) {
      case 0: break;
      case 1: seq += static_cast<uint32_t>(int32_t(int8_t(in.u8())) * 8); break;
      case 2: seq += in.u16(); break;
      default: seq -= in.u16(); break;
    }
    uint32_t ack = k.our_max;
    switch ((m >> 2) & 3) {
      case 0: break;
      case 1: ack = k.una; break;
      case 2: ack = k.una + static_cast<uint32_t>(uint64_t(k.our_max - k.una) * in.u8() / 256); break;
      default: ack = k.our_max + static_cast<uint32_t>(int32_t(int8_t(in.u8()))); break;
    }
    uint16_t wnd = 65535;
    switch ((m >> 4) & 3) {
      case 0: break;
      case 1: wnd = 0; break;
      case 2: wnd = in.u16(); break;
      default: wnd = in.u8(); break;
    }
    const bool ts = !(m & 0x40);
    const uint32_t tsval = ts ? peer_tsval() : peer_tsval() - in.u16() * 1000u;  // else an old TSval (PAWS)
    std::vector<std::pair<uint32_t, uint32_t>> sacks;
    if ((m & 0x80) && k.sack) sacks = sack_blocks(in, k, 1 + in.u8() % 4);
    const size_t len = in.u16() % (3u * k.mss + 1);
    send_seg(k, seq, ack, flags, wnd, opts_for(k, true, tsval, sacks), len, (flags & tf::kUrg) ? in.u16() : 0,
             static_cast<uint8_t>(f >> 6));  // the IP ECN field: not-ECT, ECT(1), ECT(0), CE
  }

  void dupack_op(Input& in) {
    Conn& k = c();
    const unsigned n = 1 + in.u8() % 4;
    for (unsigned i = 0; i < n; ++i) {
      auto sacks = k.sack ? sack_blocks(in, k, 1 + in.u8() % 3) : std::vector<std::pair<uint32_t, uint32_t>>{};
      send_seg(k, k.peer_nxt, k.una, tf::kAck, 65535, opts_for(k, true, peer_tsval(), sacks), 0);
    }
  }

  void icmp_op(Input& in) {
    observe();  // what left before the error, at the MSS of its time
    Conn& k = c();
    const uint8_t which = in.u8();
    uint8_t type = 3, code = 4;
    switch (which % 4) {
      case 0: break;                      // fragmentation needed (PMTU)
      case 1: code = 3; break;            // port unreachable
      case 2: type = 11; code = 0; break; // TTL exceeded
      default: type = in.u8(); code = in.u8(); break;
    }
    Bytes quote = ipv4_packet(FuzzStack::kOurIp, FuzzStack::kPeerIp, 6,
                              tcp_segment(FuzzStack::kOurIp, FuzzStack::kPeerIp, k.lport, k.pport,
                                          k.una + in.u8(), k.our_ack, tf::kAck, 1000, {}, {}));
    quote.resize(28);
    Bytes icmp = {type, code, 0, 0, 0, 0, 0, 0};
    const uint16_t mtu = type == 3 && code == 4 ? in.u16() : 0;
    icmp[6] = static_cast<uint8_t>(mtu >> 8);
    icmp[7] = static_cast<uint8_t>(mtu);
    for (uint8_t b : quote) icmp.push_back(b);
    Bytes frame = fs.from_peer_ip(ipv4_packet(FuzzStack::kPeerIp, FuzzStack::kOurIp, 1, icmp));
    fix_checksums(frame);
    fs.inject(frame);
    observe();
  }

  void app_op(Input& in) {
    static uint8_t buf[65536];
    Conn& k = c();
    const uint8_t a = in.u8();
    switch (a % 8) {
      case 0:
      case 1:
        skiff_send(k.fd, buf, size_t(in.u16()) % sizeof buf, MSG_DONTWAIT);
        break;
      case 2:
      case 3:
        skiff_recv(k.fd, buf, 1 + size_t(in.u16()) % sizeof buf, MSG_DONTWAIT);
        break;
      case 4:
        skiff_shutdown(k.fd, SHUT_WR);
        break;
      case 5:
        skiff_shutdown(k.fd, in.u8() % 3);
        break;
      case 6:
        if (k.fd >= 0) skiff_close(k.fd);
        k.fd = -1;
        break;
      default: {
        const uint8_t o = in.u8();
        int v = in.u16();
        switch (o % 8) {
          case 0: skiff_setsockopt(k.fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof v); break;
          case 1: skiff_setsockopt(k.fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof v); break;
          case 2: v &= 1; skiff_setsockopt(k.fd, IPPROTO_TCP, TCP_NODELAY, &v, sizeof v); break;
          case 3: v &= 1; skiff_setsockopt(k.fd, IPPROTO_TCP, TCP_CORK, &v, sizeof v); break;
          case 4: {
            int on = 1;
            skiff_setsockopt(k.fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
            v = 1 + v % 100;
            skiff_setsockopt(k.fd, IPPROTO_TCP, TCP_KEEPIDLE, &v, sizeof v);
            skiff_setsockopt(k.fd, IPPROTO_TCP, TCP_KEEPINTVL, &v, sizeof v);
            break;
          }
          case 5: skiff_setsockopt(k.fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &v, sizeof v); break;
          case 6: {
            linger l{1, v % 5};
            skiff_setsockopt(k.fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
            break;
          }
          default: skiff_setsockopt(k.fd, IPPROTO_TCP, TCP_MAXSEG, &v, sizeof v); break;
        }
        break;
      }
    }
    observe();
  }

  void run(Input& in) {
    setup_bits = in.u8();
    if (setup_bits & 0x02) setup_mss = static_cast<uint16_t>(64 + in.u16() % 9000);
    if (setup_bits & 0x10) setup_ws = in.u8() % 16;
    open(setup_bits & 0x01);
    if (conns.empty()) return;
    for (size_t ops = 0; ops < kMaxOps && !in.empty(); ++ops) {
      const uint8_t op = in.u8();
      Conn& k = c();
      switch (op % 16) {
        case 0: case 1: case 2: case 3:
          segment_op(in);
          break;
        case 4:
          send_seg(k, k.peer_nxt, k.our_max, tf::kAck, static_cast<uint16_t>(in.u8() << 8 | 0xff),
                   opts_for(k, true, peer_tsval(), {}), 0);
          break;
        case 5:
          dupack_op(in);
          break;
        case 6: case 7: case 8:
          app_op(in);
          break;
        case 9:
          fs.advance(std::chrono::milliseconds(int64_t(in.u8()) * 10));
          observe();
          break;
        case 10:
          // Long waits in steps, so timers fire at their own times.
          for (unsigned i = 0, n = 1 + in.u8() % 32; i < n; ++i) {
            fs.advance(std::chrono::milliseconds(int64_t(in.u16() % 4096) * 10));
            observe();
          }
          break;
        case 11: {
          const uint8_t how = in.u8();
          uint32_t seq = k.our_ack;
          if (how & 1) seq += in.u16();
          send_seg(k, seq, (how & 2) ? k.our_max : 0, (how & 2) ? (tf::kRst | tf::kAck) : tf::kRst, 0, {}, 0);
          break;
        }
        case 12:
          send_seg(k, k.our_ack + (in.flag() ? in.u16() : 0u), k.our_max, in.flag() ? tf::kSyn : (tf::kSyn | tf::kAck),
                   65535, syn_opts(), 0);
          break;
        case 13:
          icmp_op(in);
          break;
        case 14:
          send_seg(k, k.our_ack, k.our_max, tf::kAck | tf::kFin, 65535, opts_for(k, true, peer_tsval(), {}),
                   in.u8() % 200);
          break;
        default: {
          const uint8_t w = in.u8();
          if ((w & 3) == 0 && conns.size() < 4) {
            open(w & 4, w & 8, static_cast<size_t>(w >> 5) * 120, w & 0x10);
          } else {
            cur = w % conns.size();
          }
          break;
        }
      }
      check_invariants();
    }
  }

  // The sender's bookkeeping after every operation: the write queue is one run of sequence space whose
  // bytes add up to write_bytes; the scoreboard's byte counts (RFC 6675's pipe is computed from them) are
  // exactly those of the segments flagged SACKed, lost and retransmitted. (That no segment leaves larger
  // than the send MSS, which a path MTU drop lowers, observe() checks.)
  void check_invariants() {
    fs.shard().tcp.for_each([](TcpSock* tp) {
      uint64_t bytes = 0, sacked = 0, lost = 0, retrans = 0;
      rte_mbuf* prev = nullptr;
      for (rte_mbuf* m = tp->write_queue.front(); m; m = tp->write_queue.next(m)) {
        const uint32_t len = tcp::seg_len(m);
        const uint8_t f = pkt_meta(m)->flags;
        if (prev && tcp::seg_seq(m) != tcp::seg_seq(prev) + tcp::seg_len(prev))
          fail("write queue not contiguous: %u after %u+%u", tcp::seg_seq(m).raw(), tcp::seg_seq(prev).raw(),
               tcp::seg_len(prev));
        bytes += len;
        if (f & tcp::kMetaSacked) sacked += len;
        if (f & tcp::kMetaLost) lost += len;
        if (f & tcp::kMetaRetrans) retrans += len;
        prev = m;
      }
      if (bytes != tp->write_bytes) fail("write queue holds %lu bytes, write_bytes %u", bytes, tp->write_bytes);
      if (tp->sack_ok && (sacked != tp->sacked_out || lost != tp->lost_out || retrans != tp->retrans_out))
        fail("scoreboard: sacked %lu/%u lost %lu/%u retrans %lu/%u (segments/counter)", sacked, tp->sacked_out, lost,
             tp->lost_out, retrans, tp->retrans_out);
    });
  }
};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  init_eal(*argc ? (*argv)[0] : nullptr);
  g_fs = new FuzzStack();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  g_fs->begin();
  {
    Driver d{*g_fs};
    Input in(data, size);
    d.run(in);
  }
  g_fs->end();
  return 0;
}
