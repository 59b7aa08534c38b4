// libFuzzer target: the ICMP header view (wire/icmp.hh) and the checksum routines it relies on.
#include <vector>

#include "fuzz_env.hh"
#include "wire/checksum.hh"
#include "wire/icmp.hh"

using namespace skiff;
using namespace skiff::wire;

namespace {
volatile uint64_t g_sink;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> buf(data, data + size);
  auto v = IcmpView::checked(std::span<uint8_t>(buf.data(), buf.size()));
  if (!v) {
    FUZZ_CHECK(size < IcmpView::kHeaderLen, "ICMP header refused at %zu bytes", size);
    return 0;
  }
  uint64_t s = v->type() + v->code() + v->checksum_raw() + v->echo_id() + v->echo_seq() + v->next_hop_mtu() +
               v->rest() + icmp_is_error(v->type());
  auto pl = v->payload();
  FUZZ_CHECK(pl.size() == size - IcmpView::kHeaderLen, "ICMP payload span wrong");
  for (uint8_t b : pl) s += b;
  g_sink = s;
  // A filled-in checksum verifies, and the incremental update (RFC 1624) agrees with a full recomputation.
  v->set_checksum_raw(0);
  const uint16_t c = inet_checksum(buf.data(), buf.size());
  v->set_checksum_raw(c);
  FUZZ_CHECK(csum_ok(csum_partial(buf.data(), buf.size())), "ICMP checksum does not verify");
  const uint16_t old_raw = load_raw16(buf.data() + 4);
  const uint16_t new_raw = static_cast<uint16_t>(old_raw ^ 0x5a5a);
  const uint16_t upd = csum_update16(c, old_raw, new_raw);
  store_raw16(buf.data() + 4, new_raw);
  v->set_checksum_raw(upd);
  // The one case eqn. 3 cannot see: every covered word is now zero (its sum is +0), where it gives 0x0000 for
  // what a full computation makes 0xffff (see csum_update16; icmp_input settles it).
  const bool all_zero = upd == 0 && csum_fold16(csum_partial(buf.data(), buf.size())) == 0;
  FUZZ_CHECK(all_zero || csum_ok(csum_partial(buf.data(), buf.size())), "incremental checksum update does not verify");
  FUZZ_CHECK(!all_zero || inet_checksum(buf.data(), buf.size()) == 0xffff, "all-zero message checksum wrong");
  return 0;
}
