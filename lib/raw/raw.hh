#pragma once
// Raw IPv4 sockets (SOCK_RAW): every datagram of the socket's protocol is copied to it, IP header
// included; sends get an IP header built for them unless IP_HDRINCL.

#include <vector>

#include "mem/pktbuf.hh"
#include "sock/proto.hh"
#include "sock/sock.hh"

namespace skiff {

class Shard;
struct Ipv4Rx;

struct RawSock {
  InetSock inet;
  uint32_t icmp_filter = 0;  // ICMP_FILTER: bit n set = drop ICMP type n
  McList mc;               // multicast groups joined (ipv4/igmp.hh)
};

class RawTable {
 public:
  void add(InetSock* s) { socks_.push_back(s); }
  void remove(InetSock* s) {
    for (auto& p : socks_)
      if (p == s) {
        p = socks_.back();
        socks_.pop_back();
        return;
      }
  }
  bool empty() const { return socks_.empty(); }
  const std::vector<InetSock*>& socks() const { return socks_; }

 private:
  std::vector<InetSock*> socks_;
};

extern const Proto raw_prot;

// Gives each matching raw socket a copy of the datagram (`p` has data at L4, the IP header before it).
void raw_input(Shard& sh, const Pktbuf& p, const Ipv4Rx& rx);
// An ICMP error (`icmp`: the message, data at its ICMP header; `rx` its IP header) about a datagram we sent,
// whose IP header and first bytes are `quote`: told to the raw sockets of the quoted protocol and addresses,
// as Linux's raw_icmp_error/raw_err (with IP_RECVERR queued, the quoted datagram as payload; a connected
// socket without it gets hard errors in SO_ERROR).
void raw_icmp_error(Shard& sh, const Ipv4Rx& rx, const Pktbuf& icmp, uint8_t type, uint8_t code, uint32_t info,
                    const uint8_t* quote, size_t len);

}  // namespace skiff
