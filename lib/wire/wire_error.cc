#include "wire/wire_error.hh"

namespace skiff::wire {

const char* to_string(WireError e) {
  switch (e) {
    case WireError::Ok: return "ok";
    case WireError::Truncated: return "truncated";
    case WireError::BadVersion: return "bad version";
    case WireError::BadHeaderLen: return "bad header length";
    case WireError::BadTotalLen: return "bad total length";
    case WireError::BadHwType: return "bad hardware type";
    case WireError::BadProtoType: return "bad protocol type";
    case WireError::BadHwLen: return "bad hardware address length";
    case WireError::BadProtoLen: return "bad protocol address length";
    case WireError::BadOp: return "bad operation";
    case WireError::BadOptionLen: return "bad option length";
  }
  return "?";
}

}  // namespace skiff::wire
