// libFuzzer target: the IPv4 header view (wire/ipv4.hh). The first input byte says how many more bytes the
// (chained) frame carries beyond the contiguous buffer; the rest is the header and what follows it.
#include <vector>

#include "fuzz_env.hh"
#include "wire/ipv4.hh"

using namespace skiff;
using namespace skiff::wire;

namespace {
volatile uint64_t g_sink;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const size_t extra = data[0] & 0x80 ? size_t(data[0] & 0x7f) * 512 : 0;
  std::vector<uint8_t> buf(data + 1, data + size);
  std::span<uint8_t> b(buf.data(), buf.size());
  const size_t frame_len = b.size() + extra;
  auto v = Ipv4View::checked(b, frame_len);
  if (!v) {
    FUZZ_CHECK(v.err != WireError::Ok, "failed check reported Ok");
    return 0;
  }
  const size_t hl = v->header_len();
  FUZZ_CHECK(v->version() == 4, "version %u accepted", v->version());
  FUZZ_CHECK(hl >= Ipv4View::kMinHeaderLen && hl <= Ipv4View::kMaxHeaderLen && hl <= b.size(),
             "header length %zu accepted for %zu bytes", hl, b.size());
  FUZZ_CHECK(v->total_len() >= hl && v->total_len() <= frame_len, "total length %u accepted (hl %zu, frame %zu)",
             v->total_len(), hl, frame_len);
  uint64_t s = v->tos() + v->ident() + v->flags_frag() + v->dont_frag() + v->more_frags() + v->frag_offset() +
               v->is_fragment() + v->ttl() + v->proto() + v->checksum_raw() + v->src().host() + v->dst().host() +
               v->checksum_ok();
  auto o = v->options();
  FUZZ_CHECK(o.size() == hl - 20, "options span wrong");
  for (uint8_t x : o) s += x;
  FUZZ_CHECK(v->frag_offset() + (v->total_len() - hl) <= 65535 + 65528, "fragment arithmetic overflow");
  g_sink = s;

  // Build a header from the parsed fields and read it back.
  std::vector<uint8_t> w(20);
  Ipv4View nv(w.data(), w.size());
  nv.build(v->src(), v->dst(), v->proto(), 20, v->ident(), v->ttl(), v->tos(), v->flags_frag());
  nv.fill_checksum();
  auto r = Ipv4View::checked(w);
  FUZZ_CHECK(r && r->checksum_ok() && r->src() == v->src() && r->dst() == v->dst() && r->proto() == v->proto() &&
                 r->ident() == v->ident() && r->ttl() == v->ttl() && r->tos() == v->tos() &&
                 r->flags_frag() == v->flags_frag(),
             "IPv4 build/parse round trip differs");
  return 0;
}
