// Header parsing with the checked zero-copy views: an Ethernet + IPv4 + ICMP echo request (as ipv4_input
// and icmp_input see it), and TCP options (a SYN's, and a data segment's timestamps + SACK blocks).

#include <benchmark/benchmark.h>

#include <array>
#include <cstdint>
#include <cstring>

#include "wire/ethernet.hh"
#include "wire/icmp.hh"
#include "wire/ipv4.hh"
#include "wire/tcp.hh"

namespace {

using namespace skiff::wire;

constexpr MacAddr kMacA{{0x02, 0, 0, 0, 0, 0x01}};
constexpr MacAddr kMacB{{0x02, 0, 0, 0, 0, 0x02}};
constexpr Ipv4Addr kIpA = Ipv4Addr::of(10, 0, 0, 1);
constexpr Ipv4Addr kIpB = Ipv4Addr::of(10, 0, 0, 2);

// A 98-byte echo request (56 bytes of data, as ping sends), 14 bytes past a cache line like in an mbuf.
struct EchoFrame {
  static constexpr size_t kData = 56;
  static constexpr size_t kLen = EthView::kHeaderLen + Ipv4View::kMinHeaderLen + IcmpView::kHeaderLen + kData;
  alignas(64) std::array<uint8_t, 128 + kLen> storage{};
  uint8_t* p = storage.data() + 64;

  EchoFrame() {
    EthView eth(p, kLen);
    eth.set_dst(kMacB);
    eth.set_src(kMacA);
    eth.set_ethertype(EtherType::Ipv4);
    const size_t ip_len = kLen - EthView::kHeaderLen;
    Ipv4View ip(p + EthView::kHeaderLen, ip_len);
    ip.build(kIpA, kIpB, static_cast<uint8_t>(IpProto::Icmp), static_cast<uint16_t>(ip_len), 0x1234, 64, 0, 0);
    ip.fill_checksum();
    uint8_t* ic = p + EthView::kHeaderLen + Ipv4View::kMinHeaderLen;
    IcmpView icmp(ic, IcmpView::kHeaderLen + kData);
    icmp.set_type(icmp_type::kEchoRequest);
    icmp.set_code(0);
    icmp.set_echo(0x4242, 7);
    for (size_t i = 0; i < kData; ++i) ic[IcmpView::kHeaderLen + i] = static_cast<uint8_t>(i);
    icmp.set_checksum_raw(0);
    icmp.set_checksum_raw(inet_checksum(ic, IcmpView::kHeaderLen + kData));
  }
};

// Parses the frame the way the input path does. Returns a value depending on every field read, or 0 when
// any check fails. `verify` adds the IPv4 header and ICMP checksums.
template <bool verify>
inline uint32_t parse_echo(uint8_t* frame, size_t len) {
  auto eth = EthView::checked({frame, len});
  if (!eth || eth->ethertype() != static_cast<uint16_t>(EtherType::Ipv4) || eth->dst() != kMacB) return 0;
  auto payload = eth->payload();
  auto ip = Ipv4View::checked(payload, payload.size());
  if (!ip) return 0;
  if (verify && !ip->checksum_ok()) return 0;
  if (ip->ttl() == 0 || ip->is_fragment() || ip->proto() != static_cast<uint8_t>(IpProto::Icmp)) return 0;
  const size_t hl = ip->header_len();
  auto icmp = IcmpView::checked({ip->data() + hl, ip->total_len() - hl});
  if (!icmp) return 0;
  if (verify && !csum_ok(csum_partial(icmp->data(), icmp->buffer_len()))) return 0;
  if (icmp->type() != icmp_type::kEchoRequest) return 0;
  return ip->src().host() ^ ip->dst().host() ^ (uint32_t{icmp->echo_id()} << 16) ^ icmp->echo_seq() ^ ip->tos();
}

template <bool verify>
void BM_ParseEthIpv4Icmp(benchmark::State& state) {
  EchoFrame f;
  if (parse_echo<true>(f.p, EchoFrame::kLen) == 0) return state.SkipWithError("test frame does not parse");
  int64_t ok = 0;
  for (auto _ : state) {
    uint8_t* p = f.p;
    benchmark::DoNotOptimize(p);  // clobbers memory: every header is re-read
    const uint32_t r = parse_echo<verify>(p, EchoFrame::kLen);
    ok += r != 0;
    benchmark::DoNotOptimize(r);
  }
  if (ok != state.iterations()) return state.SkipWithError("a parse failed inside the loop");
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

// A TCP header with options, built with write_tcp_options.
struct TcpSegment {
  alignas(64) std::array<uint8_t, 128> storage{};
  uint8_t* p = storage.data() + 34;  // after Ethernet + IPv4 headers
  size_t len = 0;
  TcpOptions want;

  explicit TcpSegment(bool syn) {
    if (syn) {
      want.mss = 1460;
      want.sack_permitted = true;
      want.has_timestamp = true;
      want.ts_val = 0x01020304;
      want.wscale = 7;
    } else {
      want.has_timestamp = true;
      want.ts_val = 0x11223344;
      want.ts_ecr = 0x55667788;
      want.num_sack = 3;
      for (uint8_t b = 0; b < 3; ++b) want.sack[b] = {SeqNum(1000u + 3000u * b), SeqNum(2000u + 3000u * b)};
    }
    const size_t olen = write_tcp_options(p + TcpView::kMinHeaderLen, want);
    len = TcpView::kMinHeaderLen + olen;
    TcpView t(p, len);
    t.set_src_port(40000);
    t.set_dst_port(80);
    t.set_seq(SeqNum(1));
    t.set_ack(SeqNum(0));
    t.set_header_len(len);
    t.set_flags(syn ? tcp_flag::kSyn : tcp_flag::kAck);
    t.set_window(65535);
  }

  bool matches(const TcpOptions& o) const {
    if (o.mss != want.mss || o.wscale != want.wscale || o.sack_permitted != want.sack_permitted ||
        o.has_timestamp != want.has_timestamp || o.ts_val != want.ts_val || o.ts_ecr != want.ts_ecr ||
        o.num_sack != want.num_sack)
      return false;
    for (size_t b = 0; b < o.num_sack; ++b)
      if (o.sack[b].left != want.sack[b].left || o.sack[b].right != want.sack[b].right) return false;
    return true;
  }
};

// Checked TCP view over the segment, then its options parsed. Arg 0: SYN (MSS, SACK-permitted, timestamps,
// window scale: 20 bytes); arg 1: data segment (timestamps + 3 SACK blocks: 40 bytes).
void BM_ParseTcpOptions(benchmark::State& state) {
  TcpSegment seg(state.range(0) == 0);
  {
    auto t = TcpView::checked({seg.p, seg.len}, seg.len);
    auto o = t ? TcpOptions::parse(t->options()) : Checked<TcpOptions>{};
    if (!o || !seg.matches(o.view)) return state.SkipWithError("test options do not round-trip");
  }
  int64_t ok = 0;
  for (auto _ : state) {
    uint8_t* p = seg.p;
    benchmark::DoNotOptimize(p);
    auto t = TcpView::checked({p, seg.len}, seg.len);
    if (!t) continue;
    auto o = TcpOptions::parse(t->options());
    ok += static_cast<bool>(o);
    benchmark::DoNotOptimize(o);
  }
  if (ok != state.iterations()) return state.SkipWithError("a parse failed inside the loop");
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetLabel(state.range(0) == 0 ? "syn: mss,sackok,ts,ws (20 B)" : "ack: ts + 3 sack blocks (40 B)");
}

}  // namespace

BENCHMARK_TEMPLATE(BM_ParseEthIpv4Icmp, false)->Name("BM_ParseEthIpv4Icmp");
BENCHMARK_TEMPLATE(BM_ParseEthIpv4Icmp, true)->Name("BM_ParseEthIpv4Icmp_VerifyCsums");
BENCHMARK(BM_ParseTcpOptions)->Arg(0)->Arg(1);
