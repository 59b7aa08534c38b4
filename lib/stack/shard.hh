#pragma once
// A Shard is one lcore's share of the stack: its RX/TX queues on every port, its neighbour tables, its
// reassembly state, timers, counters and (later) sockets. Nothing in it is touched by another core.
//
// One poll iteration: read the clock, burst-receive on every port and run each packet to completion,
// advance the timer wheel, then flush the per-port TX batches (one tx_burst per port per iteration).

#include <rte_mbuf.h>

struct rte_ring;

#include <array>
#include <optional>
#include <functional>
#include <memory>
#include <vector>

#include "base/clock.hh"
#include "base/random.hh"
#include "core/config.hh"
#include "core/drop.hh"
#include "core/timer_wheel.hh"
#include "core/token_bucket.hh"
#include "ipv4/igmp.hh"
#include "ipv4/pmtu.hh"
#include "ipv4/reass.hh"
#include "raw/raw.hh"
#include "sock/sock_layer.hh"
#include "tcp/tcp_table.hh"
#include "udp/udp.hh"
#include "mem/pktbuf.hh"
#include "mem/pktpool.hh"
#include "netif/iface.hh"
#include "netif/neigh.hh"
#include "netif/route.hh"
#include "stack/stats.hh"
#include "stack/steer.hh"
#include "wire/icmp.hh"

namespace skiff {

inline constexpr uint16_t kBurst = 32;
inline constexpr uint16_t kTxBatch = 64;
// Small frames (requests, responses, ACKs) leave in groups of kTxSmallFlush rather than waiting for the end
// of the poll iteration: a server answering 16 connections in one iteration otherwise holds the first answer
// until the 16th is written, and the two ends take turns instead of working at once (skiff-perf --rr -P 16
// over memif: 1.10 -> 2.03 M transactions/s). Full-size frames still go out once per iteration (bulk: one
// flush per 64 frames is worth ~7 % over one per 8).
inline constexpr uint32_t kTxSmallFrame = 256;  // bytes
inline constexpr uint16_t kTxSmallFlush = 8;
// A device that takes no frame of a waiting batch for this long loses the first one (Drop::TxStalled).
inline constexpr Duration kTxStallLimit = std::chrono::seconds(1);

// One port as seen by one shard: its queues, TX batch and neighbour table.
struct ShardPort {
  ShardPort(Iface* i, uint16_t rq, uint16_t tq, const NeighConfig& nc) : ifc(i), rxq(rq), txq(tq), neigh(nc) {}
  Iface* ifc;
  uint16_t rxq, txq;
  bool poll_rx = true;  // this shard has an RX queue on the port (else another shard receives for it)
  int tx_via = -1;      // -1: own TX queue; else the shard whose queue transmits our frames
  NeighTable neigh;
  std::array<rte_mbuf*, kTxBatch> tx{};
  uint16_t tx_len = 0;
  uint16_t tx_small = 0;  // frames of the batch under kTxSmallFrame bytes
  std::optional<Instant> tx_stalled_since;  // the device has taken none of the waiting batch since then
  Instant last_defend{};  // last time we defended our address against a conflicting ARP (RFC 5227)
  bool defended = false;
};

// What IPv4 input learned about a datagram, passed up with its payload.
struct Ipv4Rx {
  wire::Ipv4Addr src, dst;
  uint8_t proto = 0, tos = 0, ttl = 0;
  uint16_t hdr_len = 0;     // IP header length (bytes before the payload in the buffer)
  bool link_bcast = false;  // arrived as a link-layer broadcast/multicast
  bool ip_bcast = false;    // destination is a broadcast or multicast address
  ShardPort* port = nullptr;
};

// Parameters for sending an IPv4 datagram.
struct Ipv4Tx {
  wire::Ipv4Addr src;       // any = the route's source
  wire::Ipv4Addr dst;
  uint8_t proto = 0;
  uint8_t ttl = 0;          // 0 = default
  uint8_t tos = 0;
  bool df = false;
  uint16_t mtu = 0;         // fragment to this size where it is below the interface's (a path MTU); 0: the interface's
  const RouteResult* route = nullptr;  // the route to take (IP_PKTINFO chose it); null: look it up
  // A connected socket's IP ID counter (InetSock::ip_ident): its DF datagrams number from it. DF without one
  // is ID 0; without DF the ID comes from Shard::ip_ident_hashed (Linux's ip_select_ident_segs).
  uint16_t* ident = nullptr;
  // To a multicast group (Linux's ip_mc_output): IP_MULTICAST_LOOP: a copy goes to the host's own members of
  // the group; IP_MULTICAST_TTL 0 (`ttl` then means the default): to them only, nothing on the wire.
  bool mc_loop = false;
  bool mc_local = false;
};

// Called for every echo reply received (used by ping clients until raw sockets exist); `p` holds the
// whole ICMP message (data at the ICMP header, possibly several segments).
using EchoReplyHook = std::function<void(const Ipv4Rx&, const Pktbuf& p, Instant now)>;

class Shard {
 public:
  using Msg = std::function<void(Shard&)>;

  Shard(unsigned id, const StackConfig& cfg, Clock& clock, PktPool& pool, std::vector<Iface*> ifaces,
        const RouteTable& routes, uint16_t queue, const std::string& stack_name = "skiff");
  ~Shard();
  Shard(const Shard&) = delete;
  Shard& operator=(const Shard&) = delete;

  // Sends a gratuitous ARP on every port (RFC 5227 announcement) and starts housekeeping.
  void start();
  // One run-to-completion iteration; returns the work done (packets received, from the device or other
  // shards, and messages run).
  unsigned poll_once();
  // Processes a burst as if received on `sp` (the harness entry point); takes the buffers.
  void input(ShardPort& sp, rte_mbuf** pkts, uint16_t n);
  // Runs due timers at `now` (poll_once does this).
  void run_timers();
  // Delivers this iteration's socket readiness changes to epoll sets and callbacks (poll_once does this).
  unsigned dispatch_events() { return socks.dispatch(); }
  // Hands every TX batch to its device.
  void flush();
  // A datagram the host sends to one of its own addresses (Linux's RTN_LOCAL route through `lo`), data at
  // its IP header: taken in by IPv4 input at the next poll iteration (drain_loopback), as the loopback
  // device's netif_rx defers it, never inside the call that sent it (a TCP segment to ourselves would
  // otherwise run the receiving socket's input inside the sender's). With several shards it goes to its
  // flow's owner. At most kLoopQueue wait; more are dropped (LoopbackQueueFull).
  void loop_enqueue(ShardPort& sp, Pktbuf p);
  // Takes in what loop_enqueue queued, and what that sends to ourselves in turn, up to a few rounds (the
  // rest waits for the next iteration); returns the datagrams taken.
  unsigned drain_loopback();
  static constexpr size_t kLoopQueue = 1024;

  // What a blocking socket call runs while it waits: one poll iteration (or the pump hook, which tests
  // and single-threaded embeddings set to poll several stacks).
  void pump() {
    if (pump_hook) {
      pump_hook();
    } else {
      poll_once();
    }
  }
  std::function<void()> pump_hook;

  // Queues a finished frame for transmission on `sp` (sent at the next flush, or now if the batch is full).
  void transmit(ShardPort& sp, Pktbuf p);
  // False when `sp`'s batch is full and the device takes none of it now: a frame queued now would be
  // dropped (TxFull). TCP stops sending there and resumes on the next ACK (backpressure, not loss).
  bool tx_room(ShardPort& sp) {
    if (sp.tx_len < kTxBatch) return true;
    flush_port(sp);
    return sp.tx_len < kTxBatch;
  }
  // Counts a drop; the buffer is freed when `p` goes out of scope.
  void drop(Pktbuf p, Drop why) {
    drops.add(why);
    p.reset();
  }

  Instant now() const { return now_; }
  // now() in whole milliseconds (TCP's timestamp clock), computed once per clock read rather than with a
  // division per segment.
  uint64_t now_ms() const { return now_ms_; }
  // Re-reads the clock (poll_once does this at the start of every iteration).
  void update_clock() {
    now_ = clock_.now();
    now_ms_ = static_cast<uint64_t>(now_.ns()) / 1'000'000;
  }
  Pktbuf alloc_pkt();
  ShardPort* port_for(unsigned iface_index) {
    return iface_index < ports_.size() ? ports_[iface_index].get() : nullptr;
  }
  std::vector<std::unique_ptr<ShardPort>>& ports() { return ports_; }
  // The host itself (Linux's local table, looked up before any route): one of the interfaces' addresses,
  // or the loopback net 127.0.0.0/8.
  bool is_local_addr(wire::Ipv4Addr a) const {
    if (a.is_loopback()) return true;
    for (const auto& sp : ports_)
      if (sp->ifc->is_our_addr(a)) return true;
    return false;
  }
  // Room in the loopback queue (loop_enqueue): TCP's backpressure for a connection to ourselves.
  bool loop_room() const { return loop_q_.size() < kLoopQueue; }
  // The IP ID of a datagram that may be fragmented (no DF), as Linux's ip_idents_reserve (RFC 7739 §5.2): a
  // counter per bucket of {source, destination, protocol} under a secret hash, moved on by a random amount for
  // the time it sat unused, so what one peer sees of the IDs tells it nothing of our traffic to others (no idle
  // scan, no counting what else we send). Reserves `segs` consecutive IDs (a TSO frame's) and returns the first.
  uint16_t ip_ident_hashed(wire::Ipv4Addr src, wire::Ipv4Addr dst, uint8_t proto, uint16_t segs);
  size_t ip_ident_bucket(wire::Ipv4Addr src, wire::Ipv4Addr dst, uint8_t proto) const;

  // ---- Several shards (stack/steer.hh). Set up by Stack::build_shards; nshards == 1 skips all of it. ----
  // Runs `fn` on shard `target` in its next poll iteration. Any thread may call it; messages from one
  // sender arrive in order. False if the target's control ring is full.
  bool post(unsigned target, Msg fn);
  // From this shard's own thread: never lost (held and retried while the target's ring is full).
  void send(unsigned target, Msg fn);
  void send_others(const Msg& fn);
  // Hands a buffer to shard `target` (PktMeta::steer_* describe it); false if dropped (SteerRingFull).
  bool steer_to(unsigned target, Pktbuf p, SteerKind kind, unsigned iface, uint8_t flags = 0);
  // Tells the other shards that this one has (or no longer has) `port` bound explicitly / a raw socket.
  void announce_port(PortDirectory::Proto proto, uint16_t port, bool on);
  void announce_raw(uint8_t proto, bool on);
  // Whether bind(port 0) / autobind on this shard may take ephemeral `port`: with several shards, only
  // ports of its own residue class (port % shards == id; the shards' port tables are their own, so two
  // shards never pick the same port and a host-wide 4-tuple stays unique) that no other shard holds.
  bool ephemeral_ours(PortDirectory::Proto proto, uint16_t port) const {
    return nshards == 1 || (port % nshards == id && !dir.others(proto, port));
  }
  void attach(std::vector<Shard*> peers, rte_ring* inbox, rte_ring* ctl, const RssHash* hash, const RssMap& map);
  // Stops all messaging to and from peers (teardown); pending inbox buffers and messages are freed.
  void detach();
  Shard* peer(unsigned i) const { return i < peers_.size() ? peers_[i] : nullptr; }
  // The shard owning a flow (from our end: local address/port, remote address/port).
  unsigned flow_owner(wire::Ipv4Addr laddr, uint16_t lport, wire::Ipv4Addr raddr, uint16_t rport) const {
    return nshards == 1 ? 0 : rss_map.owner(rss_hash->flow(raddr, laddr, rport, lport));
  }

  const unsigned id;
  unsigned nshards = 1;
  uint64_t cookie_seq = 0;  // SO_COOKIE: sockets given one on this shard (cookie = seq << 6 | id)
  const RssHash* rss_hash = nullptr;
  RssMap rss_map;
  PortDirectory dir;
  bool fallback_pass = false;  // processing a datagram another shard forwarded by the directory
  bool loopback_pass = false;  // processing a datagram we sent ourselves (IP_MULTICAST_LOOP, to our address)
  const StackConfig& cfg;
  RouteTable routes;
  TimerWheel timers;
  DropCounters drops;
  ShardStats stats;
  Rng rng;
  Reassembler reass;
  PmtuCache pmtu;  // path MTUs learned from ICMP (RFC 1191)
  McTable mc;      // multicast groups joined (ipv4/igmp.hh)
  TokenBucket icmp_errors;
  PeerRateLimit icmp_peers;  // ICMP errors per destination
  EchoReplyHook on_echo_reply;
  PktPool& pool;
  PktPool* small_pool = nullptr;  // small buffers, where `pool`'s are large (Stack::make_pools)
  // A datagram about to wait in a socket's receive queue, which charges it at its buffer's size: one
  // small enough for a small buffer, in a buffer several times larger, is copied into a small one (as
  // Linux's skb_condense / a driver's copybreak) so a jumbo-sized or af_packet-framesz buffer does not
  // fill a socket's receive buffer with a few bytes each. Otherwise (or with no small buffer left) as is.
  Pktbuf condense(Pktbuf p);
  // A copy of [off, end) of `m` for a socket queue: into a small buffer where it fits one (as condense),
  // else (or with none free) into the shard's pool; empty if neither has a buffer.
  Pktbuf copy_for_queue(rte_mbuf* m, uint32_t off);
  SockLayer socks;
  UdpTable udp;
  RawTable raw;
  TcpTable tcp;

 private:
  static void housekeeping(void* ctx, Timer* t, Instant now);
  void close_all_sockets();
  void flush_port(ShardPort& sp);
  unsigned drain_inbox();
  unsigned drain_ctl();
  // Hands frames owned by other shards (owner[i] != id) to them, one ring operation per owner.
  void steer_burst(ShardPort& sp, rte_mbuf** pkts, const uint8_t* owner, uint16_t n);

  std::vector<Shard*> peers_;
  std::vector<rte_mbuf*> loop_q_, loop_run_;  // loop_enqueue's queue, and the round drain_loopback takes
  rte_ring* inbox_ = nullptr;  // buffers from other shards (multi-producer, we consume)
  rte_ring* ctl_ = nullptr;    // Msg* from other shards
  std::vector<std::pair<unsigned, Msg*>> backlog_;  // messages waiting for room in a peer's ring

  Clock& clock_;
  Instant now_;
  uint64_t now_ms_;
  std::vector<std::unique_ptr<ShardPort>> ports_;
  static constexpr size_t kIdentBuckets = 2048;
  std::array<uint16_t, kIdentBuckets> idents_;       // ip_ident_hashed's counters (random start) ...
  std::array<uint32_t, kIdentBuckets> ident_stamp_{};  // ... and when each was last used (ms)
  Timer housekeeping_;
};

// The shard running on the calling thread (set by the poll loop and by tests); nullptr elsewhere.
Shard* this_shard();
void set_this_shard(Shard* sh);

// A process-wide stop request (SIGINT/SIGTERM, or the app): poll loops end, blocking calls return EINTR.
void request_stop();
bool stop_requested();
void clear_stop();

// Layer entry points (each in its own file). All take ownership of the packet.
void eth_input(Shard& sh, ShardPort& sp, Pktbuf p);
void eth_output(Shard& sh, ShardPort& sp, const wire::MacAddr& dst, uint16_t ethertype, Pktbuf p);
void arp_input(Shard& sh, ShardPort& sp, Pktbuf p);
void arp_send(Shard& sh, ShardPort& sp, uint16_t op, const wire::MacAddr& eth_dst, const wire::MacAddr& tha,
              wire::Ipv4Addr tpa, wire::Ipv4Addr spa);
// Sends an IPv4 packet to next hop `nh` on `sp`, resolving the MAC (queueing while ARP runs).
void neigh_output(Shard& sh, ShardPort& sp, wire::Ipv4Addr nh, Pktbuf p);
// Retries and ages the neighbour table (housekeeping).
void neigh_tick(Shard& sh, ShardPort& sp);
// Several shards: on shard 0, shard `from` asks for `ip` (answered by a sync now or once ARP resolves it);
// on the others, shard 0's answer.
void neigh_remote_resolve(Shard& sh, ShardPort& sp, wire::Ipv4Addr ip, unsigned from);
void neigh_apply_sync(Shard& sh, ShardPort& sp, wire::Ipv4Addr ip, const wire::MacAddr& mac);

void ipv4_input(Shard& sh, ShardPort& sp, Pktbuf p, bool link_bcast);
// Several shards: hands a datagram (data at L4) for `port`, which no local socket has, to a shard that
// has it bound; true if it did (the packet is gone).
bool ipv4_forward_to_port_home(Shard& sh, Pktbuf& p, const Ipv4Rx& rx, PortDirectory::Proto proto, uint16_t port);
// The same, to shard `target` (false: one shard, already a forwarded datagram, or target is this shard).
bool ipv4_forward_to_shard(Shard& sh, Pktbuf& p, const Ipv4Rx& rx, unsigned target);
// Puts the IP header back in front of a received datagram (`p` at L4), its length fitted to what is left;
// false if there is no room (never for a received buffer).
bool ipv4_restore_header(Pktbuf& p, const Ipv4Rx& rx);
// A copy of a datagram (data at the IP header) for this shard's raw sockets only.
void ipv4_raw_copy_input(Shard& sh, ShardPort& sp, Pktbuf p);
// Copies a received datagram (`p` at its payload, the IP header in front) to the raw sockets of the shards
// in `mask`; true if any copy was handed over.
bool ipv4_raw_fanout(Shard& sh, Pktbuf& p, const Ipv4Rx& rx, uint64_t mask);
// The shards whose raw sockets get a copy of a received datagram (`p` at its payload): those with raw sockets
// of its protocol, and for an ICMP error also those with raw sockets of the protocol it quotes.
uint64_t ipv4_raw_copy_shards(const Shard& sh, const Pktbuf& p, const Ipv4Rx& rx);
// `p` holds the transport header and payload (data at L4). Returns 0 or a negative errno
// (-ENETUNREACH, -EMSGSIZE, -ENOBUFS); the packet is consumed either way.
int ipv4_output(Shard& sh, Pktbuf p, const Ipv4Tx& tx);
// Delivers a copy of a multicast datagram we send (`l4`: its transport header and payload, not consumed) to
// the host's own members of the group, as received on `sp` (Linux's ip_mc_output loopback).
void ipv4_mc_loopback(Shard& sh, ShardPort& sp, const Pktbuf& l4, const Ipv4Tx& tx, wire::Ipv4Addr src,
                      uint8_t ttl);
// Sends a datagram whose IP header the caller wrote (raw IP_HDRINCL): checksum filled, never fragmented.
// `route`: the interface (and source) IP_MULTICAST_IF or IP_PKTINFO chose, else the table's; `mc_loop`: a
// datagram to a group the host joined on that interface is looped back to its members (IP_MULTICAST_LOOP).
int ipv4_output_hdrincl(Shard& sh, Pktbuf p, const RouteResult* route = nullptr, bool mc_loop = true);
// Delivers a copy of a whole datagram we send (`dgram`: data at its IP header, not consumed) as received on
// `sp`: a broadcast, or a multicast to the host's own members, whose header the sender wrote.
void ipv4_loop_copy(Shard& sh, ShardPort& sp, const Pktbuf& dgram);

// `forwardable` false: an error this shard made about its own datagram (icmp_local_error), never handed to
// another shard's socket.
void icmp_input(Shard& sh, Pktbuf p, const Ipv4Rx& rx, bool forwardable = true);
// An ICMP error given to this shard's raw sockets as a copy (another shard received it): raw_icmp_error.
void icmp_raw_copy_error(Shard& sh, const Pktbuf& p, const Ipv4Rx& rx);
// Sends an ICMP error about `p` (data at L4, rx.hdr_len bytes of IP header before it); `p` is consumed.
void icmp_send_error(Shard& sh, Pktbuf p, const Ipv4Rx& rx, uint8_t type, uint8_t code, uint32_t rest = 0);
// Reports an ICMP error about a datagram this host sent and could not deliver (`p`: the whole datagram, data at
// its IP header; consumed) to the host's own sockets, as Linux's ipv4_link_failure (an icmp_send to itself over
// loopback): raw sockets get a copy, the transport's error handler acts on it. Used when ARP gives up.
void icmp_local_error(Shard& sh, ShardPort& sp, Pktbuf p, uint8_t type, uint8_t code);
// Sends an echo request (ping); returns 0 or a negative errno.
int icmp_send_echo(Shard& sh, wire::Ipv4Addr dst, uint16_t id, uint16_t seq, const void* payload, size_t len,
                   uint8_t ttl = 0);

}  // namespace skiff
