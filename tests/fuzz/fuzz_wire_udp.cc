// libFuzzer target: the UDP header view (wire/udp.hh). The first two input bytes are the L4 length the IP
// header announces; the rest is the datagram.
#include <vector>

#include "fuzz_env.hh"
#include "wire/udp.hh"

using namespace skiff;
using namespace skiff::wire;

namespace {
volatile uint64_t g_sink;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const size_t ip_len = (size_t(data[0]) << 8) | data[1];
  std::vector<uint8_t> buf(data + 2, data + size);
  std::span<uint8_t> b(buf.data(), buf.size());
  auto v = UdpView::checked(b, ip_len);
  if (!v) {
    FUZZ_CHECK(v.err != WireError::Ok, "failed check reported Ok");
    return 0;
  }
  FUZZ_CHECK(b.size() >= UdpView::kHeaderLen && v->length() >= UdpView::kHeaderLen && v->length() <= ip_len,
             "UDP length %u accepted (ip %zu, buffer %zu)", v->length(), ip_len, b.size());
  g_sink = v->src_port() + v->dst_port() + v->checksum_raw();
  auto w = UdpView::checked(b);  // the single-argument form must agree when ip_len == buffer
  if (ip_len == b.size()) FUZZ_CHECK(bool(w), "UDP one-argument check disagrees");
  return 0;
}
