// libFuzzer target: the TCP header view and TcpOptions::parse / write_tcp_options (wire/tcp.hh, tcp.cc).
// Input: two bytes of segment length (as IP gives it), then the segment. Options that parse are written back
// and parsed again: the result must match (SACK blocks may be cut to what fits in 40 bytes). A TcpOptions
// built from raw input bytes must also write as valid options.
#include <algorithm>
#include <vector>

#include "fuzz_env.hh"
#include "wire/tcp.hh"

using namespace skiff;
using namespace skiff::wire;
using skiff::fuzz::Input;

namespace {
volatile uint64_t g_sink;

void check_written(const TcpOptions& in, const uint8_t* w, size_t n) {
  FUZZ_CHECK(n <= 40 && n % 4 == 0, "write_tcp_options wrote %zu bytes", n);
  std::vector<uint8_t> exact(w, w + n);
  auto r = TcpOptions::parse(exact);
  FUZZ_CHECK(bool(r), "written options do not parse");
  FUZZ_CHECK(r->mss == in.mss && r->wscale == in.wscale && r->sack_permitted == in.sack_permitted &&
                 r->has_timestamp == in.has_timestamp,
             "options round trip differs");
  if (in.has_timestamp) FUZZ_CHECK(r->ts_val == in.ts_val && r->ts_ecr == in.ts_ecr, "timestamps differ");
  // The writer keeps as many SACK blocks as fit after the other options (NOP NOP kind len + 8 per block).
  const size_t used = (in.mss ? 4 : 0) + (in.sack_permitted && !in.has_timestamp ? 4 : 0) + (in.has_timestamp ? 12 : 0) +
                      (in.wscale ? 4 : 0);
  const size_t expect = std::min<size_t>(in.num_sack, (40 - used - 4) / 8);
  FUZZ_CHECK(r->num_sack == expect, "SACK blocks: %u written as %u (expected %zu)", in.num_sack, r->num_sack, expect);
  for (unsigned i = 0; i < r->num_sack; ++i)
    FUZZ_CHECK(r->sack[i].left == in.sack[i].left && r->sack[i].right == in.sack[i].right, "SACK block %u differs", i);
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const size_t seg_len = (size_t(data[0]) << 8) | data[1];
  std::vector<uint8_t> buf(data + 2, data + size);
  std::span<uint8_t> b(buf.data(), buf.size());

  // Raw option structs from the input (whatever the view says) must write valid options.
  if (b.size() >= 24) {
    TcpOptions o;
    Input in(b.data(), 24);
    const uint8_t f = in.u8();
    if (f & 1) o.mss = in.u16();
    if (f & 2) o.wscale = in.u8();
    o.sack_permitted = f & 4;
    o.has_timestamp = f & 8;
    o.ts_val = in.u32();
    o.ts_ecr = in.u32();
    o.num_sack = static_cast<uint8_t>((f >> 4) % 5);
    for (unsigned i = 0; i < o.num_sack; ++i) o.sack[i] = {SeqNum(in.u16() * 977u), SeqNum(in.u16() * 1009u)};
    uint8_t w[40];
    check_written(o, w, write_tcp_options(w, o));
  }

  auto v = TcpView::checked(b, seg_len);
  if (!v) {
    FUZZ_CHECK(v.err != WireError::Ok, "failed check reported Ok");
    return 0;
  }
  const size_t hl = v->header_len();
  FUZZ_CHECK(hl >= 20 && hl <= 60 && hl <= b.size() && hl <= seg_len, "header length %zu accepted", hl);
  uint64_t s = v->src_port() + v->dst_port() + v->seq().raw() + v->ack().raw() + v->flags() + v->window() +
               v->checksum_raw() + v->urgent_ptr() + v->has(tcp_flag::kSyn);
  auto ob = v->options();
  FUZZ_CHECK(ob.size() == hl - 20, "options span wrong");
  // Parse an exact-size copy, so that reading past the options is caught.
  std::vector<uint8_t> opts(ob.begin(), ob.end());
  auto o = TcpOptions::parse(opts);
  if (o) {
    FUZZ_CHECK(o->num_sack <= 4, "%u SACK blocks", o->num_sack);
    s += o->mss.value_or(0) + o->wscale.value_or(0) + o->ts_val + o->ts_ecr;
    uint8_t w[40];
    check_written(*o, w, write_tcp_options(w, *o));
  }
  g_sink = s;
  return 0;
}
