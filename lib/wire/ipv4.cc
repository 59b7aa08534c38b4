// IP options of a received datagram (RFC 791 §3.1), checked as a host must before it takes the datagram in.

#include "wire/ipv4.hh"

namespace skiff::wire {

Ipv4OptionCheck ipv4_check_options(std::span<const uint8_t> opts) {
  Ipv4OptionCheck r;
  bool seen_rr = false, seen_ts = false;
  const size_t n = opts.size();
  // Offsets reported count from the start of the IP header, as a parameter problem's pointer does.
  auto bad = [&r](size_t at) {
    r.bad_at = static_cast<uint8_t>(Ipv4View::kMinHeaderLen + at);
    return r;
  };
  for (size_t i = 0; i < n;) {
    const uint8_t kind = opts[i];
    if (kind == ipopt::kEnd) break;
    if (kind == ipopt::kNop) {
      ++i;
      continue;
    }
    if (n - i < 2) return bad(i);
    const size_t len = opts[i + 1];
    if (len < 2 || len > n - i) return bad(i);
    const uint8_t* o = &opts[i];
    switch (kind) {
      case ipopt::kLsrr:
      case ipopt::kSsrr:
        // (RFC 1812 §5.2.4.1: one source route per datagram.)
        if (len < 3) return bad(i + 1);
        if (o[2] < 4) return bad(i + 2);
        if (r.source_route) return bad(i);
        r.source_route = true;
        break;
      case ipopt::kRecordRoute:
        if (seen_rr) return bad(i);
        if (len < 3) return bad(i + 1);
        if (o[2] < 4) return bad(i + 2);
        if (o[2] <= len && o[2] + 3u > len) return bad(i + 2);  // not full, yet no room for an address
        seen_rr = true;
        break;
      case ipopt::kTimestamp:
        if (seen_ts) return bad(i);
        if (len < 4) return bad(i + 1);
        if (o[2] < 5) return bad(i + 2);
        if (o[2] <= len) {
          if (o[2] + 3u > len) return bad(i + 2);
          const uint8_t flag = o[3] & 0xf;
          // Flags 1 and 3 (address and timestamp, prespecified addresses) take 8 bytes an entry.
          if ((flag == 1 || flag == 3) && o[2] + 7u > len) return bad(i + 2);
        } else if ((o[3] & 0xf) != 3 && (o[3] >> 4) == 15) {
          return bad(i + 3);  // full, and its overflow count can count no further
        }
        seen_ts = true;
        break;
      case ipopt::kRouterAlert:
        if (len < 4) return bad(i + 1);
        break;
      case ipopt::kCipso:
        // A CIPSO label names its domain of interpretation; the host knows none, so every label is refused
        // (as Linux's cipso_v4_validate with no DOI configured): at its DOI, or at its length when too short.
        return bad(len < 8 ? i + 1 : i + 2);
      default:
        break;  // security, stream ID and the unknown ones: their length was all there was to check
    }
    i += len;
  }
  return r;
}

}  // namespace skiff::wire
