#pragma once
// ICMP for IPv4 (RFC 792).

#include "wire/checksum.hh"
#include "wire/view.hh"
#include "wire/wire_error.hh"

namespace skiff::wire {

namespace icmp_type {
inline constexpr uint8_t kEchoReply = 0;
inline constexpr uint8_t kDestUnreachable = 3;
inline constexpr uint8_t kSourceQuench = 4;
inline constexpr uint8_t kRedirect = 5;
inline constexpr uint8_t kEchoRequest = 8;
inline constexpr uint8_t kTimeExceeded = 11;
inline constexpr uint8_t kParamProblem = 12;
inline constexpr uint8_t kTimestamp = 13;
inline constexpr uint8_t kTimestampReply = 14;
}  // namespace icmp_type

namespace icmp_unreach {
inline constexpr uint8_t kNet = 0;
inline constexpr uint8_t kHost = 1;
inline constexpr uint8_t kProtocol = 2;
inline constexpr uint8_t kPort = 3;
inline constexpr uint8_t kFragNeeded = 4;
}  // namespace icmp_unreach

namespace icmp_time_exceeded {
inline constexpr uint8_t kTtl = 0;
inline constexpr uint8_t kReassembly = 1;
}  // namespace icmp_time_exceeded

// True for the ICMP types that report errors (never answered with another error, RFC 1122 §3.2.2).
constexpr bool icmp_is_error(uint8_t type) {
  return type == icmp_type::kDestUnreachable || type == icmp_type::kSourceQuench || type == icmp_type::kRedirect ||
         type == icmp_type::kTimeExceeded || type == icmp_type::kParamProblem;
}

class IcmpView : public ViewBase {
 public:
  static constexpr size_t kHeaderLen = 8;

  using ViewBase::ViewBase;
  static Checked<IcmpView> checked(std::span<uint8_t> b) {
    if (b.size() < kHeaderLen) return {{}, WireError::Truncated};
    return {IcmpView(b.data(), b.size()), WireError::Ok};
  }

  uint8_t type() const { return u8(0); }
  uint8_t code() const { return u8(1); }
  uint16_t checksum_raw() const { return load_raw16(p_ + 2); }
  uint16_t echo_id() const { return u16(4); }
  uint16_t echo_seq() const { return u16(6); }
  uint16_t next_hop_mtu() const { return u16(6); }  // type 3 code 4 (RFC 1191)
  uint32_t rest() const { return u32(4); }
  std::span<uint8_t> payload() const { return {p_ + kHeaderLen, len_ - kHeaderLen}; }

  void set_type(uint8_t t) { set_u8(0, t); }
  void set_code(uint8_t c) { set_u8(1, c); }
  void set_checksum_raw(uint16_t raw) { store_raw16(p_ + 2, raw); }
  void set_echo(uint16_t id, uint16_t seq) {
    set_u16(4, id);
    set_u16(6, seq);
  }
  void set_rest(uint32_t v) { set_u32(4, v); }
};

}  // namespace skiff::wire
