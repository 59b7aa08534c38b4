#pragma once
// ARP for IPv4 over Ethernet (RFC 826). Only this combination is accepted: anything else is a named error.

#include "wire/addr.hh"
#include "wire/view.hh"
#include "wire/wire_error.hh"

namespace skiff::wire {

enum class ArpOp : uint16_t { Request = 1, Reply = 2 };

class ArpView : public ViewBase {
 public:
  static constexpr size_t kFixedLen = 8;
  static constexpr size_t kLen = 28;  // Ethernet + IPv4
  static constexpr uint16_t kHwEthernet = 1;
  static constexpr uint16_t kProtoIpv4 = 0x0800;

  using ViewBase::ViewBase;
  static Checked<ArpView> checked(std::span<uint8_t> b) {
    if (b.size() < kFixedLen) return {{}, WireError::Truncated};
    ArpView v(b.data(), b.size());
    if (v.htype() != kHwEthernet) return {{}, WireError::BadHwType};
    if (v.ptype() != kProtoIpv4) return {{}, WireError::BadProtoType};
    if (v.hlen() != 6) return {{}, WireError::BadHwLen};
    if (v.plen() != 4) return {{}, WireError::BadProtoLen};
    if (b.size() < kLen) return {{}, WireError::Truncated};
    if (v.oper() != 1 && v.oper() != 2) return {{}, WireError::BadOp};
    return {v, WireError::Ok};
  }

  uint16_t htype() const { return u16(0); }
  uint16_t ptype() const { return u16(2); }
  uint8_t hlen() const { return u8(4); }
  uint8_t plen() const { return u8(5); }
  uint16_t oper() const { return u16(6); }
  MacAddr sha() const { return MacAddr::load(p_ + 8); }
  Ipv4Addr spa() const { return Ipv4Addr(u32(14)); }
  MacAddr tha() const { return MacAddr::load(p_ + 18); }
  Ipv4Addr tpa() const { return Ipv4Addr(u32(24)); }

  // Writes a complete Ethernet/IPv4 ARP packet (kLen bytes).
  void build(ArpOp op, const MacAddr& sha, Ipv4Addr spa, const MacAddr& tha, Ipv4Addr tpa) {
    set_u16(0, kHwEthernet);
    set_u16(2, kProtoIpv4);
    set_u8(4, 6);
    set_u8(5, 4);
    set_u16(6, static_cast<uint16_t>(op));
    sha.store(p_ + 8);
    set_u32(14, spa.host());
    tha.store(p_ + 18);
    set_u32(24, tpa.host());
  }
};

}  // namespace skiff::wire
