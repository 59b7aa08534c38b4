#pragma once
// Ethernet II header (IEEE 802.3 framing with an EtherType).

#include "wire/addr.hh"
#include "wire/view.hh"
#include "wire/wire_error.hh"

namespace skiff::wire {

enum class EtherType : uint16_t { Ipv4 = 0x0800, Arp = 0x0806, Vlan = 0x8100, Ipv6 = 0x86dd };

class EthView : public ViewBase {
 public:
  static constexpr size_t kHeaderLen = 14;
  static constexpr size_t kMinFrame = 60;  // without FCS; shorter frames are padded by the sender

  using ViewBase::ViewBase;
  static Checked<EthView> checked(std::span<uint8_t> b) {
    if (b.size() < kHeaderLen) return {{}, WireError::Truncated};
    return {EthView(b.data(), b.size()), WireError::Ok};
  }

  MacAddr dst() const { return MacAddr::load(p_); }
  MacAddr src() const { return MacAddr::load(p_ + 6); }
  uint16_t ethertype() const { return u16(12); }
  std::span<uint8_t> payload() const { return {p_ + kHeaderLen, len_ - kHeaderLen}; }

  void set_dst(const MacAddr& m) { m.store(p_); }
  void set_src(const MacAddr& m) { m.store(p_ + 6); }
  void set_ethertype(EtherType t) { set_u16(12, static_cast<uint16_t>(t)); }
};

}  // namespace skiff::wire
