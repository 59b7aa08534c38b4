#pragma once
// IPv4 header (RFC 791).

#include "wire/addr.hh"
#include "wire/checksum.hh"
#include "wire/view.hh"
#include "wire/wire_error.hh"

namespace skiff::wire {

enum class IpProto : uint8_t { Icmp = 1, Tcp = 6, Udp = 17 };

// IP options (RFC 791 §3.1) as a host receiving them sees them.
namespace ipopt {
inline constexpr uint8_t kEnd = 0, kNop = 1, kSec = 130, kLsrr = 131, kTimestamp = 68, kRecordRoute = 7,
                         kCipso = 134, kSsrr = 137, kRouterAlert = 148;
}
struct Ipv4OptionCheck {
  uint8_t bad_at = 0;         // when malformed: the offending byte's offset from the header's start (>= 20)
  bool source_route = false;  // a loose or strict source route (LSRR/SSRR) is present
};
// Checks the options of a received datagram as Linux's ip_options_compile does for one: a length below 2 or
// past the header; a record route, timestamp or source route too short or with a pointer below its minimum;
// a record route or timestamp not yet full with no room for one more entry; a second record route, timestamp
// or source route; a timestamp whose overflow counter is already at 15; a router alert shorter than 4; any
// CIPSO label (no domain of interpretation is known). Other kinds only need a sane length. `opts` is the
// header's bytes past the first 20.
Ipv4OptionCheck ipv4_check_options(std::span<const uint8_t> opts);

class Ipv4View : public ViewBase {
 public:
  static constexpr size_t kMinHeaderLen = 20;
  static constexpr size_t kMaxHeaderLen = 60;
  static constexpr uint16_t kFlagDF = 0x4000;
  static constexpr uint16_t kFlagMF = 0x2000;
  static constexpr uint16_t kOffsetMask = 0x1fff;
  static constexpr size_t kMaxDatagram = 65535;

  using ViewBase::ViewBase;

  // `b` is the contiguous bytes from the IP header on; `frame_len` is how many bytes of the datagram the
  // frame carries in all (>= b.size() for a chained buffer). The header itself must be contiguous.
  static Checked<Ipv4View> checked(std::span<uint8_t> b, size_t frame_len) {
    if (b.size() < kMinHeaderLen) return {{}, WireError::Truncated};
    Ipv4View v(b.data(), b.size());
    if (v.version() != 4) return {{}, WireError::BadVersion};
    const size_t hl = v.header_len();
    if (hl < kMinHeaderLen || hl > b.size()) return {{}, WireError::BadHeaderLen};
    const size_t tl = v.total_len();
    if (tl < hl || tl > frame_len) return {{}, WireError::BadTotalLen};
    return {v, WireError::Ok};
  }
  static Checked<Ipv4View> checked(std::span<uint8_t> b) { return checked(b, b.size()); }

  uint8_t version() const { return u8(0) >> 4; }
  size_t header_len() const { return size_t(u8(0) & 0xf) * 4; }
  uint8_t tos() const { return u8(1); }
  uint16_t total_len() const { return u16(2); }
  uint16_t ident() const { return u16(4); }
  uint16_t flags_frag() const { return u16(6); }
  bool dont_frag() const { return flags_frag() & kFlagDF; }
  bool more_frags() const { return flags_frag() & kFlagMF; }
  size_t frag_offset() const { return size_t(flags_frag() & kOffsetMask) * 8; }  // bytes
  bool is_fragment() const { return flags_frag() & (kFlagMF | kOffsetMask); }
  uint8_t ttl() const { return u8(8); }
  uint8_t proto() const { return u8(9); }
  uint16_t checksum_raw() const { return load_raw16(p_ + 10); }
  Ipv4Addr src() const { return Ipv4Addr(u32(12)); }
  Ipv4Addr dst() const { return Ipv4Addr(u32(16)); }
  std::span<uint8_t> options() const { return {p_ + kMinHeaderLen, header_len() - kMinHeaderLen}; }
  bool checksum_ok() const { return csum_ok(csum_partial(p_, header_len())); }

  void set_version_ihl(size_t header_len) { set_u8(0, static_cast<uint8_t>(0x40 | (header_len / 4))); }
  void set_tos(uint8_t v) { set_u8(1, v); }
  void set_total_len(uint16_t v) { set_u16(2, v); }
  void set_ident(uint16_t v) { set_u16(4, v); }
  void set_flags_frag(uint16_t v) { set_u16(6, v); }
  void set_ttl(uint8_t v) { set_u8(8, v); }
  void set_proto(uint8_t v) { set_u8(9, v); }
  void set_src(Ipv4Addr a) { set_u32(12, a.host()); }
  void set_dst(Ipv4Addr a) { set_u32(16, a.host()); }
  void set_checksum_raw(uint16_t raw) { store_raw16(p_ + 10, raw); }
  void fill_checksum() {
    set_checksum_raw(0);
    set_checksum_raw(inet_checksum(p_, header_len()));
  }

  // Writes a 20-byte header (no options) with its checksum, summed from the field values rather than read
  // back (a read of just-written bytes waits for every store before it to land, a segment's payload copy
  // included). A device offloading the checksum wants the field zero: the caller clears it.
  void build(Ipv4Addr src, Ipv4Addr dst, uint8_t proto, uint16_t total_len, uint16_t ident, uint8_t ttl,
             uint8_t tos, uint16_t flags_frag) {
    set_version_ihl(kMinHeaderLen);
    set_tos(tos);
    set_total_len(total_len);
    set_ident(ident);
    set_flags_frag(flags_frag);
    set_ttl(ttl);
    set_proto(proto);
    set_src(src);
    set_dst(dst);
    // The header's 16-bit words as numbers (RFC 1071 in network order), then stored big-endian.
    const uint32_t s = src.host(), d = dst.host();
    uint32_t sum = ((0x40u | kMinHeaderLen / 4) << 8 | tos) + total_len + ident + flags_frag +
                   (uint32_t{ttl} << 8 | proto) + (s >> 16) + (s & 0xffff) + (d >> 16) + (d & 0xffff);
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    set_u16(10, static_cast<uint16_t>(~sum));
  }
};

}  // namespace skiff::wire
