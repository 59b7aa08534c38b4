#include "stack_harness.hh"

#include "wire/ethernet.hh"
#include "wire/ipv4.hh"

#include <gtest/gtest.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <string>

namespace skiff::test {

FakeDevice::FakeDevice() {
  mac = StackHarness::kOurMac;
}

FakeDevice::~FakeDevice() {
  for (auto* m : rx) rte_pktmbuf_free(m);
  for (auto* m : tx) rte_pktmbuf_free(m);
}

uint16_t FakeDevice::rx_burst(uint16_t, rte_mbuf** pkts, uint16_t n) {
  uint16_t i = 0;
  while (i < n && !rx.empty()) {
    pkts[i++] = rx.front();
    rx.pop_front();
  }
  return i;
}

uint16_t FakeDevice::tx_burst(uint16_t, rte_mbuf** pkts, uint16_t n) {
  const uint16_t take = std::min(n, tx_room);
  for (uint16_t i = 0; i < take; ++i) tx.push_back(pkts[i]);
  return take;
}

namespace {
std::atomic<unsigned> g_seq{0};
}

std::optional<SentIp> parse_ip(const Bytes& f) {
  Bytes copy = f;
  auto e = wire::EthView::checked(copy);
  if (!e || e->ethertype() != 0x0800) {
    ADD_FAILURE() << "not an IPv4 frame";
    return std::nullopt;
  }
  auto ip = wire::Ipv4View::checked(e->payload());
  if (!ip) {
    ADD_FAILURE() << "bad IPv4 header: " << wire::to_string(ip.err);
    return std::nullopt;
  }
  SentIp s;
  s.eth_dst = e->dst();
  s.eth_src = e->src();
  s.src = ip->src();
  s.dst = ip->dst();
  s.proto = ip->proto();
  s.ttl = ip->ttl();
  s.tos = ip->tos();
  s.id = ip->ident();
  s.flags_frag = ip->flags_frag();
  s.total_len = ip->total_len();
  s.ihl = ip->header_len();
  s.checksum_ok = ip->checksum_ok();
  s.payload.assign(ip->data() + s.ihl, ip->data() + s.total_len);
  return s;
}

std::optional<Bytes> reassemble(std::vector<SentIp> frags) {
  std::sort(frags.begin(), frags.end(),
            [](const SentIp& a, const SentIp& b) { return (a.flags_frag & 0x1fff) < (b.flags_frag & 0x1fff); });
  Bytes out;
  bool last = false;
  for (const auto& f : frags) {
    const size_t off = size_t(f.flags_frag & 0x1fff) * 8;
    if (off != out.size()) return std::nullopt;
    out.resize(off + f.payload.size());
    std::copy(f.payload.begin(), f.payload.end(), out.begin() + off);
    last = !(f.flags_frag & 0x2000);
  }
  if (!last) return std::nullopt;
  return out;
}

StackHarness::StackHarness(const HarnessOptions& o) {
  dev_.mtu = o.mtu;
  dev_.caps = o.caps;
  std::string name = "harness";
  name += std::to_string(g_seq++);
  stack_ = std::make_unique<Stack>(name, o.cfg);
  EXPECT_TRUE(stack_->make_pools(1));
  stack_->add_iface(&dev_, o.addr);
  if (o.iface2 || o.addr2) {
    dev2_.mtu = o.mtu;
    dev2_.caps = o.caps;
    stack_->add_iface(&dev2_, o.addr2);
  }
  if (o.gateway) {
    EXPECT_TRUE(stack_->set_gateway(*o.gateway));
  }
  stack_->build_shards(clock_);
  set_this_shard(&shard());  // socket calls in the test act on this shard
  if (o.start) {
    shard().start();
    shard().flush();
    sent();
  }
}

StackHarness::~StackHarness() {
  if (this_shard() == &shard()) set_this_shard(nullptr);
  stack_->release_shards();
  for (auto* m : dev_.rx) rte_pktmbuf_free(m);
  for (auto* m : dev_.tx) rte_pktmbuf_free(m);
  dev_.rx.clear();
  dev_.tx.clear();
  for (auto* m : dev2_.rx) rte_pktmbuf_free(m);
  for (auto* m : dev2_.tx) rte_pktmbuf_free(m);
  dev2_.rx.clear();
  dev2_.tx.clear();
  // Leak check (lwIP style): every buffer is back in the pool.
  EXPECT_EQ(stack_->pool(0).in_use(), 0u) << "packet buffers leaked";
  if (PktPool* small = stack_->small_pool(0)) {
    EXPECT_EQ(small->in_use(), 0u) << "small packet buffers leaked";
  }
}

void StackHarness::inject(const Bytes& frame, uint64_t ol_flags) {
  rte_mbuf* m = rte_pktmbuf_alloc(stack_->pool(0).raw());
  ASSERT_NE(m, nullptr);
  if (frame.size() > rte_pktmbuf_tailroom(m)) {
    // Big frames arrive as a chain, as a scattering NIC would deliver them.
    size_t off = 0;
    rte_mbuf* last = nullptr;
    rte_pktmbuf_free(m);
    m = nullptr;
    while (off < frame.size()) {
      rte_mbuf* seg = rte_pktmbuf_alloc(stack_->pool(0).raw());
      ASSERT_NE(seg, nullptr);
      const size_t n = std::min<size_t>(rte_pktmbuf_tailroom(seg), frame.size() - off);
      memcpy(rte_pktmbuf_append(seg, static_cast<uint16_t>(n)), frame.data() + off, n);
      off += n;
      if (!m) {
        m = seg;
      } else {
        ASSERT_EQ(rte_pktmbuf_chain(m, seg), 0);
      }
      last = seg;
    }
    (void)last;
  } else {
    uint8_t* d = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, static_cast<uint16_t>(frame.size())));
    if (!frame.empty()) memcpy(d, frame.data(), frame.size());
  }
  m->ol_flags = ol_flags;
  shard().update_clock();
  shard().input(*shard().port_for(0), &m, 1);
  shard().drain_loopback();  // (as Shard::poll_once: what we sent ourselves is taken in)
  shard().flush();
}

void StackHarness::inject_burst(const std::vector<Bytes>& frames) {
  std::vector<rte_mbuf*> ms;
  for (const Bytes& f : frames) {
    rte_mbuf* m = rte_pktmbuf_alloc(stack_->pool(0).raw());
    ASSERT_NE(m, nullptr);
    ASSERT_LE(f.size(), rte_pktmbuf_tailroom(m));
    memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(f.size())), f.data(), f.size());
    ms.push_back(m);
  }
  shard().update_clock();
  shard().input(*shard().port_for(0), ms.data(), static_cast<uint16_t>(ms.size()));
  shard().flush();
}

Bytes StackHarness::from_peer(const Bytes& ip) const { return eth(kOurMac, kPeerMac, 0x0800, ip); }

std::vector<Bytes> StackHarness::sent() {
  shard().flush();
  std::vector<Bytes> out;
  for (rte_mbuf* m : dev_.tx) {
    Bytes b(m->pkt_len);
    const void* p = rte_pktmbuf_read(m, 0, m->pkt_len, b.data());
    if (p != b.data()) memcpy(b.data(), p, m->pkt_len);
    out.push_back(std::move(b));
    rte_pktmbuf_free(m);
  }
  dev_.tx.clear();
  return out;
}

void StackHarness::advance(Duration d) {
  clock_.advance(d);
  shard().update_clock();
  shard().drain_loopback();  // as Shard::poll_once: what we sent ourselves is taken in
  shard().run_timers();
  shard().dispatch_events();  // as Shard::poll_once: what the timers woke reaches epoll and callbacks
  shard().flush();
}

void StackHarness::learn_peer() {
  inject(eth(MacAddr::broadcast(), kPeerMac, 0x0806, arp(1, kPeerMac, kPeerIp, MacAddr::zero(), kOurIp)));
  sent();
}

}  // namespace skiff::test
