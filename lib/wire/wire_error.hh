#pragma once
// Why a header failed its checks. Each maps to a named drop reason in the layer that parses it.

#include <cstdint>

namespace skiff::wire {

enum class WireError : uint8_t {
  Ok = 0,
  Truncated,        // buffer shorter than the fixed header
  BadVersion,       // IPv4 version != 4
  BadHeaderLen,     // IPv4 IHL < 5, or IHL past the buffer; TCP data offset < 5 or past the segment
  BadTotalLen,      // IPv4 total length < IHL or > frame; UDP length < 8 or > datagram
  BadHwType,        // ARP htype != Ethernet
  BadProtoType,     // ARP ptype != IPv4
  BadHwLen,         // ARP hlen != 6
  BadProtoLen,      // ARP plen != 4
  BadOp,            // ARP op not request/reply
  BadOptionLen,     // TCP option length 0/1, running past the header, or wrong for its kind
};

const char* to_string(WireError e);

// A view that passed its checks, or the reason it did not.
template <class View>
struct Checked {
  View view{};
  WireError err = WireError::Truncated;

  explicit operator bool() const { return err == WireError::Ok; }
  View* operator->() { return &view; }
  const View* operator->() const { return &view; }
  View& operator*() { return view; }
};

}  // namespace skiff::wire
