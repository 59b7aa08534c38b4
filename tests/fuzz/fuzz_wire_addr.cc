// libFuzzer target: the address parsers of wire/addr.hh (MacAddr, Ipv4Addr and Ipv4Cidr from text, as the
// command line and INI files give them). The input, as a string, goes to each parser. What one accepts is
// canonical: printing the value gives the input back (a MAC address up to the case of its hex digits), and
// the printed form parses to the same value. The text is copied into an exactly sized heap buffer, so any
// read past its end is an ASan report.
#include <algorithm>
#include <cctype>
#include <memory>
#include <string>
#include <string_view>

#include "fuzz_env.hh"
#include "wire/addr.hh"

using namespace skiff::wire;

namespace {
bool same_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::unique_ptr<char[]> buf(new char[size ? size : 1]);
  std::copy(data, data + size, buf.get());
  const std::string_view s(buf.get(), size);

  if (auto a = Ipv4Addr::parse(s)) {
    const std::string t = a->to_string();
    FUZZ_CHECK(t == s, "Ipv4Addr accepted '%.*s' but prints '%s'", int(s.size()), s.data(), t.c_str());
    auto again = Ipv4Addr::parse(t);
    FUZZ_CHECK(again && *again == *a, "Ipv4Addr '%s' does not parse back", t.c_str());
  }
  if (auto c = Ipv4Cidr::parse(s)) {
    FUZZ_CHECK(c->prefix_len <= 32, "prefix length %u accepted", c->prefix_len);
    const std::string t = c->to_string();
    FUZZ_CHECK(t == s, "Ipv4Cidr accepted '%.*s' but prints '%s'", int(s.size()), s.data(), t.c_str());
    auto again = Ipv4Cidr::parse(t);
    FUZZ_CHECK(again && again->addr == c->addr && again->prefix_len == c->prefix_len, "Ipv4Cidr '%s' does not parse back",
               t.c_str());
    FUZZ_CHECK(c->contains(c->addr) && c->contains(c->network()) && c->contains(c->directed_broadcast()),
               "Ipv4Cidr '%s' does not contain its own network", t.c_str());
  }
  if (auto m = MacAddr::parse(s)) {
    const std::string t = m->to_string();
    FUZZ_CHECK(same_ignoring_case(t, s), "MacAddr accepted '%.*s' but prints '%s'", int(s.size()), s.data(), t.c_str());
    auto again = MacAddr::parse(t);
    FUZZ_CHECK(again && *again == *m, "MacAddr '%s' does not parse back", t.c_str());
  }
  return 0;
}
