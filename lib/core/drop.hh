#pragma once
// Every dropped packet has a named reason, counted per shard (readable by tools and printed by apps).

#include <array>
#include <cstddef>
#include <cstdint>

namespace skiff {

// X(name, description). Append freely; names are stable identifiers for tools.
#define SKIFF_DROP_REASONS(X)                                                        \
  X(EthRunt, "frame shorter than an Ethernet header")                                \
  X(EthNotForUs, "destination MAC is neither ours, broadcast nor an IPv4 multicast group's") \
  X(EthUnknownType, "EtherType not handled (not IPv4 or ARP)")                       \
  X(EthSrcInvalid, "source MAC is multicast/broadcast or ours")                      \
  X(ArpTruncated, "ARP packet truncated")                                            \
  X(ArpBadHwType, "ARP hardware type is not Ethernet")                               \
  X(ArpBadProtoType, "ARP protocol type is not IPv4")                                \
  X(ArpBadHwLen, "ARP hardware address length is not 6")                             \
  X(ArpBadProtoLen, "ARP protocol address length is not 4")                          \
  X(ArpBadOp, "ARP operation is neither request nor reply")                          \
  X(ArpBadSender, "ARP sender address is invalid (zero MAC, multicast, broadcast IP)") \
  X(ArpNotForUs, "ARP target is not one of our addresses (entry not created)")       \
  X(ArpAddrConflict, "ARP from another host claiming our address")                   \
  X(ArpQueueFull, "packet awaiting ARP resolution: queue full")                      \
  X(ArpTableFull, "neighbour table full: no entry for a new destination")            \
  X(ArpResolveFailed, "ARP resolution timed out; queued packet discarded")           \
  X(Ipv4Truncated, "IPv4 header truncated")                                          \
  X(Ipv4BadVersion, "IP version is not 4")                                           \
  X(Ipv4BadHeaderLen, "IPv4 IHL < 5 or past the frame")                              \
  X(Ipv4BadTotalLen, "IPv4 total length < IHL or > frame")                           \
  X(Ipv4BadChecksum, "IPv4 header checksum wrong")                                   \
  X(Ipv4BadSrc, "IPv4 source is multicast, broadcast, loopback or ours")             \
  X(Ipv4NotForUs, "IPv4 destination is not ours (Skiff does not forward)")           \
  X(Ipv4BadOptions, "IPv4 options malformed (answered with a parameter problem)")    \
  X(Ipv4SourceRoute, "IPv4 source route (LSRR/SSRR): a host accepts none")           \
  X(Ipv4UnknownProto, "IP protocol not handled")                                     \
  X(Ipv4NoRoute, "no route to the destination")                                      \
  X(Ipv4FragNeeded, "datagram larger than the MTU with DF set")                      \
  X(LoopbackQueueFull, "datagram to ourselves: the loopback queue is full")          \
  X(FragOverlap, "fragment overlaps another: whole datagram discarded")              \
  X(FragDuplicate, "exact duplicate of a fragment already held")                     \
  X(FragTooBig, "fragment ends past 65535 bytes")                                    \
  X(FragBadLen, "non-last fragment payload not a multiple of 8 or empty")            \
  X(FragTooMany, "too many fragments for one datagram")                              \
  X(FragTimeout, "reassembly timed out")                                             \
  X(FragNoMemory, "reassembly memory limit reached: oldest datagram evicted")        \
  X(FragTableFull, "reassembly table full")                                          \
  X(FragInconsistent, "fragment disagrees with the datagram's known length")         \
  X(FragEcnMismatch, "fragments disagree on ECN capability (RFC 3168 §5.3)")          \
  X(IcmpTruncated, "ICMP message truncated")                                         \
  X(IcmpBadChecksum, "ICMP checksum wrong")                                          \
  X(IcmpBroadcastEcho, "echo request to a broadcast/multicast address ignored")      \
  X(IcmpToBroadcast, "ICMP error or reply to a broadcast address")                    \
  X(IcmpUnhandledType, "ICMP type not handled")                                      \
  X(IcmpErrorIgnored, "ICMP error code no transport acts on")                         \
  X(NoMbuf, "no packet buffer available")                                            \
  X(TxFull, "transmit queue full")                                                   \
  X(TxStalled, "frame the device refused for over a second (dropped to unblock the queue)") \
  X(UdpTruncated, "UDP header truncated")                                            \
  X(UdpBadLen, "UDP length disagrees with IP length")                                \
  X(UdpBadChecksum, "UDP checksum wrong")                                            \
  X(UdpNoSocket, "no UDP socket on the destination port")                            \
  X(UdpRcvbufFull, "UDP socket receive buffer full")                                 \
  X(RawRcvbufFull, "raw socket receive buffer full")                                 \
  X(SockErrQueueFull, "IP_RECVERR error not queued: receive buffer full")           \
  X(TcpTruncated, "TCP header truncated")                                            \
  X(TcpBadHeaderLen, "TCP data offset < 5 or past the segment")                      \
  X(TcpBadOption, "TCP option length invalid")                                       \
  X(TcpBadChecksum, "TCP checksum wrong")                                            \
  X(TcpNoSocket, "no TCP socket for the segment")                                    \
  X(TcpBadFlags, "TCP flag combination invalid")                                     \
  X(TcpBadUrgent, "TCP urgent pointer zero")                                         \
  X(TcpBroadcast, "TCP segment to a broadcast address")                              \
  X(TcpOutOfWindow, "TCP segment outside the receive window")                        \
  X(TcpRstNotExact, "TCP RST in the window but not at RCV.NXT (challenge ACK sent)") \
  X(TcpSynInWindow, "TCP SYN on a synchronized connection (challenge ACK sent)")     \
  X(TcpNoAck, "TCP segment without ACK on a synchronized connection")               \
  X(TcpBadAck, "TCP ACK not acceptable")                                             \
  X(TcpOooFull, "TCP out-of-order queue full")                                       \
  X(TcpDuplicate, "TCP segment data wholly duplicate")                               \
  X(TcpListenRst, "TCP RST to a listener")                                           \
  X(TcpTupleUnconfirmed, "TCP segment for a connect() whose 4-tuple its owner shard has not lent yet") \
  X(TcpAcceptQueueFull, "TCP SYN dropped: accept queue full")                        \
  X(TcpDeferAccept, "TCP bare ACK ending a handshake on a TCP_DEFER_ACCEPT listener: waits for data") \
  X(TcpSynQueueFull, "TCP SYN dropped: SYN queue full")                              \
  X(TcpNoMemory, "TCP SYN dropped: no memory for a connection")                      \
  X(TcpTimeWaitRst, "TCP RST ignored in TIME-WAIT (RFC 1337)")                      \
  X(TcpPaws, "TCP segment with an old timestamp (PAWS, RFC 7323)")                \
  X(SteerRingFull, "frame for another shard dropped: its inbox ring is full")      \
  X(IcmpErrorUnmatched, "ICMP error quoting too little, or no datagram or connection of ours") \
  X(Ipv4McNotJoined, "IPv4 multicast to a group no socket joined on that interface")   \
  X(Ipv4McSourceFiltered, "IPv4 multicast from a source the host's filters for that group exclude")   \
  X(IgmpTruncated, "IGMP message shorter than its type needs")                        \
  X(IgmpBadChecksum, "IGMP checksum wrong")                                          \
  X(IgmpBadQuery, "IGMP query of 9-11 bytes or for a non-multicast group")           \
  X(IgmpUnknownType, "IGMP type not handled")

enum class Drop : uint16_t {
#define SKIFF_X(name, desc) name,
  SKIFF_DROP_REASONS(SKIFF_X)
#undef SKIFF_X
      kCount
};

inline constexpr size_t kDropCount = static_cast<size_t>(Drop::kCount);

const char* drop_name(Drop d);
const char* drop_description(Drop d);

// Per-shard drop counters: plain integers, written only by the owning shard.
struct DropCounters {
  std::array<uint64_t, kDropCount> n{};
  void add(Drop d, uint64_t k = 1) { n[static_cast<size_t>(d)] += k; }
  uint64_t operator[](Drop d) const { return n[static_cast<size_t>(d)]; }
  uint64_t total() const;
};

}  // namespace skiff
