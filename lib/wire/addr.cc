#include "wire/addr.hh"

#include <charconv>
#include <cstdio>

namespace skiff::wire {

std::string MacAddr::to_string() const {
  char buf[18];
  snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5]);
  return buf;
}

std::optional<MacAddr> MacAddr::parse(std::string_view s) {
  MacAddr m;
  if (s.size() != 17) return std::nullopt;
  for (int i = 0; i < 6; ++i) {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(s.data() + 3 * i, s.data() + 3 * i + 2, v, 16);
    if (ec != std::errc() || p != s.data() + 3 * i + 2) return std::nullopt;
    if (i < 5 && s[3 * i + 2] != ':') return std::nullopt;
    m.b[i] = static_cast<uint8_t>(v);
  }
  return m;
}

std::optional<Ipv4Addr> Ipv4Addr::parse(std::string_view s) {
  uint32_t v = 0;
  const char* p = s.data();
  const char* end = s.data() + s.size();
  for (int i = 0; i < 4; ++i) {
    if (p == end || *p < '0' || *p > '9') return std::nullopt;
    unsigned octet = 0;
    const char* start = p;
    auto [q, ec] = std::from_chars(p, end, octet, 10);
    if (ec != std::errc() || octet > 255 || q - start > 3) return std::nullopt;
    if (q - start > 1 && *start == '0') return std::nullopt;  // no octal-looking octets
    v = (v << 8) | octet;
    p = q;
    if (i < 3) {
      if (p == end || *p != '.') return std::nullopt;
      ++p;
    }
  }
  if (p != end) return std::nullopt;
  return Ipv4Addr(v);
}

std::string Ipv4Addr::to_string() const {
  char buf[16];
  snprintf(buf, sizeof buf, "%u.%u.%u.%u", v_ >> 24, (v_ >> 16) & 0xff, (v_ >> 8) & 0xff, v_ & 0xff);
  return buf;
}

std::optional<Ipv4Cidr> Ipv4Cidr::parse(std::string_view s) {
  auto slash = s.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto a = Ipv4Addr::parse(s.substr(0, slash));
  if (!a) return std::nullopt;
  auto rest = s.substr(slash + 1);
  unsigned len = 0;
  auto [p, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), len, 10);
  if (rest.empty() || ec != std::errc() || p != rest.data() + rest.size() || len > 32) return std::nullopt;
  if (rest.size() > 1 && rest[0] == '0') return std::nullopt;  // no leading zeros, as in the octets
  return Ipv4Cidr{*a, static_cast<uint8_t>(len)};
}

std::string Ipv4Cidr::to_string() const { return addr.to_string() + "/" + std::to_string(prefix_len); }

}  // namespace skiff::wire
