#pragma once
// TCP header (RFC 9293 §3.1) and its options (MSS, window scale and timestamps per RFC 7323, SACK per
// RFC 2018, Fast Open per RFC 7413).

#include <array>
#include <optional>

#include "wire/checksum.hh"
#include "wire/seqnum.hh"
#include "wire/view.hh"
#include "wire/wire_error.hh"

namespace skiff::wire {

namespace tcp_flag {
inline constexpr uint8_t kFin = 0x01;
inline constexpr uint8_t kSyn = 0x02;
inline constexpr uint8_t kRst = 0x04;
inline constexpr uint8_t kPsh = 0x08;
inline constexpr uint8_t kAck = 0x10;
inline constexpr uint8_t kUrg = 0x20;
inline constexpr uint8_t kEce = 0x40;
inline constexpr uint8_t kCwr = 0x80;
}  // namespace tcp_flag

namespace tcp_opt {
inline constexpr uint8_t kEol = 0;
inline constexpr uint8_t kNop = 1;
inline constexpr uint8_t kMss = 2;
inline constexpr uint8_t kWscale = 3;
inline constexpr uint8_t kSackPermitted = 4;
inline constexpr uint8_t kSack = 5;
inline constexpr uint8_t kTimestamp = 8;
inline constexpr uint8_t kFastOpen = 34;      // RFC 7413 §4.1.1
inline constexpr uint8_t kExperimental = 254;  // RFC 6994; Fast Open's draft form: magic 0xF989
inline constexpr uint16_t kFastOpenMagic = 0xF989;
}  // namespace tcp_opt

struct SackBlock {
  SeqNum left, right;
};

// The options of one segment, parsed and length-checked.
struct TcpOptions {
  std::optional<uint16_t> mss;
  std::optional<uint8_t> wscale;
  bool sack_permitted = false;
  bool has_timestamp = false;
  uint32_t ts_val = 0, ts_ecr = 0;
  uint8_t num_sack = 0;
  std::array<SackBlock, 4> sack{};
  // RFC 7413 Fast Open: -1 absent (or of a length RFC 7413 does not allow: ignored, as Linux), 0 a cookie
  // request, else the cookie's length (4..16, even); either the option's own kind or the experimental form.
  int8_t fastopen_len = -1;
  bool fastopen_exp = false;  // in the experimental form (kind 254, magic 0xF989); written so too
  std::array<uint8_t, 16> fastopen_cookie{};

  // Parses `opts` (the bytes between the fixed header and the data offset).
  static Checked<TcpOptions> parse(std::span<const uint8_t> opts);
  // The same into `o`, which must be default-constructed (the receive path's form: no copies).
  static WireError parse_into(std::span<const uint8_t> opts, TcpOptions& o);
};

class TcpView : public ViewBase {
 public:
  static constexpr size_t kMinHeaderLen = 20;
  static constexpr size_t kMaxHeaderLen = 60;

  using ViewBase::ViewBase;
  // `b` holds the contiguous bytes of the segment from the TCP header on (at least the full header);
  // `seg_len` is the segment's length (header + data) as the IP header gives it.
  static Checked<TcpView> checked(std::span<uint8_t> b, size_t seg_len) {
    if (b.size() < kMinHeaderLen || seg_len < kMinHeaderLen) return {{}, WireError::Truncated};
    TcpView v(b.data(), b.size());
    const size_t hl = v.header_len();
    if (hl < kMinHeaderLen || hl > seg_len || hl > b.size()) return {{}, WireError::BadHeaderLen};
    return {v, WireError::Ok};
  }
  static Checked<TcpView> checked(std::span<uint8_t> b) { return checked(b, b.size()); }

  uint16_t src_port() const { return u16(0); }
  uint16_t dst_port() const { return u16(2); }
  SeqNum seq() const { return SeqNum(u32(4)); }
  SeqNum ack() const { return SeqNum(u32(8)); }
  size_t header_len() const { return size_t(u8(12) >> 4) * 4; }
  uint8_t flags() const { return u8(13); }
  bool has(uint8_t flag) const { return flags() & flag; }
  uint16_t window() const { return u16(14); }
  uint16_t checksum_raw() const { return load_raw16(p_ + 16); }
  uint16_t urgent_ptr() const { return u16(18); }
  std::span<const uint8_t> options() const { return {p_ + kMinHeaderLen, header_len() - kMinHeaderLen}; }

  void set_src_port(uint16_t v) { set_u16(0, v); }
  void set_dst_port(uint16_t v) { set_u16(2, v); }
  void set_seq(SeqNum s) { set_u32(4, s.raw()); }
  void set_ack(SeqNum s) { set_u32(8, s.raw()); }
  void set_header_len(size_t hl) { set_u8(12, static_cast<uint8_t>((hl / 4) << 4)); }
  void set_flags(uint8_t f) { set_u8(13, f); }
  void set_window(uint16_t w) { set_u16(14, w); }
  void set_checksum_raw(uint16_t raw) { store_raw16(p_ + 16, raw); }
  void set_urgent_ptr(uint16_t v) { set_u16(18, v); }
};

// Writes options into `out` (room for 40 bytes), padded to a multiple of 4 with NOPs/EOL; returns bytes used.
size_t write_tcp_options(uint8_t* out, const TcpOptions& o);

}  // namespace skiff::wire
