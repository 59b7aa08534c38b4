#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <vector>

#include "pkt_builder.hh"
#include "wire/checksum.hh"
#include "wire/endian.hh"

using namespace skiff;
using namespace skiff::wire;

namespace {

// A raw (memory-order) 16-bit value read back as the big-endian number its two bytes spell.
uint16_t raw_as_be(uint16_t raw) {
  uint8_t b[2];
  memcpy(b, &raw, 2);
  return static_cast<uint16_t>((b[0] << 8) | b[1]);
}

// The raw (memory-order) form of a big-endian number.
uint16_t be_as_raw(uint16_t be) {
  const uint8_t b[2] = {static_cast<uint8_t>(be >> 8), static_cast<uint8_t>(be)};
  uint16_t raw;
  memcpy(&raw, b, 2);
  return raw;
}

// Textbook RFC 1071 reference: big-endian 16-bit words, 32-bit accumulator, end-around carry.
uint16_t reference_checksum(const uint8_t* p, size_t len) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < len; i += 2) sum += static_cast<uint32_t>((p[i] << 8) | p[i + 1]);
  if (len % 2) sum += static_cast<uint32_t>(p[len - 1] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

// A real IPv4 header (UDP, 192.168.0.1 -> 192.168.0.199) whose checksum is 0xb861.
constexpr uint8_t kIpHeader[20] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                                   0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};

}  // namespace

// RFC 1071 §3 example: the sum of 0001 f203 f4f5 f6f7 is ddf2 (one's complement: 220d).
TEST(Checksum, Rfc1071Example) {
  const uint8_t b[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  const uint16_t folded = csum_fold16(csum_partial(b, sizeof b));
  // Folded raw sum in memory order equals the big-endian value 0xddf2.
  uint8_t out[2];
  memcpy(out, &folded, 2);
  EXPECT_EQ(out[0], 0xdd);
  EXPECT_EQ(out[1], 0xf2);
  EXPECT_EQ(raw_as_be(inet_checksum(b, sizeof b)), 0x220d);
  EXPECT_EQ(raw_as_be(csum_finish(csum_partial(b, sizeof b))), 0x220d);
}

TEST(Checksum, EmptyBuffer) {
  EXPECT_EQ(csum_partial(nullptr, 0), 0u);
  EXPECT_EQ(csum_partial(nullptr, 0, 0x1234), 0x1234u);
  EXPECT_EQ(inet_checksum(nullptr, 0), 0xffff);
}

TEST(Checksum, KnownIpv4Header) {
  uint8_t h[20];
  memcpy(h, kIpHeader, sizeof h);
  // Verifies as is.
  EXPECT_TRUE(csum_ok(csum_partial(h, sizeof h)));
  EXPECT_EQ(csum_fold16(csum_partial(h, sizeof h)), 0xffff);
  // Recomputed with the field zeroed: the stored bytes b8 61.
  store_raw16(h + 10, 0);
  const uint16_t c = inet_checksum(h, sizeof h);
  EXPECT_EQ(raw_as_be(c), 0xb861);
  uint8_t bytes[2];
  memcpy(bytes, &c, 2);
  EXPECT_EQ(bytes[0], 0xb8);
  EXPECT_EQ(bytes[1], 0x61);
  EXPECT_FALSE(csum_ok(csum_partial(h, sizeof h)));
  // Every single-bit corruption is detected.
  memcpy(h, kIpHeader, sizeof h);
  for (size_t bit = 0; bit < 8 * sizeof h; ++bit) {
    h[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    EXPECT_FALSE(csum_ok(csum_partial(h, sizeof h))) << "bit " << bit;
    h[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
  }
}

TEST(Checksum, OddLengths) {
  // The odd last byte is the high byte of a zero-padded word.
  const uint8_t one[] = {0xab};
  EXPECT_EQ(raw_as_be(csum_fold16(csum_partial(one, 1))), 0xab00);
  EXPECT_EQ(raw_as_be(inet_checksum(one, 1)), 0x54ff);
  const uint8_t three[] = {0x12, 0x34, 0x56};
  EXPECT_EQ(raw_as_be(csum_fold16(csum_partial(three, 3))), 0x1234 + 0x5600);
  // Padding an odd buffer with a zero byte does not change its sum.
  const test::Bytes data = test::pattern(77, 5);
  test::Bytes padded = data;
  padded.push_back(0);
  EXPECT_EQ(csum_fold16(csum_partial(data.data(), data.size())),
            csum_fold16(csum_partial(padded.data(), padded.size())));
}

TEST(Checksum, MatchesReferenceForEveryLengthAndAlignment) {
  const test::Bytes data = test::pattern(300, 9);
  for (size_t off = 0; off < 4; ++off) {
    for (size_t len = 0; len + off <= data.size(); ++len) {
      ASSERT_EQ(raw_as_be(inet_checksum(data.data() + off, len)), reference_checksum(data.data() + off, len))
          << "off " << off << " len " << len;
    }
  }
}

TEST(Checksum, ShortBuffersCarryIntoAnIncomingSum) {
  // Header-sized buffers: all-ones words and a large incoming partial sum must not lose carries.
  const std::vector<uint8_t> ones(200, 0xff);
  const test::Bytes data = test::pattern(200, 5);
  constexpr uint64_t kIncoming = 0x00ffffffffffffffull;  // folds to 0xffff
  for (size_t len = 0; len <= ones.size(); ++len) {
    ASSERT_EQ(csum_fold16(csum_partial(ones.data(), len, kIncoming)),
              csum_fold16(csum_partial(ones.data(), len) + csum_fold16(kIncoming)))
        << len;
    ASSERT_EQ(raw_as_be(inet_checksum(data.data(), len)), reference_checksum(data.data(), len)) << len;
  }
}

TEST(Checksum, CopyAndSumEqualsCopyThenSum) {
  // Every length across the vector threshold and block tails, source and destination misaligned, an
  // incoming sum; and a buffer past the 32 KiB chunk the lanes are sized for, all ones.
  const test::Bytes data = test::pattern(600, 11);
  std::vector<uint8_t> dst(640);
  for (size_t off : {0u, 1u, 3u}) {
    for (size_t len = 0; len + off <= data.size(); ++len) {
      std::fill(dst.begin(), dst.end(), 0xee);
      const uint64_t s = csum_copy(dst.data() + 2 * off + 1, data.data() + off, len, 0x12345);
      ASSERT_EQ(csum_fold16(s), csum_fold16(csum_partial(data.data() + off, len, 0x12345))) << off << " " << len;
      ASSERT_EQ(memcmp(dst.data() + 2 * off + 1, data.data() + off, len), 0) << off << " " << len;
      ASSERT_EQ(dst[2 * off + 1 + len], 0xee) << "wrote past the end: " << off << " " << len;
    }
  }
  const std::vector<uint8_t> ones(100000, 0xff);
  std::vector<uint8_t> big(ones.size());
  EXPECT_EQ(csum_fold16(csum_copy(big.data(), ones.data(), ones.size())), 0xffff);
  EXPECT_EQ(big, ones);
}

TEST(Checksum, AllZeroAndAllOnes) {
  for (size_t len : {2u, 3u, 20u, 64u, 1500u, 9001u}) {
    const std::vector<uint8_t> zeros(len, 0x00);
    EXPECT_EQ(csum_fold16(csum_partial(zeros.data(), len)), 0) << len;
    EXPECT_EQ(inet_checksum(zeros.data(), len), 0xffff) << len;
    EXPECT_FALSE(csum_ok(csum_partial(zeros.data(), len)));
    const std::vector<uint8_t> ones(len, 0xff);
    // Any number of 0xffff words sums to 0xffff (negative zero); an odd trailing 0xff adds 0xff00.
    const uint16_t expect_fold = len % 2 ? 0xff00 : 0xffff;
    EXPECT_EQ(raw_as_be(csum_fold16(csum_partial(ones.data(), len))), expect_fold) << len;
    EXPECT_EQ(raw_as_be(inet_checksum(ones.data(), len)), static_cast<uint16_t>(~expect_fold)) << len;
  }
}

TEST(Checksum, LargeBufferNoLostCarries) {
  // 64 KiB of 0xff: every 32-bit load is 0xffffffff, the accumulators must carry correctly.
  const std::vector<uint8_t> ones(65536, 0xff);
  EXPECT_EQ(csum_fold16(csum_partial(ones.data(), ones.size())), 0xffff);
  const test::Bytes data = test::pattern(65535, 1);
  EXPECT_EQ(raw_as_be(inet_checksum(data.data(), data.size())), reference_checksum(data.data(), data.size()));
}

TEST(Checksum, FoldCarries) {
  EXPECT_EQ(csum_fold16(0), 0);
  EXPECT_EQ(csum_fold16(0xffff), 0xffff);
  EXPECT_EQ(csum_fold16(0x10000), 1);
  EXPECT_EQ(csum_fold16(0x1fffe), 0xffff);
  EXPECT_EQ(csum_fold16(0xffffffffull), 0xffff);
  EXPECT_EQ(csum_fold16(0xffffffffffffffffull), 0xffff);
  EXPECT_EQ(csum_fold16(0x100000000ull), 1);
  EXPECT_EQ(csum_fold16(0x0001000200030004ull), 10);
  EXPECT_EQ(csum_finish(0xffff), 0);
  EXPECT_EQ(csum_finish(0), 0xffff);
  EXPECT_TRUE(csum_ok(0xffff));
  EXPECT_TRUE(csum_ok(0x2fffd));  // folds to 0xffff
  EXPECT_FALSE(csum_ok(0));
  EXPECT_FALSE(csum_ok(0xfffe));
}

TEST(Checksum, SplitBuffersEqualWhole) {
  const test::Bytes data = test::pattern(1001, 3);
  const uint16_t whole = csum_fold16(csum_partial(data.data(), data.size()));
  // Any split at an even offset composes by passing the partial sum on.
  for (size_t cut = 0; cut <= data.size(); cut += 2) {
    uint64_t s = csum_partial(data.data(), cut);
    s = csum_partial(data.data() + cut, data.size() - cut, s);
    ASSERT_EQ(csum_fold16(s), whole) << "cut " << cut;
  }
  // Three pieces, summed separately and added.
  const uint64_t a = csum_partial(data.data(), 100);
  const uint64_t b = csum_partial(data.data() + 100, 502);
  const uint64_t c = csum_partial(data.data() + 602, data.size() - 602);
  EXPECT_EQ(csum_fold16(a + b + c), whole);
}

TEST(Checksum, IncrementalUpdate16MatchesRecompute) {
  std::mt19937 rng(12345);
  uint8_t h[20];
  memcpy(h, kIpHeader, sizeof h);
  for (int iter = 0; iter < 20000; ++iter) {
    // Any 16-bit word but the version/IHL one (kept non-zero so the header is never all zeros) and the
    // checksum field itself.
    size_t word;
    do word = rng() % 10;
    while (word == 0 || word == 5);
    const uint16_t old_raw = load_raw16(h + 2 * word);
    uint16_t new_raw = static_cast<uint16_t>(rng());
    if (iter % 7 == 0) new_raw = 0;
    if (iter % 11 == 0) new_raw = 0xffff;
    if (iter % 13 == 0) new_raw = old_raw;
    const uint16_t updated = csum_update16(load_raw16(h + 10), old_raw, new_raw);
    store_raw16(h + 2 * word, new_raw);
    store_raw16(h + 10, 0);
    const uint16_t full = inet_checksum(h, sizeof h);
    ASSERT_EQ(updated, full) << "iter " << iter;
    store_raw16(h + 10, updated);
    ASSERT_TRUE(csum_ok(csum_partial(h, sizeof h)));
  }
}

TEST(Checksum, IncrementalUpdate32MatchesRecompute) {
  std::mt19937 rng(777);
  uint8_t h[20];
  memcpy(h, kIpHeader, sizeof h);
  for (int iter = 0; iter < 20000; ++iter) {
    // Rewrite the source or destination address (offsets 12, 16), as NAT does.
    const size_t off = rng() % 2 ? 12 : 16;
    uint32_t old_raw, new_raw = static_cast<uint32_t>(rng());
    memcpy(&old_raw, h + off, 4);
    if (iter % 9 == 0) new_raw = 0;
    if (iter % 10 == 0) new_raw = 0xffffffffu;
    const uint16_t updated = csum_update32(load_raw16(h + 10), old_raw, new_raw);
    memcpy(h + off, &new_raw, 4);
    store_raw16(h + 10, 0);
    ASSERT_EQ(updated, inet_checksum(h, sizeof h)) << "iter " << iter;
    store_raw16(h + 10, updated);
  }
}

TEST(Checksum, IncrementalUpdateTtlDecrement) {
  // Forwarding: TTL 64 -> 63 in the known header (TTL/proto word 0x4011 -> 0x3f11).
  uint8_t h[20];
  memcpy(h, kIpHeader, sizeof h);
  const uint16_t old_word = load_raw16(h + 8);
  h[8] = 63;
  const uint16_t c = csum_update16(load_raw16(h + 10), old_word, load_raw16(h + 8));
  EXPECT_EQ(raw_as_be(c), 0xb961);
  store_raw16(h + 10, c);
  EXPECT_TRUE(csum_ok(csum_partial(h, sizeof h)));
  // No change, no checksum change.
  EXPECT_EQ(csum_update16(c, be_as_raw(0x1234), be_as_raw(0x1234)), c);
  EXPECT_EQ(csum_update32(c, 0xdeadbeef, 0xdeadbeef), c);
}

TEST(Checksum, PseudoHeaderSumKnownUdpDatagram) {
  // DNS query "example.com A" from 192.168.1.100:53123 to 8.8.8.8:53; UDP checksum 0xe293.
  uint8_t udp[] = {0xcf, 0x83, 0x00, 0x35, 0x00, 0x25, 0xe2, 0x93, 0xab, 0xcd, 0x01, 0x00, 0x00,
                   0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 0x65, 0x78, 0x61, 0x6d, 0x70,
                   0x6c, 0x65, 0x03, 0x63, 0x6f, 0x6d, 0x00, 0x00, 0x01, 0x00, 0x01};
  static_assert(sizeof udp == 37);
  const Ipv4Addr src = Ipv4Addr::of(192, 168, 1, 100), dst = Ipv4Addr::of(8, 8, 8, 8);
  const uint64_t ph = pseudo_header_sum(src, dst, 17, sizeof udp);
  EXPECT_TRUE(csum_ok(csum_partial(udp, sizeof udp, ph)));
  store_raw16(udp + 6, 0);
  EXPECT_EQ(raw_as_be(csum_finish(csum_partial(udp, sizeof udp, ph))), 0xe293);
  // A wrong pseudo-header (other destination, other protocol, other length) does not verify.
  store_raw16(udp + 6, be_as_raw(0xe293));
  EXPECT_FALSE(
      csum_ok(csum_partial(udp, sizeof udp, pseudo_header_sum(src, Ipv4Addr::of(8, 8, 4, 4), 17, 37))));
  EXPECT_FALSE(csum_ok(csum_partial(udp, sizeof udp, pseudo_header_sum(src, dst, 6, 37))));
  EXPECT_FALSE(csum_ok(csum_partial(udp, sizeof udp, pseudo_header_sum(src, dst, 17, 36))));
}

TEST(Checksum, PseudoHeaderSumMatchesLiteralPseudoHeader) {
  // The 12-byte pseudo-header laid out in memory sums the same as pseudo_header_sum.
  const Ipv4Addr src = Ipv4Addr::of(10, 1, 2, 3), dst = Ipv4Addr::of(172, 16, 254, 1);
  const uint8_t ph[12] = {10, 1, 2, 3, 172, 16, 254, 1, 0, 6, 0x05, 0xdc};
  EXPECT_EQ(csum_fold16(pseudo_header_sum(src, dst, 6, 1500)), csum_fold16(csum_partial(ph, sizeof ph)));
}

TEST(Checksum, BuilderUdpDatagramVerifies) {
  const Ipv4Addr src = Ipv4Addr::of(192, 0, 2, 1), dst = Ipv4Addr::of(198, 51, 100, 7);
  for (size_t n : {0u, 1u, 2u, 13u, 512u}) {
    const test::Bytes d = test::udp(src, dst, 4000, 53, test::pattern(n), true);
    EXPECT_TRUE(csum_ok(csum_partial(d.data(), d.size(), pseudo_header_sum(src, dst, 17, d.size())))) << n;
  }
}

TEST(Checksum, RawLoadStore) {
  uint8_t b[4] = {0x12, 0x34, 0x56, 0x78};
  EXPECT_EQ(raw_as_be(load_raw16(b)), 0x1234);
  EXPECT_EQ(raw_as_be(load_raw16(b + 1)), 0x3456);
  store_raw16(b + 2, be_as_raw(0xabcd));
  EXPECT_EQ(b[2], 0xab);
  EXPECT_EQ(b[3], 0xcd);
  EXPECT_EQ(load_raw16(b), Be16::from_host(0x1234).raw());
}
