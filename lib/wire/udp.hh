#pragma once
// UDP header (RFC 768).

#include "wire/checksum.hh"
#include "wire/view.hh"
#include "wire/wire_error.hh"

namespace skiff::wire {

class UdpView : public ViewBase {
 public:
  static constexpr size_t kHeaderLen = 8;

  using ViewBase::ViewBase;
  // `b` holds at least the header; `ip_payload_len` is the L4 length the IP header announces.
  static Checked<UdpView> checked(std::span<uint8_t> b, size_t ip_payload_len) {
    if (b.size() < kHeaderLen || ip_payload_len < kHeaderLen) return {{}, WireError::Truncated};
    UdpView v(b.data(), b.size());
    if (v.length() < kHeaderLen || v.length() > ip_payload_len) return {{}, WireError::BadTotalLen};
    return {v, WireError::Ok};
  }
  static Checked<UdpView> checked(std::span<uint8_t> b) { return checked(b, b.size()); }

  uint16_t src_port() const { return u16(0); }
  uint16_t dst_port() const { return u16(2); }
  uint16_t length() const { return u16(4); }
  uint16_t checksum_raw() const { return load_raw16(p_ + 6); }

  void set_src_port(uint16_t v) { set_u16(0, v); }
  void set_dst_port(uint16_t v) { set_u16(2, v); }
  void set_length(uint16_t v) { set_u16(4, v); }
  void set_checksum_raw(uint16_t raw) { store_raw16(p_ + 6, raw); }
};

}  // namespace skiff::wire
