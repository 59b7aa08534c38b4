#pragma once
// SHA-256 (FIPS 180-4), for checking transferred bytes end to end in the apps and tests.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace skiff::app {

class Sha256 {
 public:
  Sha256() { reset(); }
  void reset();
  void update(const void* data, size_t len);
  std::array<uint8_t, 32> digest();
  std::string hex();  // lower-case hex of digest()

 private:
  void block(const uint8_t* p);
  uint32_t h_[8];
  uint8_t buf_[64];
  size_t buf_len_ = 0;
  uint64_t total_ = 0;
};

}  // namespace skiff::app
