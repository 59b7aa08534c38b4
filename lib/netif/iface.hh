#pragma once
// An interface of the stack: a device with its IPv4 address. Shared read-only by all shards.

#include <string>

#include "netif/device.hh"
#include "wire/addr.hh"

namespace skiff {

struct Iface {
  unsigned index = 0;
  NetDevice* dev = nullptr;
  wire::MacAddr mac;
  uint16_t mtu = 1500;
  wire::Ipv4Cidr addr{};
  DeviceCaps caps;

  // (An interface without an address owns none: 0.0.0.0 is nobody's.)
  bool is_our_addr(wire::Ipv4Addr a) const { return !a.is_any() && a == addr.addr; }
  // Limited broadcast, or the directed broadcast of our subnet (not for /31 and /32).
  bool is_broadcast(wire::Ipv4Addr a) const {
    return a.is_broadcast() || (addr.prefix_len < 31 && a == addr.directed_broadcast());
  }
};

}  // namespace skiff
