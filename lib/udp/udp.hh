#pragma once
// UDP (RFC 768, RFC 1122 §4.1) and its transport table, udp_prot.

#include <memory>
#include <vector>

#include "mem/pktbuf.hh"
#include "sock/proto.hh"
#include "sock/sock.hh"

namespace skiff {

class Shard;
struct Ipv4Rx;

struct UdpCork;

struct UdpSock {
  InetSock inet;
  uint64_t drops = 0;  // datagrams dropped because the receive buffer was full
  uint16_t gso_size = 0;  // UDP_SEGMENT: sends leave as datagrams of this size (0: off)
  bool corkflag = false;  // UDP_CORK: sends gather into one datagram until it is turned off
  bool cork_pending = false;  // a gathered datagram waits in `cork`
  bool gro = false;           // UDP_GRO: recvmsg() may return a train of equal datagrams, with their size
  McList mc;               // multicast groups joined (ipv4/igmp.hh)
  std::unique_ptr<UdpCork> cork;  // the datagram being gathered (UDP_CORK, MSG_MORE); made on first use
};

// The shard's UDP sockets, by local port.
class UdpTable {
 public:
  UdpTable() : ports_(65536, nullptr) {}
  InetSock*& bucket(uint16_t port) { return ports_[port]; }
  size_t bound() const { return bound_; }
  void add(InetSock* s);
  void remove(InetSock* s);

 private:
  std::vector<InetSock*> ports_;
  size_t bound_ = 0;
};

extern const Proto udp_prot;

// Receives a datagram (data at the UDP header).
void udp_input(Shard& sh, Pktbuf p, const Ipv4Rx& rx);
// An ICMP error quoting a datagram we sent: `quote` starts at the quoted IP header.
void udp_err(Shard& sh, const Ipv4Rx& rx, const Pktbuf& icmp, uint8_t type, uint8_t code, uint32_t info,
             const uint8_t* quote, size_t len);
// Zero-copy receive: hands over the next datagram (data at its payload, contiguous) and its source;
// -EMSGSIZE (the datagram stays queued) if it does not fit in one buffer.
int udp_recv_zc(Sock* sk, Pktbuf* out, sockaddr_in* from);

}  // namespace skiff
