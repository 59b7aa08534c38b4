#pragma once
// Helpers shared by the source-filter tests (test_mc_filter.cc, test_igmp_ssm.cc): frames to a group, IGMP
// queries with sources, IGMPv3 reports read off the wire with their group records' sources, and the
// struct ip_mreq_source / group_source_req / ip_msfilter / group_filter builders.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <ostream>
#include <string>
#include <vector>

#include "../sock/sock_test_util.hh"
#include "api/skiff.h"
#include "stack_harness.hh"
#include "wire/checksum.hh"
#include "wire/endian.hh"
#include "wire/igmp.hh"

namespace skiff::wire {
// (gtest prints addresses dotted.)
inline void PrintTo(const Ipv4Addr& a, std::ostream* os) {
  *os << a.to_string();
}
}  // namespace skiff::wire

namespace skiff::test::mc {

using sock::kOur;
using sock::kPeer;
namespace ig = skiff::wire::igmp;

inline const Ipv4Addr kG1 = Ipv4Addr::of(239, 1, 2, 3);
inline const Ipv4Addr kG2 = Ipv4Addr::of(239, 4, 5, 6);
inline const Ipv4Addr kG3 = Ipv4Addr::of(232, 7, 8, 9);  // the SSM range (RFC 4607)
// Sources off the link (TEST-NET-1), so none is a martian or one of ours.
inline const Ipv4Addr kS1 = Ipv4Addr::of(192, 0, 2, 1);
inline const Ipv4Addr kS2 = Ipv4Addr::of(192, 0, 2, 2);
inline const Ipv4Addr kS3 = Ipv4Addr::of(192, 0, 2, 3);
inline const Ipv4Addr kNoIf = Ipv4Addr::of(10, 9, 9, 9);  // no interface has it
inline const Ipv4Addr kUnicast = Ipv4Addr::of(10, 1, 2, 3);

// 0, or the errno of a failed socket call.
inline int err(int rc) {
  return rc == 0 ? 0 : errno;
}

// A frame from `src` (through the peer's MAC) to a group's Ethernet address.
inline Bytes to_group(Ipv4Addr g, uint8_t proto, const Bytes& payload, Ipv4Addr src = kPeer,
                      Bytes options = {}) {
  return eth(
      ig::group_mac(g), StackHarness::kPeerMac, 0x0800,
      ipv4(Ipv4Spec{.src = src, .dst = g, .proto = proto, .ttl = 1, .options = std::move(options)}, payload));
}
// A UDP datagram from `src`:4000 to `g`:port.
inline Bytes udp_to_group(Ipv4Addr g, uint16_t port, Ipv4Addr src, const Bytes& payload) {
  return to_group(g, 17, udp(src, g, 4000, port, payload), src);
}

inline Bytes with_checksum(Bytes m) {
  m[2] = m[3] = 0;
  const uint16_t c = wire::inet_checksum(m.data(), m.size());
  memcpy(m.data() + 2, &c, 2);
  return m;
}

// IGMPv3 query (RFC 3376 §4.1): Max Resp Code, group, QRV, the sources; `nsrc` overrides the Number of
// Sources field (a malformed query).
inline Bytes v3_query(uint8_t max_resp, Ipv4Addr group = Ipv4Addr::any(), std::vector<Ipv4Addr> srcs = {},
                      int nsrc = -1, uint8_t qrv = 2) {
  Bytes m(12 + 4 * srcs.size(), 0);
  m[0] = ig::kQuery;
  m[1] = max_resp;
  wire::store_be32(m.data() + 4, group.host());
  m[8] = qrv;
  m[9] = 125;
  wire::store_be16(m.data() + 10, static_cast<uint16_t>(nsrc >= 0 ? nsrc : static_cast<int>(srcs.size())));
  for (size_t i = 0; i < srcs.size(); ++i) wire::store_be32(m.data() + 12 + 4 * i, srcs[i].host());
  return with_checksum(m);
}
// A query as a router sends it: to all-systems (general) or to the group, with Router Alert.
inline Bytes query_frame(const Bytes& q, Ipv4Addr group = Ipv4Addr::any()) {
  return to_group(group.is_any() ? ig::kAllSystems : group, ig::kProto, q, kPeer, {0x94, 0x04, 0, 0});
}
// IGMPv1 (code 0) / v2 query, or a v1/v2 report or leave: 8 bytes.
inline Bytes igmp8(uint8_t type, uint8_t code, Ipv4Addr group) {
  Bytes m(8, 0);
  m[0] = type;
  m[1] = code;
  wire::store_be32(m.data() + 4, group.host());
  return with_checksum(m);
}

// One group record of an IGMPv3 report (v1/v2 reports and leaves: the message type, the group, no sources).
struct Record {
  uint8_t type = 0;
  Ipv4Addr group;
  std::vector<Ipv4Addr> srcs;
  bool operator==(const Record&) const = default;
};
inline void PrintTo(const Record& r, std::ostream* os) {
  static const char* const kNames[] = {"?", "IS_IN", "IS_EX", "TO_IN", "TO_EX", "ALLOW", "BLOCK"};
  *os << (r.type < 7 ? kNames[r.type] : "type") << "(" << int{r.type} << ") " << r.group.to_string() << " {";
  for (size_t i = 0; i < r.srcs.size(); ++i) *os << (i ? ", " : "") << r.srcs[i].to_string();
  *os << "}";
}
using Records = std::vector<Record>;

struct Report {
  SentIp ip;
  uint8_t type = 0;
  Records records;
};

// The IGMP messages among frames sent, each checked for what every IGMP message must carry.
inline std::vector<Report> igmp_sent(StackHarness& h) {
  std::vector<Report> out;
  for (const Bytes& f : h.sent()) {
    auto ip = parse_ip(f);
    if (!ip || ip->proto != ig::kProto) continue;
    Report r{*ip};
    EXPECT_TRUE(ip->checksum_ok);
    EXPECT_EQ(ip->ttl, 1);
    EXPECT_EQ(ip->tos, 0xc0);
    EXPECT_EQ(ip->ihl, 24u);  // Router Alert
    EXPECT_EQ(ip->src, kOur);
    EXPECT_EQ(ip->eth_dst, ig::group_mac(ip->dst));
    EXPECT_TRUE(wire::csum_ok(wire::csum_partial(ip->payload.data(), ip->payload.size())));
    const Bytes& m = ip->payload;
    if (m.size() < 8) {
      ADD_FAILURE() << "IGMP message of " << m.size() << " bytes";
      continue;
    }
    r.type = m[0];
    if (r.type == ig::kV3Report) {
      EXPECT_EQ(ip->dst, ig::kV3Routers);
      const size_t n = wire::load_be16(m.data() + 6);
      size_t off = 8;
      for (size_t i = 0; i < n; ++i) {
        if (off + 8 > m.size()) {
          ADD_FAILURE() << "record " << i << " of " << n << " past the message's end";
          break;
        }
        const uint8_t* rec = m.data() + off;
        EXPECT_EQ(rec[1], 0);  // aux data
        const size_t ns = wire::load_be16(rec + 2);
        Record x{rec[0], Ipv4Addr(wire::load_be32(rec + 4)), {}};
        if (off + 8 + 4 * ns > m.size()) {
          ADD_FAILURE() << "record " << i << "'s " << ns << " sources past the message's end";
          break;
        }
        for (size_t k = 0; k < ns; ++k) x.srcs.emplace_back(wire::load_be32(rec + 8 + 4 * k));
        r.records.push_back(std::move(x));
        off += 8 + 4 * ns;
      }
      EXPECT_EQ(off, m.size());  // nothing after the last record
    } else {
      r.records.push_back(Record{r.type, Ipv4Addr(wire::load_be32(m.data() + 4)), {}});
    }
    out.push_back(std::move(r));
  }
  return out;
}

// Every record of `rs`, ordered by group, then type (each record's sources sorted).
inline Records records(const std::vector<Report>& rs) {
  Records all;
  for (const auto& r : rs) all.insert(all.end(), r.records.begin(), r.records.end());
  for (auto& x : all) std::sort(x.srcs.begin(), x.srcs.end());
  std::stable_sort(all.begin(), all.end(), [](const Record& a, const Record& b) {
    return a.group != b.group ? a.group < b.group : a.type < b.type;
  });
  return all;
}
// The records sent since the last look.
inline Records sent_records(StackHarness& h) {
  return records(igmp_sent(h));
}

// Lets `d` pass in housekeeping-sized steps (each step runs the IGMP timers once).
inline void run_for(StackHarness& h, Duration d) {
  for (Duration t{}; t < d; t += std::chrono::milliseconds(100)) h.advance(std::chrono::milliseconds(100));
}

// Whether the device's multicast filter holds `g`'s Ethernet address.
inline bool filter_has(StackHarness& h, Ipv4Addr g) {
  const auto& f = h.dev().mc_addrs;
  return std::find(f.begin(), f.end(), ig::group_mac(g)) != f.end();
}

// A non-blocking receive: the payload (and the sender) or nothing (-1).
inline ssize_t recv_dgram(int fd, Bytes* got = nullptr, sockaddr_in* from = nullptr) {
  uint8_t buf[2048];
  sockaddr_in f{};
  socklen_t fl = sizeof f;
  const ssize_t n = skiff_recvfrom(fd, buf, sizeof buf, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&f), &fl);
  if (n >= 0 && got) got->assign(buf, buf + n);
  if (from) *from = f;
  return n;
}

// struct ip_mreq_source: the interface by its address (ours unless told).
inline ip_mreq_source mreq_source(Ipv4Addr g, Ipv4Addr s, Ipv4Addr ifaddr = kOur) {
  ip_mreq_source m{};
  m.imr_multiaddr.s_addr = htonl(g.host());
  m.imr_interface.s_addr = htonl(ifaddr.host());
  m.imr_sourceaddr.s_addr = htonl(s.host());
  return m;
}
// setsockopt(IPPROTO_IP, opt) with a struct ip_mreq_source: 0 or the errno.
inline int ip_source(int fd, int opt, Ipv4Addr g, Ipv4Addr s, Ipv4Addr ifaddr = kOur) {
  const ip_mreq_source m = mreq_source(g, s, ifaddr);
  return err(skiff_setsockopt(fd, IPPROTO_IP, opt, &m, sizeof m));
}
// IP_ADD_MEMBERSHIP / IP_DROP_MEMBERSHIP on our interface (by address): 0 or the errno.
inline int ip_member(int fd, int opt, Ipv4Addr g) {
  ip_mreqn m{};
  m.imr_multiaddr.s_addr = htonl(g.host());
  m.imr_address.s_addr = htonl(kOur.host());
  return err(skiff_setsockopt(fd, IPPROTO_IP, opt, &m, sizeof m));
}

inline sockaddr_storage ss_of(Ipv4Addr a, sa_family_t family = AF_INET) {
  sockaddr_storage ss{};
  sockaddr_in s = sock::sin(a, 0);
  s.sin_family = family;
  memcpy(&ss, &s, sizeof s);
  return ss;
}
// struct group_source_req: the interface by index (1: our first port).
inline group_source_req gsr(Ipv4Addr g, Ipv4Addr s, uint32_t ifindex = 1) {
  group_source_req r{};
  r.gsr_interface = ifindex;
  r.gsr_group = ss_of(g);
  r.gsr_source = ss_of(s);
  return r;
}
inline int mcast_source(int fd, int opt, const group_source_req& r,
                        socklen_t len = sizeof(group_source_req)) {
  return err(skiff_setsockopt(fd, IPPROTO_IP, opt, &r, len));
}
inline int mcast_group(int fd, int opt, Ipv4Addr g, uint32_t ifindex = 1) {
  group_req r{};
  r.gr_interface = ifindex;
  r.gr_group = ss_of(g);
  return err(skiff_setsockopt(fd, IPPROTO_IP, opt, &r, sizeof r));
}

// struct ip_msfilter with `srcs`, room for max(`room`, |srcs|) sources; `numsrc` overrides imsf_numsrc.
constexpr socklen_t kMsfSize0 = 16;  // IP_MSFILTER_SIZE(0)
inline std::vector<uint32_t> msfilter(Ipv4Addr g, uint32_t fmode, const std::vector<Ipv4Addr>& srcs,
                                      Ipv4Addr ifaddr = kOur, int numsrc = -1, size_t room = 0) {
  std::vector<uint32_t> w(4 + std::max(room, srcs.size()), 0);
  w[0] = htonl(g.host());
  w[1] = htonl(ifaddr.host());
  w[2] = fmode;
  w[3] = numsrc >= 0 ? static_cast<uint32_t>(numsrc) : static_cast<uint32_t>(srcs.size());
  for (size_t i = 0; i < srcs.size(); ++i) w[4 + i] = htonl(srcs[i].host());
  return w;
}
inline int set_msfilter(int fd, const std::vector<uint32_t>& w, socklen_t len = 0) {
  return err(skiff_setsockopt(fd, IPPROTO_IP, IP_MSFILTER, w.data(),
                              len ? len : static_cast<socklen_t>(4 * w.size())));
}
inline int set_msfilter(int fd, Ipv4Addr g, uint32_t fmode, const std::vector<Ipv4Addr>& srcs) {
  return set_msfilter(fd, msfilter(g, fmode, srcs));
}

// A filter as getsockopt reads it back.
struct Filter {
  int rc = -1;                 // 0 or the errno
  uint32_t fmode = 99;         // MCAST_INCLUDE / MCAST_EXCLUDE
  uint32_t numsrc = 99;        // sources in all
  socklen_t optlen = 0;        // what came back
  std::vector<Ipv4Addr> srcs;  // those copied
};
// getsockopt(IP_MSFILTER) asking for `room` sources (imsf_numsrc) with a buffer of `len` bytes (0: just
// enough for `room`).
inline Filter get_msfilter(int fd, Ipv4Addr g, uint32_t room = 10, socklen_t len = 0,
                           Ipv4Addr ifaddr = kOur) {
  std::vector<uint32_t> w(std::max<size_t>(4 + std::max<uint32_t>(room, 1), (len + 3) / 4), 0xdeadbeef);
  w[0] = htonl(g.host());
  w[1] = htonl(ifaddr.host());
  w[2] = 77;
  w[3] = room;
  Filter f;
  f.optlen = len ? len : static_cast<socklen_t>(kMsfSize0 + 4 * room);
  f.rc = err(skiff_getsockopt(fd, IPPROTO_IP, IP_MSFILTER, w.data(), &f.optlen));
  if (f.rc) return f;
  f.fmode = w[2];
  f.numsrc = w[3];
  for (socklen_t i = 0; kMsfSize0 + 4 * i < f.optlen; ++i) f.srcs.emplace_back(ntohl(w[4 + i]));
  return f;
}

// struct group_filter (GROUP_FILTER_SIZE(n) = 144 + 128 n bytes), as bytes.
constexpr socklen_t kGfSize0 = offsetof(group_filter, gf_slist);
static_assert(kGfSize0 == 144);
inline Bytes group_filter_of(Ipv4Addr g, uint32_t ifindex, uint32_t fmode, const std::vector<Ipv4Addr>& srcs,
                             size_t room = 0, sa_family_t gfamily = AF_INET) {
  const size_t n = std::max(room, srcs.size());
  Bytes b(kGfSize0 + sizeof(sockaddr_storage) * std::max<size_t>(n, 1), 0);
  group_filter h{};
  h.gf_interface = ifindex;
  h.gf_group = ss_of(g, gfamily);
  h.gf_fmode = fmode;
  h.gf_numsrc = static_cast<uint32_t>(srcs.size());
  memcpy(b.data(), &h, kGfSize0);
  for (size_t i = 0; i < srcs.size(); ++i) {
    const sockaddr_storage ss = ss_of(srcs[i]);
    memcpy(b.data() + kGfSize0 + sizeof ss * i, &ss, sizeof ss);
  }
  return b;
}
inline void set_gf_numsrc(Bytes& b, uint32_t n) {
  memcpy(b.data() + offsetof(group_filter, gf_numsrc), &n, 4);
}

}  // namespace skiff::test::mc
