#pragma once
// Per-shard traffic counters (MIB-style), written only by the owning shard.

#include <cstdint>
#include <cstdio>

namespace skiff {

#define SKIFF_SHARD_STATS(X)                                          \
  X(polls, "poll iterations")                                         \
  X(rx_bursts, "receive bursts that brought frames")                  \
  X(rx_packets, "frames received")                                    \
  X(rx_bytes, "bytes received")                                       \
  X(tx_packets, "frames sent")                                        \
  X(tx_bytes, "bytes sent")                                           \
  X(arp_in_requests, "ARP requests received for us")                  \
  X(arp_in_replies, "ARP replies received")                           \
  X(arp_out_requests, "ARP requests sent")                            \
  X(arp_out_replies, "ARP replies sent")                              \
  X(arp_gratuitous, "gratuitous ARPs sent")                           \
  X(arp_resolved, "neighbours resolved")                              \
  X(arp_defended, "address defended against a conflicting ARP (RFC 5227)") \
  X(arp_mac_changes, "neighbour MAC changes accepted")                \
  X(arp_mac_change_ignored, "neighbour MAC changes ignored (locktime)") \
  X(ip_in_receives, "IPv4 datagrams received")                        \
  X(ip_in_delivers, "IPv4 datagrams delivered to a protocol")         \
  X(ip_out_requests, "IPv4 datagrams sent")                           \
  X(ip_reasm_reqds, "fragments received")                             \
  X(ip_reasm_oks, "datagrams reassembled")                            \
  X(ip_reasm_fails, "datagrams abandoned in reassembly")              \
  X(ip_frag_oks, "datagrams fragmented")                              \
  X(ip_frag_creates, "fragments created")                             \
  X(icmp_in_msgs, "ICMP messages received")                           \
  X(icmp_in_echos, "echo requests received")                          \
  X(icmp_in_echo_reps, "echo replies received")                       \
  X(icmp_in_errors, "ICMP error messages received")                   \
  X(icmp_out_msgs, "ICMP messages sent")                              \
  X(icmp_out_echo_reps, "echo replies sent")                          \
  X(icmp_out_echos, "echo requests sent")                             \
  X(icmp_out_errors, "ICMP errors sent")                              \
  X(icmp_err_ratelimited, "ICMP errors not sent: rate limit")         \
  X(icmp_err_suppressed, "ICMP errors not sent: about an error, broadcast or fragment") \
  X(udp_in_datagrams, "UDP datagrams delivered to sockets")           \
  X(udp_out_datagrams, "UDP datagrams sent")                          \
  X(udp_no_ports, "UDP datagrams for a port without a socket")       \
  X(raw_in_delivers, "datagrams copied to raw sockets")              \
  X(tcp_active_opens, "TCP active opens (connect)")                   \
  X(tcp_passive_opens, "TCP passive opens (SYN to a listener)")       \
  X(tcp_attempt_fails, "TCP connects refused or timed out")           \
  X(tcp_estab_resets, "TCP connections reset by the peer")            \
  X(tcp_curr_estab, "TCP connections now ESTABLISHED or CLOSE-WAIT")  \
  X(tcp_in_segs, "TCP segments received")                             \
  X(tcp_out_segs, "TCP segments sent")                                \
  X(tcp_out_tso, "TCP TSO frames sent (the device cuts each into segments)") \
  X(tcp_tx_backpressure, "TCP sends held back because the device's queue was full") \
  X(tcp_retrans_segs, "TCP segments retransmitted")                   \
  X(tcp_in_rsts, "TCP RSTs accepted")                                 \
  X(tcp_out_rsts, "TCP RSTs sent")                                    \
  X(tcp_no_port, "TCP segments for no connection or listener")        \
  X(tcp_rto_expired, "TCP retransmission timeouts")                   \
  X(tcp_rto_reverts, "TCP RTO backoffs taken back on ICMP unreachable (RFC 6069)") \
  X(tcp_fast_retrans, "TCP fast retransmits (3 duplicate ACKs)")      \
  X(tcp_partial_acks, "TCP NewReno partial ACKs")                     \
  X(tcp_hystart_train_detect, "TCP slow starts HyStart ended on an ACK train") \
  X(tcp_hystart_train_cwnd, "TCP segments of cwnd at those ends")     \
  X(tcp_hystart_delay_detect, "TCP slow starts HyStart ended on an RTT increase") \
  X(tcp_hystart_delay_cwnd, "TCP segments of cwnd at those ends")     \
  X(tcp_timeouts, "TCP connections aborted by timeout")               \
  X(tcp_window_probes, "TCP zero-window probes sent")                 \
  X(tcp_keepalive_probes, "TCP keepalive probes sent")                \
  X(tcp_challenge_acks, "TCP challenge ACKs sent (RFC 5961)")         \
  X(tcp_challenge_acks_limited, "TCP challenge ACKs not sent: rate limit") \
  X(tcp_ack_too_new, "TCP ACKs for data not yet sent")                \
  X(tcp_ack_too_old, "TCP ACKs below SND.UNA - MAX.SND.WND")          \
  X(tcp_ooo_segs, "TCP segments queued out of order")                 \
  X(tcp_dup_segs, "TCP segments wholly duplicate")                    \
  X(tcp_listen_overflows, "TCP SYNs dropped: accept queue full")      \
  X(tcp_listen_drops, "TCP SYNs dropped: SYN queue full")             \
  X(tcp_abort_on_close, "TCP connections reset on close with unread data") \
  X(tcp_tw_recycled, "TIME-WAIT ended early by a new SYN (RFC 1122)") \
  X(tcp_tw_rst_ignored, "RSTs ignored in TIME-WAIT (RFC 1337)")       \
  X(tcp_icmp_out_of_window, "ICMP errors quoting an unknown sequence number") \
  X(tcp_pmtu_lowered, "TCP path MTUs lowered by ICMP fragmentation needed (RFC 1191)") \
  X(tcp_pmtu_ignored, "ICMP fragmentation needed that would not lower a TCP path MTU") \
  X(tcp_pmtu_resegmented, "TCP segments cut to a lowered path MTU") \
  X(tcp_pmtu_raised, "TCP path MTUs grown back after what lowered them expired (RFC 1191 §6.3)") \
  X(tcp_ecn_negotiated, "TCP connections that negotiated ECN (RFC 3168)") \
  X(tcp_ecn_ce_rcvd, "TCP data segments received marked CE (congestion experienced)") \
  X(tcp_ecn_ece_rcvd, "TCP ACKs received with ECN-Echo") \
  X(tcp_ecn_reductions, "TCP window reductions on ECN-Echo (no loss)") \
  X(tcp_dsack_recv, "TCP D-SACK blocks received (RFC 2883)")          \
  X(tcp_sack_invalid, "TCP SACK blocks ignored as invalid")           \
  X(tcp_rack_lost, "TCP segments marked lost by RACK")                \
  X(tcp_sack_reneging, "TCP timeouts that found the peer had discarded data it SACKed (RFC 2018 §8)") \
  X(tcp_sack_recoveries, "TCP SACK/RACK recovery episodes")           \
  X(tcp_undo, "TCP window reductions undone as spurious (D-SACK)")    \
  X(tcp_tlp_probes, "TCP tail loss probes sent (RFC 8985)")           \
  X(tcp_tlp_recoveries, "TCP losses repaired by a tail loss probe (RFC 8985 §7.4)") \
  X(tcp_syncookies_sent, "TCP SYN cookies sent (SYN queue full)")     \
  X(tcp_syncookies_recv, "TCP connections created from a valid cookie") \
  X(tcp_syncookies_failed, "TCP cookie ACKs rejected (forged or stale)") \
  X(tcp_fastopen_passive, "TCP Fast Open connections accepted with their SYN's data (RFC 7413)") \
  X(tcp_fastopen_passive_fail, "TCP Fast Open SYNs with a wrong cookie (data ignored, cookie sent)") \
  X(tcp_fastopen_passive_altkey, "TCP Fast Open SYNs taken with a cookie of the backup key (new cookie sent)") \
  X(tcp_fastopen_cookie_reqd, "TCP Fast Open cookie requests received") \
  X(tcp_fastopen_listen_overflow, "TCP Fast Open SYNs over a listener's TCP_FASTOPEN limit (plain handshake)") \
  X(tcp_fastopen_active, "TCP Fast Open connects whose SYN's data the server acknowledged") \
  X(tcp_fastopen_active_fail, "TCP Fast Open SYN data the server did not acknowledge (sent again)") \
  X(tcp_fastopen_cookie_requests, "TCP Fast Open cookie requests sent") \
  X(tcp_rcvbuf_grown, "TCP receive buffers grown by autotuning") \
  X(steer_out, "frames handed to their owner shard")                \
  X(steer_in, "frames received from another shard")                 \
  X(steer_tx_out, "frames sent through another shard's TX queue")   \
  X(steer_fallback, "datagrams forwarded to the shard with their port bound") \
  X(rx_wrong_shard, "frames a multi-queue device delivered to a shard not owning them") \
  X(ctl_sent, "control messages sent to other shards")              \
  X(ctl_received, "control messages run for other shards")          \
  X(ctl_deferred, "control messages held while a peer's ring was full") \
  X(tcp_steered_opens, "TCP active opens whose port maps replies to this shard") \
  X(tcp_unsteered_opens, "TCP active opens the RSS map could not steer to this shard") \
  X(rx_condensed, "small datagrams copied out of large buffers before queueing on a socket") \
  X(rx_condense_short, "small datagrams queued in their large buffer: no small buffer was free") \
  X(tcp_tuples_lent, "4-tuples this shard owns by RSS lent to another shard's connect()") \
  X(tcp_tuples_refused, "another shard's connect() refused a 4-tuple in use here") \
  X(tcp_lent_forwards, "segments of a lent 4-tuple forwarded to the borrowing shard") \
  X(igmp_in_queries, "IGMP membership queries received")          \
  X(igmp_in_reports, "IGMP reports and leaves of other hosts received") \
  X(igmp_out_reports, "IGMP membership reports sent")             \
  X(igmp_out_leaves, "IGMPv2 leave messages sent")                \
  X(udp_mc_fanout, "UDP multicast/broadcast copies handed to other shards") \
  X(ip_mc_looped, "multicast and broadcast datagrams looped back to the host's own sockets")    \
  X(ip_local_looped, "datagrams sent to one of the host's own addresses, taken in locally")

struct ShardStats {
#define SKIFF_X(name, desc) uint64_t name = 0;
  SKIFF_SHARD_STATS(SKIFF_X)
#undef SKIFF_X
};

struct DropCounters;
// Prints non-zero counters, one per line, prefixed by `prefix`.
void print_counters(FILE* out, const char* prefix, const ShardStats& s, const DropCounters& d);

}  // namespace skiff
