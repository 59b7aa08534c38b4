#include "fuzz_env.hh"

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_mbuf.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "base/log.hh"
#include "wire/arp.hh"
#include "wire/checksum.hh"
#include "wire/endian.hh"
#include "wire/ethernet.hh"
#include "wire/icmp.hh"
#include "wire/ipv4.hh"
#include "wire/tcp.hh"
#include "wire/udp.hh"

namespace skiff::fuzz {

void init_eal(const char* prog) {
  static bool done = false;
  if (done) return;
  // EAL pins the calling thread to its main lcore; give the fuzzer its CPUs back afterwards.
  cpu_set_t cpus;
  const bool have_cpus = sched_getaffinity(0, sizeof cpus, &cpus) == 0;
  std::string prefix = "--file-prefix=skiff-fuzz-" + std::to_string(getpid());
  std::vector<std::string> args = {prog ? prog : "skiff-fuzz", "--no-pci", "--no-huge", "-m", "256", "-l", "0",
                                   prefix, "--no-telemetry", "--log-level=*:error"};
  std::vector<char*> av;
  for (auto& a : args) av.push_back(a.data());
  if (rte_eal_init(static_cast<int>(av.size()), av.data()) < 0 && rte_errno != EALREADY) {
    fprintf(stderr, "fuzz: EAL init failed: %s\n", rte_strerror(rte_errno));
    abort();
  }
  if (have_cpus) sched_setaffinity(0, sizeof cpus, &cpus);
  set_log_level(LogLevel::Error);
  done = true;
}

void fail(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "FUZZ CHECK FAILED: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  abort();
}

// ---------------------------------------------------------------------------------------------------------
// Builders.

Bytes eth_frame(const MacAddr& dst, const MacAddr& src, uint16_t ethertype, const Bytes& payload) {
  Bytes f(14 + payload.size());
  dst.store(f.data());
  src.store(f.data() + 6);
  wire::store_be16(f.data() + 12, ethertype);
  std::copy(payload.begin(), payload.end(), f.begin() + 14);
  if (f.size() < 60) f.resize(60);
  return f;
}

Bytes ipv4_packet(Ipv4Addr src, Ipv4Addr dst, uint8_t proto, const Bytes& payload, uint16_t id, uint16_t flags_frag,
                  uint8_t ttl, const Bytes& options, uint8_t tos) {
  const size_t opt = std::min<size_t>((options.size() + 3) & ~size_t{3}, 40);
  const size_t hl = 20 + opt;
  const size_t total = std::min<size_t>(hl + payload.size(), 65535);
  Bytes b(total);
  wire::Ipv4View v(b.data(), b.size());
  v.build(src, dst, proto, static_cast<uint16_t>(total), id, ttl, tos, flags_frag);
  v.set_version_ihl(hl);
  std::copy_n(options.begin(), std::min(options.size(), opt), b.begin() + 20);
  std::copy_n(payload.begin(), total - hl, b.begin() + static_cast<ptrdiff_t>(hl));
  v.fill_checksum();
  return b;
}

Bytes arp_packet(uint16_t op, const MacAddr& sha, Ipv4Addr spa, const MacAddr& tha, Ipv4Addr tpa) {
  Bytes b(wire::ArpView::kLen);
  wire::ArpView(b.data(), b.size()).build(static_cast<wire::ArpOp>(op), sha, spa, tha, tpa);
  return b;
}

namespace {
uint16_t l4_checksum(Ipv4Addr src, Ipv4Addr dst, uint8_t proto, const uint8_t* p, size_t len) {
  return wire::csum_finish(wire::csum_partial(p, len, wire::pseudo_header_sum(src, dst, proto, static_cast<uint16_t>(len))));
}
}  // namespace

Bytes tcp_segment(Ipv4Addr src, Ipv4Addr dst, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags,
                  uint16_t wnd, const Bytes& options, const Bytes& payload, uint16_t urg) {
  const size_t opt = std::min<size_t>((options.size() + 3) & ~size_t{3}, 40);
  Bytes b(20 + opt + payload.size());
  wire::TcpView t(b.data(), b.size());
  t.set_src_port(sport);
  t.set_dst_port(dport);
  t.set_seq(wire::SeqNum(seq));
  t.set_ack(wire::SeqNum(ack));
  t.set_header_len(20 + opt);
  t.set_flags(flags);
  t.set_window(wnd);
  t.set_urgent_ptr(urg);
  std::copy_n(options.begin(), std::min(options.size(), opt), b.begin() + 20);
  std::copy(payload.begin(), payload.end(), b.begin() + static_cast<ptrdiff_t>(20 + opt));
  t.set_checksum_raw(0);
  t.set_checksum_raw(l4_checksum(src, dst, 6, b.data(), b.size()));
  return b;
}

Bytes udp_datagram(Ipv4Addr src, Ipv4Addr dst, uint16_t sport, uint16_t dport, const Bytes& payload) {
  Bytes b(8 + payload.size());
  wire::UdpView u(b.data(), b.size());
  u.set_src_port(sport);
  u.set_dst_port(dport);
  u.set_length(static_cast<uint16_t>(b.size()));
  std::copy(payload.begin(), payload.end(), b.begin() + 8);
  u.set_checksum_raw(0);
  uint16_t c = l4_checksum(src, dst, 17, b.data(), b.size());
  if (c == 0) c = 0xffff;
  u.set_checksum_raw(c);
  return b;
}

void fix_checksums(Bytes& f) {
  if (f.size() < 14 + 20 || wire::load_be16(f.data() + 12) != 0x0800) return;
  std::span<uint8_t> ipb(f.data() + 14, f.size() - 14);
  wire::Ipv4View ip(ipb.data(), ipb.size());
  const size_t hl = ip.header_len();
  if (ip.version() != 4 || hl < 20 || hl > ipb.size()) return;
  ip.fill_checksum();
  const size_t tl = ip.total_len();
  if (tl < hl || tl > ipb.size() || ip.is_fragment()) return;
  uint8_t* l4 = ipb.data() + hl;
  const size_t len = tl - hl;
  switch (ip.proto()) {
    case 6:
      if (len < 20) return;
      wire::store_raw16(l4 + 16, 0);
      wire::store_raw16(l4 + 16, l4_checksum(ip.src(), ip.dst(), 6, l4, len));
      break;
    case 17: {
      if (len < 8) return;
      const size_t ulen = wire::load_be16(l4 + 4);
      if (ulen < 8 || ulen > len) return;
      wire::store_raw16(l4 + 6, 0);
      uint16_t c = l4_checksum(ip.src(), ip.dst(), 17, l4, ulen);
      wire::store_raw16(l4 + 6, c == 0 ? 0xffff : c);
      break;
    }
    case 1:  // ICMP
    case 2:  // IGMP: the same checksum, over the message
      if (len < 8) return;
      wire::store_raw16(l4 + 2, 0);
      wire::store_raw16(l4 + 2, wire::inet_checksum(l4, len));
      break;
    default:
      break;
  }
}

bool parse_out_tcp(const Bytes& frame, OutSeg* o) {
  Bytes f = frame;
  auto e = wire::EthView::checked(f);
  FUZZ_CHECK(e, "the stack sent a frame shorter than an Ethernet header (%zu bytes)", f.size());
  if (e->ethertype() != 0x0800) return false;
  auto ip = wire::Ipv4View::checked(e->payload());
  FUZZ_CHECK(ip, "the stack sent a malformed IPv4 header: %s", wire::to_string(ip.err));
  FUZZ_CHECK(ip->checksum_ok(), "the stack sent an IPv4 header with a bad checksum");
  if (ip->proto() != 6 || ip->is_fragment()) return false;
  const size_t hl = ip->header_len();
  std::span<uint8_t> seg(ip->data() + hl, ip->total_len() - hl);
  auto t = wire::TcpView::checked(seg);
  FUZZ_CHECK(t, "the stack sent a malformed TCP header: %s", wire::to_string(t.err));
  const uint16_t c = l4_checksum(ip->src(), ip->dst(), 6, seg.data(), seg.size());
  FUZZ_CHECK(c == 0 || c == 0xffff, "the stack sent a TCP segment with a bad checksum");
  auto opts = wire::TcpOptions::parse(t->options());
  FUZZ_CHECK(opts, "the stack sent malformed TCP options");
  o->sport = t->src_port();
  o->dport = t->dst_port();
  o->seq = t->seq().raw();
  o->ack = t->ack().raw();
  o->flags = t->flags();
  o->ecn = ip->tos() & 3;
  o->wnd = t->window();
  o->len = seg.size() - t->header_len();
  o->has_ts = opts->has_timestamp;
  o->tsval = opts->ts_val;
  o->tsecr = opts->ts_ecr;
  o->has_wscale = opts->wscale.has_value();
  o->wscale = opts->wscale.value_or(0);
  o->sack_perm = opts->sack_permitted;
  o->mss = opts->mss.value_or(0);
  return true;
}

// ---------------------------------------------------------------------------------------------------------
// The device and the stack.

FuzzDevice::FuzzDevice() { mac = FuzzStack::kOurMac; }
FuzzDevice::~FuzzDevice() { free_tx(); }

uint16_t FuzzDevice::tx_burst(uint16_t, rte_mbuf** pkts, uint16_t n) {
  const uint16_t take = std::min(n, tx_room);
  for (uint16_t i = 0; i < take; ++i) tx.push_back(pkts[i]);
  return take;
}

void FuzzDevice::free_tx() {
  for (auto* m : tx) rte_pktmbuf_free(m);
  tx.clear();
}

StackConfig FuzzStack::small_config() {
  StackConfig c;
  c.pool_size = 4095;
  c.neigh.capacity = 32;
  c.neigh.queue_per_entry = 16;
  c.neigh.queue_total = 64;
  c.ipv4.reass_max_datagrams = 16;
  c.ipv4.reass_max_frags = 32;
  c.ipv4.reass_max_bytes = 256u << 10;
  c.sock.max_fds = 128;
  c.sock.tcp_slab = 64;
  c.sock.udp_slab = 16;
  c.sock.raw_slab = 16;
  c.tcp.ooo_max_segs = 64;
  c.tcp.ecn = 1;  // active opens ask for ECN (RFC 3168); fuzz_tcp_state's peer grants or asks with timestamps
  return c;
}

namespace {
unsigned g_stack_seq = 0;
}

FuzzStack::FuzzStack(const StackConfig& cfg, uint16_t mtu) {
  dev_.mtu = mtu;
  stack_ = std::make_unique<Stack>("fuzz" + std::to_string(g_stack_seq++), cfg);
  FUZZ_CHECK(stack_->make_pools(1), "cannot create the packet pool");
  stack_->add_iface(&dev_, wire::Ipv4Cidr{kOurIp, 24});
}

FuzzStack::~FuzzStack() {
  if (running_) end();
}

void FuzzStack::begin() {
  clock_.set(Instant::from_ns(1'000'000'000));
  FUZZ_CHECK(stack_->build_shards(clock_), "cannot build the shard");
  set_this_shard(&shard());
  shard().rng = Rng(0x5eed);
  running_ = true;
  shard().start();
  shard().flush();
  dev_.free_tx();
  // The peer asks for us: we learn its MAC and answer (the answer is dropped).
  inject(eth_frame(MacAddr::broadcast(), kPeerMac, 0x0806, arp_packet(1, kPeerMac, kPeerIp, MacAddr::zero(), kOurIp)));
  shard().flush();
  dev_.free_tx();
}

void FuzzStack::end() {
  // SKIFF_FUZZ_DEBUG=1: the shard's counters after each run (to see what an input reaches).
  static const bool debug = getenv("SKIFF_FUZZ_DEBUG") != nullptr;
  if (debug) stack_->print_counters(stderr);
  set_this_shard(nullptr);
  stack_->release_shards();
  dev_.free_tx();
  running_ = false;
  const unsigned in_use = stack_->pool(0).in_use();
  FUZZ_CHECK(in_use == 0, "%u packet buffers leaked (not back in the pool after the shard was released)", in_use);
}

void FuzzStack::inject(const Bytes& frame, uint64_t ol_flags, size_t split) {
  rte_mempool* mp = stack_->pool(0).raw();
  rte_mbuf* head = nullptr;
  size_t off = 0;
  do {
    rte_mbuf* seg = rte_pktmbuf_alloc(mp);
    FUZZ_CHECK(seg != nullptr, "packet pool exhausted while injecting (%u in use)", stack_->pool(0).in_use());
    size_t n = std::min<size_t>(rte_pktmbuf_tailroom(seg), frame.size() - off);
    if (!head && split && split < n) n = split;
    if (n) memcpy(rte_pktmbuf_append(seg, static_cast<uint16_t>(n)), frame.data() + off, n);
    off += n;
    if (!head) {
      head = seg;
    } else if (rte_pktmbuf_chain(head, seg) != 0) {
      rte_pktmbuf_free(seg);
      break;  // too many segments: deliver what we have
    }
  } while (off < frame.size());
  head->ol_flags = ol_flags;
  shard().update_clock();
  shard().input(*shard().port_for(0), &head, 1);
  shard().dispatch_events();
  shard().flush();
}

std::vector<Bytes> FuzzStack::sent(bool answer_arp) {
  std::vector<Bytes> out;
  for (int round = 0; round < 4; ++round) {
    shard().flush();
    std::vector<rte_mbuf*> tx;
    tx.swap(dev_.tx);
    bool answered = false;
    for (rte_mbuf* m : tx) {
      Bytes b(m->pkt_len);
      const void* p = rte_pktmbuf_read(m, 0, m->pkt_len, b.data());
      FUZZ_CHECK(p != nullptr, "unreadable frame from the stack");
      if (p != b.data()) memcpy(b.data(), p, m->pkt_len);
      rte_pktmbuf_free(m);
      const bool arp_req = b.size() >= 42 && wire::load_be16(b.data() + 12) == 0x0806 && wire::load_be16(b.data() + 20) == 1;
      if (answer_arp && arp_req && wire::load_be32(b.data() + 38) == kPeerIp.host()) {
        inject(eth_frame(kOurMac, kPeerMac, 0x0806, arp_packet(2, kPeerMac, kPeerIp, kOurMac, kOurIp)));
        answered = true;
      }
      out.push_back(std::move(b));
    }
    if (!answered) break;
  }
  return out;
}

void FuzzStack::advance(Duration d) {
  clock_.advance(d);
  shard().update_clock();
  shard().run_timers();
  shard().dispatch_events();
  shard().flush();
}

}  // namespace skiff::fuzz
