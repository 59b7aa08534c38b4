// libFuzzer target: whole frames into a shard (Ethernet -> ARP / IPv4 (+ reassembly) -> ICMP / UDP / TCP /
// raw), with live sockets: a TCP listener on 7000, a connection the peer opened to it (accepted), a
// connection we opened to the peer's port 80, a UDP socket on 7001 (a member of 239.1.2.3 blocking one source,
// and of 239.1.2.4 for the peer only) and a raw ICMP
// socket. The clock moves by
// amounts taken from the input, so timers run (reassembly timeout, retransmission, delayed ACK, keepalive,
// TIME-WAIT, neighbour ageing).
//
// Input: a sequence of operations, each an opcode byte and its arguments (see run_op). A frame operation
// can wrap its bytes in an Ethernet header (to us from the peer) and an IPv4 header (peer -> us), can
// rebase the sequence and acknowledgment numbers of a TCP segment on one of the two connections (so a seed
// holding offsets stays valid although our ISN differs from one process to the next), fix every checksum,
// split the frame into a chain, and set the receive offload flags a NIC would.
//
// Every run starts from fresh shards; at its end every packet buffer must be back in the pool.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>

#include <map>
#include <vector>

#include "api/skiff.h"
#include "fuzz_env.hh"
#include "stack/shard.hh"
#include "wire/endian.hh"
#include "wire/tcp.hh"

using namespace skiff;
using namespace skiff::fuzz;
namespace tf = skiff::wire::tcp_flag;

namespace {

constexpr uint16_t kListenPort = 7000;
constexpr uint16_t kPeerPort = 40000;   // the peer's port of the passive connection
constexpr uint16_t kPeerServer = 80;    // the peer's port of the active connection
constexpr uint16_t kUdpPort = 7001;
constexpr size_t kMaxOps = 96;

FuzzStack* g_fs = nullptr;

// What the peer knows of one connection (from our segments): our next sequence number and the last
// acknowledgment we sent (= our RCV.NXT).
struct Track {
  uint32_t our_nxt = 0;
  uint32_t our_ack = 0;
};

struct World {
  FuzzStack& fs;
  int lfd = -1, cfd = -1, afd = -1, ufd = -1, rfd = -1;
  std::vector<int> extra;  // accepted or connected later
  std::map<std::pair<uint16_t, uint16_t>, Track> tracks;  // (our port, peer port)

  void observe() {
    for (const Bytes& f : fs.sent()) {
      OutSeg s;
      if (!parse_out_tcp(f, &s)) continue;
      Track& t = tracks[{s.sport, s.dport}];
      const uint32_t end = s.seq + static_cast<uint32_t>(s.len) + ((s.flags & tf::kSyn) ? 1 : 0) + ((s.flags & tf::kFin) ? 1 : 0);
      if (static_cast<int32_t>(end - t.our_nxt) > 0 || t.our_nxt == 0) t.our_nxt = end;
      if (s.flags & tf::kAck) t.our_ack = s.ack;
    }
  }

  void peer_tcp(uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags, const Bytes& opts = {}) {
    fs.inject(fs.from_peer_ip(ipv4_packet(FuzzStack::kPeerIp, FuzzStack::kOurIp, 6,
                                          tcp_segment(FuzzStack::kPeerIp, FuzzStack::kOurIp, sport, dport, seq, ack,
                                                      flags, 65535, opts, {}))));
  }

  void setup() {
    fs.begin();
    // Listener and a passive connection (MSS, SACK-permitted, timestamps and window scale offered).
    lfd = skiff_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    const sockaddr_in la = sin_of(Ipv4Addr::any(), kListenPort);
    FUZZ_CHECK(skiff_bind(lfd, reinterpret_cast<const sockaddr*>(&la), sizeof la) == 0, "bind");
    FUZZ_CHECK(skiff_listen(lfd, 8) == 0, "listen");
    const Bytes syn_opts = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7};
    peer_tcp(kPeerPort, kListenPort, 1000, 0, tf::kSyn, syn_opts);
    observe();
    Track& t = tracks[{kListenPort, kPeerPort}];
    FUZZ_CHECK(t.our_nxt != 0, "no SYN-ACK");
    const Bytes ts = {1, 1, 8, 10, 0, 0, 0, 2, 0, 0, 0, 0};
    peer_tcp(kPeerPort, kListenPort, 1001, t.our_nxt, tf::kAck, ts);
    observe();
    cfd = skiff_accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK);
    FUZZ_CHECK(cfd >= 0, "accept: %d", errno);
    // An active connection to the peer's port 80.
    afd = skiff_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    const sockaddr_in pa = sin_of(FuzzStack::kPeerIp, kPeerServer);
    skiff_connect(afd, reinterpret_cast<const sockaddr*>(&pa), sizeof pa);
    uint16_t lport = 0;
    for (const Bytes& f : fs.sent()) {
      OutSeg s;
      if (parse_out_tcp(f, &s) && (s.flags & tf::kSyn)) {
        lport = s.sport;
        tracks[{s.sport, s.dport}].our_nxt = s.seq + 1;
      }
    }
    FUZZ_CHECK(lport != 0, "no SYN");
    peer_tcp(kPeerServer, lport, 5000, tracks[{lport, kPeerServer}].our_nxt, tf::kSyn | tf::kAck, {2, 4, 0x05, 0xb4});
    observe();
    // UDP and raw ICMP.
    ufd = skiff_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    const sockaddr_in ua = sin_of(Ipv4Addr::any(), kUdpPort);
    FUZZ_CHECK(skiff_bind(ufd, reinterpret_cast<const sockaddr*>(&ua), sizeof ua) == 0, "udp bind");
    // A member of 239.1.2.3 (multicast delivery, IGMP queries and reports are live).
    ip_mreqn mr{};
    mr.imr_multiaddr.s_addr = htonl(Ipv4Addr::of(239, 1, 2, 3).host());
    mr.imr_ifindex = 1;
    FUZZ_CHECK(skiff_setsockopt(ufd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof mr) == 0, "udp join");
    // ... blocking 10.0.0.9 there, and of 239.1.2.4 for the peer's datagrams only (source filters, source
    // records in reports, group-and-source-specific queries).
    ip_mreq_source ms{};
    ms.imr_multiaddr.s_addr = htonl(Ipv4Addr::of(239, 1, 2, 3).host());
    ms.imr_interface.s_addr = htonl(FuzzStack::kOurIp.host());
    ms.imr_sourceaddr.s_addr = htonl(Ipv4Addr::of(10, 0, 0, 9).host());
    FUZZ_CHECK(skiff_setsockopt(ufd, IPPROTO_IP, IP_BLOCK_SOURCE, &ms, sizeof ms) == 0, "udp block source");
    ms.imr_multiaddr.s_addr = htonl(Ipv4Addr::of(239, 1, 2, 4).host());
    ms.imr_sourceaddr.s_addr = htonl(FuzzStack::kPeerIp.host());
    FUZZ_CHECK(skiff_setsockopt(ufd, IPPROTO_IP, IP_ADD_SOURCE_MEMBERSHIP, &ms, sizeof ms) == 0, "udp source join");
    rfd = skiff_socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK, IPPROTO_ICMP);
  }

  // Rebases a TCP segment's seq/ack on a tracked connection: seq += our RCV.NXT, ack += our SND.NXT.
  void rebase(Bytes& f) {
    if (f.size() < 14 + 20 || wire::load_be16(f.data() + 12) != 0x0800 || f[14 + 9] != 6) return;
    const size_t hl = size_t(f[14] & 0xf) * 4;
    if (hl < 20 || f.size() < 14 + hl + 20) return;
    uint8_t* t = f.data() + 14 + hl;
    auto it = tracks.find({wire::load_be16(t + 2), wire::load_be16(t)});
    if (it == tracks.end()) return;
    wire::store_be32(t + 4, wire::load_be32(t + 4) + it->second.our_ack);
    wire::store_be32(t + 8, wire::load_be32(t + 8) + it->second.our_nxt);
  }

  int sock_for(uint8_t which) {
    switch (which % 4) {
      case 0: return cfd;
      case 1: return afd;
      case 2: return extra.empty() ? cfd : extra.back();
      default: return extra.empty() ? afd : extra.front();
    }
  }

  void frame_op(Input& in) {
    const uint8_t f = in.u8();
    Bytes payload = in.bytes(in.u16() % 9000);
    Bytes frame;
    if (f & 0x04) {  // wrap in IPv4: proto, id, flags+offset, TTL
      const uint8_t proto = in.u8();
      const uint16_t id = in.u16();
      const uint16_t ff = in.u16();
      const uint8_t ttl = in.u8();
      Bytes opts;
      if (ttl & 0x80) opts = in.bytes(in.u8() % 41);
      payload = ipv4_packet(FuzzStack::kPeerIp, FuzzStack::kOurIp, proto, payload, id, ff, ttl, opts);
    }
    if (f & 0x06) {
      frame = eth_frame(FuzzStack::kOurMac, FuzzStack::kPeerMac, 0x0800, payload);
    } else {
      frame = std::move(payload);
    }
    if (f & 0x08) rebase(frame);
    if (f & 0x01) fix_checksums(frame);
    size_t split = 0;
    if (f & 0x10) split = in.u8() + 1u;
    uint64_t ol = 0;
    switch ((f >> 5) & 3) {
      case 1: ol = RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD; break;
      case 2: ol = RTE_MBUF_F_RX_IP_CKSUM_BAD; break;
      case 3: ol = RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_BAD; break;
      default: break;
    }
    if (f & 0x80) fs.dev().tx_room = static_cast<uint16_t>(in.u8() % 4);  // a full TX queue for a while
    fs.inject(frame, ol, split);
    fs.dev().tx_room = UINT16_MAX;
  }

  void app_op(Input& in) {
    static uint8_t buf[65536];
    const uint8_t a = in.u8();
    const int fd = sock_for(in.u8());
    switch (a % 16) {
      case 0:
      case 1: {
        const size_t n = size_t(in.u16()) % sizeof buf;
        skiff_send(fd, buf, n, MSG_DONTWAIT);
        break;
      }
      case 2:
      case 3:
        skiff_recv(fd, buf, size_t(in.u16()) % sizeof buf, MSG_DONTWAIT);
        break;
      case 4:
        skiff_shutdown(fd, in.u8() % 3);
        break;
      case 5:
        skiff_close(fd);
        if (fd == cfd) cfd = -1;
        if (fd == afd) afd = -1;
        std::erase(extra, fd);
        break;
      case 6: {
        const int n = skiff_accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK);
        if (n >= 0) extra.push_back(n);
        break;
      }
      case 7: {
        const int s = skiff_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (s < 0) break;
        const sockaddr_in pa = sin_of(FuzzStack::kPeerIp, in.u16());
        skiff_connect(s, reinterpret_cast<const sockaddr*>(&pa), sizeof pa);
        extra.push_back(s);
        break;
      }
      case 8: {
        const sockaddr_in to = sin_of(in.flag() ? FuzzStack::kPeerIp : Ipv4Addr::of(10, 0, 0, 255), in.u16());
        skiff_sendto(ufd, buf, size_t(in.u16()) % 9000, MSG_DONTWAIT, reinterpret_cast<const sockaddr*>(&to), sizeof to);
        break;
      }
      case 9: {
        // A read with UDP_GRO on or off (trains of queued datagrams gathered), into two iovecs, maybe a peek:
        // chosen by the opcode's high bits, so that inputs decode as before this read had them.
        const int gro = (a >> 4) & 1;
        skiff_setsockopt(ufd, IPPROTO_UDP, UDP_GRO, &gro, sizeof gro);
        static constexpr size_t kSizes[4] = {sizeof buf, 4000, 1500, 700};
        const size_t n = kSizes[(a >> 6) & 3], cut = n / 3;
        iovec iov[2] = {{buf, cut}, {buf + cut, n - cut}};
        msghdr m{};
        m.msg_iov = iov;
        m.msg_iovlen = 2;
        skiff_recvmsg(ufd, &m, MSG_DONTWAIT | ((a >> 5) & 1 ? MSG_PEEK : 0));
        break;
      }
      case 10:
        if (rfd >= 0) skiff_recv(rfd, buf, sizeof buf, MSG_DONTWAIT);
        break;
      case 11:
        icmp_send_echo(fs.shard(), FuzzStack::kPeerIp, in.u16(), in.u16(), buf, in.u16() % 3000);
        break;
      case 12: {
        const int v = in.u8() ? int(in.u16()) : 0;
        skiff_setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof v);
        break;
      }
      case 13: {
        const int v = in.flag();
        skiff_setsockopt(fd, IPPROTO_TCP, in.flag() ? TCP_NODELAY : TCP_CORK, &v, sizeof v);
        break;
      }
      case 14: {
        const int v = 1;
        skiff_setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &v, sizeof v);
        const int idle = 1 + in.u8();
        skiff_setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
        break;
      }
      default:
        skiff_close(lfd);
        lfd = -1;
        break;
    }
  }

  void run(Input& in) {
    for (size_t ops = 0; ops < kMaxOps && !in.empty(); ++ops) {
      const uint8_t op = in.u8();
      switch (op % 8) {
        case 0:
        case 1:
        case 2:
        case 3:
          frame_op(in);
          break;
        case 4: {
          const uint16_t v = in.u16();
          fs.advance(v & 0x8000 ? std::chrono::milliseconds(int64_t(v & 0x7fff) * 10) : std::chrono::milliseconds(v));
          break;
        }
        case 5:
        case 6:
          app_op(in);
          break;
        default:
          // Many small steps: timers fire at their own times rather than all at once.
          for (unsigned i = 0, n = in.u8() % 64; i < n; ++i) fs.advance(25ms);
          break;
      }
      observe();
    }
  }
};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  init_eal(*argc ? (*argv)[0] : nullptr);
  g_fs = new FuzzStack();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  World w{*g_fs};
  w.setup();
  Input in(data, size);
  w.run(in);
  g_fs->end();
  return 0;
}
