// libFuzzer target: the Ethernet and ARP header views (wire/ethernet.hh, wire/arp.hh).
// Every accessor of a view that passed its checks must stay inside the checked bytes (ASan sees any read
// past them: the input is copied into an exactly sized heap buffer), and a view built with build() must
// pass the same checks and read back what was written.
#include <cstring>
#include <vector>

#include "fuzz_env.hh"
#include "wire/arp.hh"
#include "wire/ethernet.hh"

using namespace skiff;
using namespace skiff::wire;

namespace {
volatile uint64_t g_sink;

void use_arp(std::span<uint8_t> b) {
  auto a = ArpView::checked(b);
  if (!a) {
    FUZZ_CHECK(a.err != WireError::Ok, "failed check reported Ok");
    return;
  }
  FUZZ_CHECK(b.size() >= ArpView::kLen, "ARP accepted %zu bytes", b.size());
  FUZZ_CHECK(a->htype() == 1 && a->ptype() == 0x0800 && a->hlen() == 6 && a->plen() == 4, "ARP fields not checked");
  FUZZ_CHECK(a->oper() == 1 || a->oper() == 2, "ARP op %u accepted", a->oper());
  uint64_t s = a->sha().b[5] + a->tha().b[0] + a->spa().host() + a->tpa().host();
  // Rebuild it and check it reads back the same.
  std::vector<uint8_t> copy(ArpView::kLen);
  ArpView w(copy.data(), copy.size());
  w.build(static_cast<ArpOp>(a->oper()), a->sha(), a->spa(), a->tha(), a->tpa());
  auto r = ArpView::checked(copy);
  FUZZ_CHECK(r && r->sha() == a->sha() && r->tha() == a->tha() && r->spa() == a->spa() && r->tpa() == a->tpa() &&
                 r->oper() == a->oper(),
             "ARP build/parse round trip differs");
  FUZZ_CHECK(memcmp(copy.data(), b.data(), ArpView::kLen) == 0, "ARP rebuild differs from the accepted bytes");
  g_sink = s;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> buf(data, data + size);
  auto e = EthView::checked(std::span<uint8_t>(buf.data(), buf.size()));
  if (!e) {
    FUZZ_CHECK(size < EthView::kHeaderLen, "Ethernet header refused at %zu bytes", size);
    // Still feed the bytes to ARP directly.
    use_arp(std::span<uint8_t>(buf.data(), buf.size()));
    return 0;
  }
  uint64_t s = e->dst().b[0] + e->src().b[5] + e->ethertype() + e->dst().is_multicast() + e->src().is_broadcast();
  auto pl = e->payload();
  FUZZ_CHECK(pl.size() == size - EthView::kHeaderLen && pl.data() == buf.data() + EthView::kHeaderLen,
             "Ethernet payload span wrong");
  for (uint8_t b : pl) s += b;
  g_sink = s;
  // ARP on an exact-size copy of the payload, so any over-read past it is caught.
  std::vector<uint8_t> p(pl.begin(), pl.end());
  use_arp(std::span<uint8_t>(p.data(), p.size()));
  return 0;
}
