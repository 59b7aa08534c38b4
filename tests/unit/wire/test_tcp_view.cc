#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <initializer_list>
#include <ostream>
#include <random>
#include <span>
#include <vector>

#include "wire/tcp.hh"

// Readable failure messages: print a WireError by name (identical inline definition in each test file).
namespace skiff::wire {
inline void PrintTo(WireError e, std::ostream* os) {
  *os << to_string(e);
}
}  // namespace skiff::wire

using namespace skiff::wire;

namespace {

uint16_t raw_as_be(uint16_t raw) {
  uint8_t b[2];
  memcpy(b, &raw, 2);
  return static_cast<uint16_t>((b[0] << 8) | b[1]);
}

// A Linux-style SYN, 10.0.0.1:40000 -> 10.0.0.2:80, seq 0x12345678, window 64240, checksum 0x1db8, with
// options MSS 1460, SACK permitted, timestamps (val 0x0a0b0c0d, ecr 0), NOP, window scale 7.
constexpr std::array<uint8_t, 40> kSyn = {
    0x9c, 0x40, 0x00, 0x50, 0x12, 0x34, 0x56, 0x78, 0x00, 0x00,
    0x00, 0x00, 0xa0, 0x02, 0xfa, 0xf0, 0x1d, 0xb8, 0x00, 0x00,  // fixed header
    0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0x0a, 0x0b,
    0x0c, 0x0d, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07,  // options
};
const Ipv4Addr kSrc = Ipv4Addr::of(10, 0, 0, 1);
const Ipv4Addr kDst = Ipv4Addr::of(10, 0, 0, 2);

// A bare 20-byte ACK (with PSH) carrying 4 data bytes.
constexpr std::array<uint8_t, 24> kAckWithData = {
    0x00, 0x50, 0x9c, 0x40, 0xab, 0xcd, 0xef, 0x01, 0x12, 0x34, 0x56, 0x79,
    0x50, 0x18, 0x01, 0xf6, 0x00, 0x00, 0x00, 0x00, 'd',  'a',  't',  'a',
};

using Opt = std::vector<uint8_t>;

Checked<TcpOptions> parse(const Opt& o) {
  return TcpOptions::parse(std::span<const uint8_t>(o.data(), o.size()));
}
WireError parse_err(const Opt& o) {
  return parse(o).err;
}

}  // namespace

// ---- TcpView ----

TEST(TcpView, RealSynAccessors) {
  auto b = kSyn;
  auto v = TcpView::checked(b, b.size());
  ASSERT_TRUE(v);
  EXPECT_EQ(v->src_port(), 40000);
  EXPECT_EQ(v->dst_port(), 80);
  EXPECT_EQ(v->seq(), SeqNum(0x12345678));
  EXPECT_EQ(v->ack(), SeqNum(0));
  EXPECT_EQ(v->header_len(), 40u);
  EXPECT_EQ(v->flags(), tcp_flag::kSyn);
  EXPECT_TRUE(v->has(tcp_flag::kSyn));
  EXPECT_FALSE(v->has(tcp_flag::kAck));
  EXPECT_EQ(v->window(), 64240);
  EXPECT_EQ(raw_as_be(v->checksum_raw()), 0x1db8);
  EXPECT_EQ(v->urgent_ptr(), 0);
  ASSERT_EQ(v->options().size(), 20u);
  EXPECT_EQ(v->options().data(), b.data() + 20);
  EXPECT_TRUE(csum_ok(csum_partial(b.data(), b.size(), pseudo_header_sum(kSrc, kDst, 6, b.size()))));

  auto o = TcpOptions::parse(v->options());
  ASSERT_TRUE(o);
  ASSERT_TRUE(o->mss);
  EXPECT_EQ(*o->mss, 1460);
  EXPECT_TRUE(o->sack_permitted);
  EXPECT_TRUE(o->has_timestamp);
  EXPECT_EQ(o->ts_val, 0x0a0b0c0du);
  EXPECT_EQ(o->ts_ecr, 0u);
  ASSERT_TRUE(o->wscale);
  EXPECT_EQ(*o->wscale, 7);
  EXPECT_EQ(o->num_sack, 0);
}

TEST(TcpView, MinimumHeaderWithData) {
  auto b = kAckWithData;
  auto v = TcpView::checked(b);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->header_len(), 20u);
  EXPECT_TRUE(v->options().empty());
  EXPECT_EQ(v->seq(), SeqNum(0xabcdef01u));
  EXPECT_EQ(v->ack(), SeqNum(0x12345679));
  EXPECT_TRUE(v->has(tcp_flag::kAck));
  EXPECT_TRUE(v->has(tcp_flag::kPsh));
  EXPECT_FALSE(v->has(tcp_flag::kSyn));
  EXPECT_FALSE(v->has(tcp_flag::kFin));
  EXPECT_EQ(v->window(), 502);
  auto o = TcpOptions::parse(v->options());
  ASSERT_TRUE(o);
  EXPECT_FALSE(o->mss);
  EXPECT_FALSE(o->wscale);
  EXPECT_FALSE(o->sack_permitted);
  EXPECT_FALSE(o->has_timestamp);
  EXPECT_EQ(o->num_sack, 0);
  // Header only (no data) is also a good segment.
  EXPECT_TRUE(TcpView::checked(std::span<uint8_t>(b.data(), 20)));
}

TEST(TcpView, EveryFlag) {
  auto b = kAckWithData;
  const uint8_t flags[] = {tcp_flag::kFin, tcp_flag::kSyn, tcp_flag::kRst, tcp_flag::kPsh,
                           tcp_flag::kAck, tcp_flag::kUrg, tcp_flag::kEce, tcp_flag::kCwr};
  uint8_t all = 0;
  for (uint8_t f : flags) {
    EXPECT_EQ(f & all, 0);  // distinct bits
    all = static_cast<uint8_t>(all | f);
    b[13] = f;
    auto v = TcpView::checked(b);
    ASSERT_TRUE(v);
    for (uint8_t g : flags) EXPECT_EQ(v->has(g), g == f);
  }
  EXPECT_EQ(all, 0xff);
}

TEST(TcpView, Truncated) {
  auto b = kSyn;
  for (size_t n = 0; n < TcpView::kMinHeaderLen; ++n) {
    auto v = TcpView::checked(std::span<uint8_t>(b.data(), n), b.size());
    EXPECT_FALSE(v) << n;
    EXPECT_EQ(v.err, WireError::Truncated) << n;
  }
  // The IP header announces a segment shorter than a TCP header.
  for (size_t seg = 0; seg < TcpView::kMinHeaderLen; ++seg) {
    EXPECT_EQ(TcpView::checked(b, seg).err, WireError::Truncated) << seg;
  }
}

TEST(TcpView, BadDataOffsetBelowFive) {
  for (uint8_t doff = 0; doff < 5; ++doff) {
    auto b = kAckWithData;
    b[12] = static_cast<uint8_t>(doff << 4);
    auto v = TcpView::checked(b);
    EXPECT_FALSE(v) << int(doff);
    EXPECT_EQ(v.err, WireError::BadHeaderLen) << int(doff);
  }
}

TEST(TcpView, BadDataOffsetPastBufferOrSegment) {
  auto b = kSyn;
  // The 40-byte header cut one byte short in the buffer.
  EXPECT_EQ(TcpView::checked(std::span<uint8_t>(b.data(), 39), b.size()).err, WireError::BadHeaderLen);
  // Or in the segment as the IP header gives it.
  EXPECT_EQ(TcpView::checked(b, 39).err, WireError::BadHeaderLen);
  EXPECT_EQ(TcpView::checked(b, 20).err, WireError::BadHeaderLen);
  EXPECT_TRUE(TcpView::checked(b, 40));
  // Data offset 15 (60 bytes) in the 40-byte SYN.
  b[12] = 0xf0;
  EXPECT_EQ(TcpView::checked(b).err, WireError::BadHeaderLen);
  // Data offset 6 in a bare 20-byte header.
  auto a = kAckWithData;
  a[12] = 0x60;
  EXPECT_EQ(TcpView::checked(std::span<uint8_t>(a.data(), 20)).err, WireError::BadHeaderLen);
  // The low nibble (reserved bits) does not change the header length.
  auto r = kAckWithData;
  r[12] = 0x5f;
  auto v = TcpView::checked(r);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->header_len(), 20u);
}

TEST(TcpView, MaximumHeaderLength) {
  std::array<uint8_t, 60> b{};
  b[12] = 0xf0;
  for (size_t i = 20; i < 60; ++i) b[i] = tcp_opt::kNop;
  auto v = TcpView::checked(b);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->header_len(), TcpView::kMaxHeaderLen);
  EXPECT_EQ(v->options().size(), 40u);
  EXPECT_TRUE(TcpOptions::parse(v->options()));
}

TEST(TcpView, SettersBuildTheRealSyn) {
  std::array<uint8_t, 44> b{};
  b.fill(0xcc);
  TcpView v(b.data(), 40);
  v.set_src_port(40000);
  v.set_dst_port(80);
  v.set_seq(SeqNum(0x12345678));
  v.set_ack(SeqNum(0));
  v.set_header_len(40);
  v.set_flags(tcp_flag::kSyn);
  v.set_window(64240);
  v.set_urgent_ptr(0);
  TcpOptions o;
  o.mss = 1460;
  o.sack_permitted = true;
  o.has_timestamp = true;
  o.ts_val = 0x0a0b0c0d;
  o.wscale = 7;
  ASSERT_EQ(write_tcp_options(b.data() + 20, o), 20u);
  v.set_checksum_raw(0);
  v.set_checksum_raw(csum_finish(csum_partial(b.data(), 40, pseudo_header_sum(kSrc, kDst, 6, 40))));
  EXPECT_EQ(memcmp(b.data(), kSyn.data(), kSyn.size()), 0);
  for (size_t i = 40; i < b.size(); ++i) EXPECT_EQ(b[i], 0xcc) << i;
}

TEST(TcpView, SettersRoundTrip) {
  std::array<uint8_t, 20> b{};
  TcpView v(b.data(), b.size());
  v.set_src_port(0xffff);
  v.set_dst_port(1);
  v.set_seq(SeqNum(0xfffffffeu));
  v.set_ack(SeqNum(0x80000000u));
  v.set_header_len(20);
  v.set_flags(tcp_flag::kFin | tcp_flag::kAck | tcp_flag::kUrg);
  v.set_window(0);
  v.set_checksum_raw(0xa55a);
  v.set_urgent_ptr(0x1234);
  auto back = TcpView::checked(b);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->src_port(), 0xffff);
  EXPECT_EQ(back->dst_port(), 1);
  EXPECT_EQ(back->seq(), SeqNum(0xfffffffeu));
  EXPECT_EQ(back->ack(), SeqNum(0x80000000u));
  EXPECT_EQ(back->header_len(), 20u);
  EXPECT_TRUE(back->has(tcp_flag::kFin));
  EXPECT_TRUE(back->has(tcp_flag::kAck));
  EXPECT_TRUE(back->has(tcp_flag::kUrg));
  EXPECT_FALSE(back->has(tcp_flag::kRst));
  EXPECT_EQ(back->window(), 0);
  EXPECT_EQ(back->checksum_raw(), 0xa55a);
  EXPECT_EQ(back->urgent_ptr(), 0x1234);
  const uint8_t expect[20] = {0xff, 0xff, 0x00, 0x01, 0xff, 0xff, 0xff,  0xfe,  0x80, 0x00,
                              0x00, 0x00, 0x50, 0x31, 0x00, 0x00, b[16], b[17], 0x12, 0x34};
  EXPECT_EQ(memcmp(b.data(), expect, 20), 0);
}

TEST(TcpView, ChecksumDetectsCorruption) {
  for (size_t i = 0; i < kSyn.size(); ++i) {
    auto b = kSyn;
    b[i] ^= 0x20;
    EXPECT_FALSE(csum_ok(csum_partial(b.data(), b.size(), pseudo_header_sum(kSrc, kDst, 6, b.size())))) << i;
  }
  auto b = kSyn;
  // Right bytes, wrong pseudo-header.
  EXPECT_FALSE(csum_ok(csum_partial(b.data(), b.size(), pseudo_header_sum(kDst, kDst, 6, b.size()))));
}

// ---- TcpOptions::parse: good input ----

TEST(TcpOptions, Empty) {
  auto o = parse({});
  ASSERT_TRUE(o);
  EXPECT_FALSE(o->mss);
  EXPECT_FALSE(o->wscale);
  EXPECT_FALSE(o->sack_permitted);
  EXPECT_FALSE(o->has_timestamp);
  EXPECT_EQ(o->num_sack, 0);
}

TEST(TcpOptions, EachOptionAlone) {
  auto mss = parse({0x02, 0x04, 0x21, 0x98});
  ASSERT_TRUE(mss);
  EXPECT_EQ(mss->mss, 8600);
  EXPECT_FALSE(mss->wscale);

  auto ws = parse({0x01, 0x03, 0x03, 0x0e});
  ASSERT_TRUE(ws);
  EXPECT_EQ(ws->wscale, 14);
  EXPECT_FALSE(ws->mss);

  auto ws0 = parse({0x03, 0x03, 0x00, 0x00});
  ASSERT_TRUE(ws0);
  ASSERT_TRUE(ws0->wscale);  // a scale of 0 is still "present"
  EXPECT_EQ(*ws0->wscale, 0);

  auto sp = parse({0x01, 0x01, 0x04, 0x02});
  ASSERT_TRUE(sp);
  EXPECT_TRUE(sp->sack_permitted);

  auto ts = parse({0x01, 0x01, 0x08, 0x0a, 0x00, 0x0f, 0x42, 0x40, 0xff, 0xff, 0xff, 0xfe});
  ASSERT_TRUE(ts);
  EXPECT_TRUE(ts->has_timestamp);
  EXPECT_EQ(ts->ts_val, 1000000u);
  EXPECT_EQ(ts->ts_ecr, 0xfffffffeu);
  EXPECT_FALSE(ts->sack_permitted);
}

TEST(TcpOptions, SackBlocksOneToFour) {
  for (size_t blocks = 1; blocks <= 4; ++blocks) {
    Opt o;
    if (blocks < 4) {  // 4 blocks (34 bytes) leave no room for the NOPs within 40
      o.push_back(tcp_opt::kNop);
      o.push_back(tcp_opt::kNop);
    }
    o.push_back(tcp_opt::kSack);
    o.push_back(static_cast<uint8_t>(2 + 8 * blocks));
    for (size_t i = 0; i < blocks; ++i) {
      const uint32_t left = 0xfffff000u + static_cast<uint32_t>(i) * 0x1000;  // crosses the wrap
      const uint32_t right = left + 0x800;
      uint8_t w[8];
      store_be32(w, left);
      store_be32(w + 4, right);
      for (uint8_t x : w) o.push_back(x);
    }
    auto r = parse(o);
    ASSERT_TRUE(r) << blocks;
    ASSERT_EQ(r->num_sack, blocks);
    for (size_t i = 0; i < blocks; ++i) {
      const uint32_t left = 0xfffff000u + static_cast<uint32_t>(i) * 0x1000;
      EXPECT_EQ(r->sack[i].left, SeqNum(left)) << blocks << " " << i;
      EXPECT_EQ(r->sack[i].right, SeqNum(left + 0x800)) << blocks << " " << i;
    }
  }
}

TEST(TcpOptions, RealDataSegmentWithTimestampAndSack) {
  // NOP NOP TS, NOP NOP SACK with 1 block: what Linux sends on a duplicate ACK.
  const Opt o = {0x01, 0x01, 0x08, 0x0a, 0x00, 0x01, 0x86, 0xa0, 0x00, 0x00, 0x27, 0x10,
                 0x01, 0x01, 0x05, 0x0a, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x20, 0x00};
  auto r = parse(o);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->has_timestamp);
  EXPECT_EQ(r->ts_val, 100000u);
  EXPECT_EQ(r->ts_ecr, 10000u);
  ASSERT_EQ(r->num_sack, 1);
  EXPECT_EQ(r->sack[0].left, SeqNum(0x1000));
  EXPECT_EQ(r->sack[0].right, SeqNum(0x2000));
}

TEST(TcpOptions, NopPaddingOnly) {
  auto r = parse(Opt(40, tcp_opt::kNop));
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->mss);
  auto one = parse({tcp_opt::kNop});
  EXPECT_TRUE(one);
}

TEST(TcpOptions, EolStopsParsing) {
  // Anything after EOL is ignored, even bytes that would be malformed.
  auto r = parse({0x02, 0x04, 0x05, 0xb4, 0x00, 0x02, 0x00, 0xff});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->mss, 1460);
  auto r2 = parse({0x00, 0x02, 0x04, 0x05, 0xb4});
  ASSERT_TRUE(r2);
  EXPECT_FALSE(r2->mss);
  auto r3 = parse({0x01, 0x00, 0x03, 0x03, 0x07});
  ASSERT_TRUE(r3);
  EXPECT_FALSE(r3->wscale);
  // EOL as the very last byte.
  auto r4 = parse({0x01, 0x01, 0x01, 0x00});
  EXPECT_TRUE(r4);
}

TEST(TcpOptions, UnknownKindsSkippedByLength) {
  // MPTCP (30) with 4 bytes, a TFO cookie (34) with 10 (its bytes are a cookie, not options), an
  // experimental (254) with 2, then real options.
  const Opt o = {0x1e, 0x04, 0x00, 0x81,                                      // unknown, len 4
                 0x22, 0x0a, 0x02, 0x04, 0xff, 0xff, 0x03, 0x03, 0x09, 0x00,  // Fast Open, len 10
                 0xfe, 0x02,                                                  // unknown, len 2
                 0x02, 0x04, 0x05, 0x78, 0x03, 0x03, 0x02, 0x01};
  auto r = parse(o);
  ASSERT_TRUE(r);
  // The option-looking bytes inside the unknown option were skipped, not parsed.
  EXPECT_EQ(r->mss, 1400);
  EXPECT_EQ(r->wscale, 2);
  // An unknown option that exactly fills the space.
  auto full = parse({0xaa, 0x04, 0x01, 0x02});
  EXPECT_TRUE(full);
}

// ---- TcpOptions::parse: malformed input ----

TEST(TcpOptions, LengthZero) {
  EXPECT_EQ(parse_err({0x02, 0x00, 0x05, 0xb4}), WireError::BadOptionLen);
  EXPECT_EQ(parse_err({0x01, 0x01, 0x08, 0x00}), WireError::BadOptionLen);
  EXPECT_EQ(parse_err({0x1e, 0x00, 0x00, 0x00}), WireError::BadOptionLen);  // unknown: would loop forever
}

TEST(TcpOptions, LengthOne) {
  EXPECT_EQ(parse_err({0x02, 0x01, 0x05, 0xb4}), WireError::BadOptionLen);
  EXPECT_EQ(parse_err({0x04, 0x01, 0x01, 0x01}), WireError::BadOptionLen);
  EXPECT_EQ(parse_err({0xfe, 0x01, 0x01, 0x01}), WireError::BadOptionLen);
}

TEST(TcpOptions, LengthRunsPastEnd) {
  EXPECT_EQ(parse_err({0x02, 0x04, 0x05}), WireError::BadOptionLen);
  EXPECT_EQ(parse_err({0x01, 0x01, 0x08, 0x0a, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00}),
            WireError::BadOptionLen);
  EXPECT_EQ(parse_err({0x01, 0x01, 0x05, 0x12, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02}),
            WireError::BadOptionLen);
  EXPECT_EQ(parse_err({0xfe, 0x08, 0x00, 0x00}), WireError::BadOptionLen);
  EXPECT_EQ(parse_err({0x01, 0x01, 0xfe, 0xff}), WireError::BadOptionLen);
  // A good option followed by one that overruns: the whole set is rejected.
  EXPECT_EQ(parse_err({0x02, 0x04, 0x05, 0xb4, 0x03, 0x03}), WireError::BadOptionLen);
  // With the window-scale byte there, it fits exactly and is fine.
  EXPECT_TRUE(parse({0x02, 0x04, 0x05, 0xb4, 0x03, 0x03, 0x07}));
}

TEST(TcpOptions, KindAtLastByteWithoutLength) {
  for (uint8_t kind : {tcp_opt::kMss, tcp_opt::kWscale, tcp_opt::kSackPermitted, tcp_opt::kSack,
                       tcp_opt::kTimestamp, uint8_t{0x1e}, uint8_t{0xff}}) {
    EXPECT_EQ(parse_err({0x01, 0x01, 0x01, kind}), WireError::BadOptionLen) << int(kind);
    EXPECT_EQ(parse_err({kind}), WireError::BadOptionLen) << int(kind);
  }
}

TEST(TcpOptions, WrongFixedLengths) {
  // MSS must be 4.
  for (uint8_t len : {2, 3, 5, 6}) {
    Opt o = {tcp_opt::kMss, len};
    o.resize(8, 0x01);
    EXPECT_EQ(parse_err(o), WireError::BadOptionLen) << "mss " << int(len);
  }
  // Window scale must be 3.
  for (uint8_t len : {2, 4, 5}) {
    Opt o = {tcp_opt::kWscale, len};
    o.resize(8, 0x01);
    EXPECT_EQ(parse_err(o), WireError::BadOptionLen) << "ws " << int(len);
  }
  // SACK permitted must be 2.
  for (uint8_t len : {3, 4}) {
    Opt o = {tcp_opt::kSackPermitted, len};
    o.resize(8, 0x01);
    EXPECT_EQ(parse_err(o), WireError::BadOptionLen) << "sackp " << int(len);
  }
  // Timestamps must be 10.
  for (uint8_t len : {2, 6, 8, 9, 11, 12}) {
    Opt o = {tcp_opt::kTimestamp, len};
    o.resize(16, 0x01);
    EXPECT_EQ(parse_err(o), WireError::BadOptionLen) << "ts " << int(len);
  }
}

TEST(TcpOptions, SackLengths) {
  for (uint8_t len = 2; len <= 40; ++len) {
    Opt o = {tcp_opt::kSack, len};
    o.resize(40, 0x00);
    const bool valid = len == 10 || len == 18 || len == 26 || len == 34;
    auto r = parse(o);
    if (valid) {
      ASSERT_TRUE(r) << int(len);
      EXPECT_EQ(r->num_sack, (len - 2) / 8) << int(len);
    } else {
      EXPECT_EQ(r.err, WireError::BadOptionLen) << int(len);
    }
  }
}

TEST(TcpOptions, MalformedAfterGoodIsStillRejected) {
  // The checks apply wherever the option sits.
  EXPECT_EQ(parse_err({0x01, 0x01, 0x04, 0x02, 0x02, 0x03, 0x05, 0x01}), WireError::BadOptionLen);
  EXPECT_EQ(parse_err({0x02, 0x04, 0x05, 0xb4, 0x01, 0x05, 0x0b, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                       0x00, 0x00}),
            WireError::BadOptionLen);
}

TEST(TcpOptions, RandomBytesNeverMisbehave) {
  std::mt19937 rng(2024);
  for (int iter = 0; iter < 200000; ++iter) {
    const size_t n = rng() % 41;
    Opt o(n);
    for (auto& x : o) {
      // Mostly known kinds and small lengths, so that the checks are actually reached.
      const uint32_t r = rng();
      x = (r & 0x300) ? static_cast<uint8_t>(r % 12) : static_cast<uint8_t>(r);
    }
    auto r = parse(o);
    if (r) {
      ASSERT_LE(r->num_sack, 4);
      if (r->mss) {
        ASSERT_GE(n, 4u);
      }
    } else {
      ASSERT_EQ(r.err, WireError::BadOptionLen);
    }
  }
}

// ---- write_tcp_options ----

TEST(WriteTcpOptions, Empty) {
  uint8_t out[40];
  EXPECT_EQ(write_tcp_options(out, TcpOptions{}), 0u);
}

TEST(WriteTcpOptions, ExactBytes) {
  uint8_t out[40];
  TcpOptions o;
  o.mss = 1460;
  o.sack_permitted = true;
  ASSERT_EQ(write_tcp_options(out, o), 8u);
  const uint8_t e1[8] = {0x02, 0x04, 0x05, 0xb4, 0x01, 0x01, 0x04, 0x02};
  EXPECT_EQ(memcmp(out, e1, sizeof e1), 0);

  TcpOptions t;
  t.has_timestamp = true;
  t.ts_val = 0x11223344;
  t.ts_ecr = 0x55667788;
  ASSERT_EQ(write_tcp_options(out, t), 12u);
  const uint8_t e2[12] = {0x01, 0x01, 0x08, 0x0a, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88};
  EXPECT_EQ(memcmp(out, e2, sizeof e2), 0);

  TcpOptions w;
  w.wscale = 9;
  ASSERT_EQ(write_tcp_options(out, w), 4u);
  const uint8_t e3[4] = {0x01, 0x03, 0x03, 0x09};
  EXPECT_EQ(memcmp(out, e3, sizeof e3), 0);
}

TEST(WriteTcpOptions, EveryCombinationParsesBack) {
  const std::initializer_list<std::optional<uint16_t>> mss_values = {std::nullopt, uint16_t{536},
                                                                     uint16_t{65535}};
  const std::initializer_list<std::optional<uint8_t>> ws_values = {std::nullopt, uint8_t{0}, uint8_t{14}};
  int combos = 0;
  for (const auto& mss : mss_values) {
    for (const auto& ws : ws_values) {
      for (bool sp : {false, true}) {
        for (bool ts : {false, true}) {
          for (uint8_t ns = 0; ns <= 4; ++ns) {
            TcpOptions o;
            o.mss = mss;
            o.wscale = ws;
            o.sack_permitted = sp;
            o.has_timestamp = ts;
            o.ts_val = 0xdeadbeef;
            o.ts_ecr = 0x01020304;
            o.num_sack = ns;
            for (uint8_t i = 0; i < ns; ++i) {
              o.sack[i] = {SeqNum(0xfffff000u + i * 0x10000u), SeqNum(0xfffff800u + i * 0x10000u)};
            }
            std::array<uint8_t, 48> buf{};
            buf.fill(0xcc);
            const size_t n = write_tcp_options(buf.data(), o);
            SCOPED_TRACE(testing::Message() << "mss " << mss.has_value() << " ws " << ws.has_value() << " sp "
                                            << sp << " ts " << ts << " sack " << int(ns));
            ASSERT_LE(n, 40u);
            ASSERT_EQ(n % 4, 0u);
            for (size_t i = n; i < buf.size(); ++i)
              ASSERT_EQ(buf[i], 0xcc) << "wrote past its length at " << i;

            auto r = TcpOptions::parse(std::span<const uint8_t>(buf.data(), n));
            ASSERT_TRUE(r);
            EXPECT_EQ(r->mss, mss);
            EXPECT_EQ(r->wscale, ws);
            EXPECT_EQ(r->sack_permitted, sp);
            EXPECT_EQ(r->has_timestamp, ts);
            if (ts) {
              EXPECT_EQ(r->ts_val, 0xdeadbeefu);
              EXPECT_EQ(r->ts_ecr, 0x01020304u);
            }
            // SACK blocks: as many as fit, in order; fewer only when one more would not fit in 40 bytes.
            ASSERT_LE(r->num_sack, ns);
            if (r->num_sack < ns) {
              const size_t sack_bytes = r->num_sack ? 4 + 8 * size_t{r->num_sack} : 0;
              const size_t other = n - sack_bytes;
              EXPECT_GT(other + 4 + 8 * (size_t{r->num_sack} + 1), 40u);
            }
            for (size_t i = 0; i < r->num_sack; ++i) {
              EXPECT_EQ(r->sack[i].left, o.sack[i].left);
              EXPECT_EQ(r->sack[i].right, o.sack[i].right);
            }
            ++combos;
          }
        }
      }
    }
  }
  EXPECT_EQ(combos, 3 * 3 * 2 * 2 * 5);
}

TEST(WriteTcpOptions, FullSynWithSackFitsForty) {
  TcpOptions o;
  o.mss = 1460;
  o.sack_permitted = true;
  o.has_timestamp = true;
  o.wscale = 7;
  o.num_sack = 4;
  for (uint8_t i = 0; i < 4; ++i) o.sack[i] = {SeqNum(100u * i), SeqNum(100u * i + 50)};
  uint8_t out[40];
  const size_t n = write_tcp_options(out, o);
  EXPECT_EQ(n, 40u);  // 20 bytes of SYN options + NOP NOP SACK with 2 blocks
  auto r = TcpOptions::parse(std::span<const uint8_t>(out, n));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->num_sack, 2);

  TcpOptions s;
  s.num_sack = 4;
  for (uint8_t i = 0; i < 4; ++i) s.sack[i] = {SeqNum(1000u * i), SeqNum(1000u * i + 10)};
  EXPECT_EQ(write_tcp_options(out, s), 36u);  // all four blocks
  auto rs = TcpOptions::parse(std::span<const uint8_t>(out, 36));
  ASSERT_TRUE(rs);
  EXPECT_EQ(rs->num_sack, 4);
  EXPECT_EQ(rs->sack[3].right, SeqNum(3010));
}

TEST(WriteTcpOptions, ThroughTcpViewRoundTrip) {
  std::array<uint8_t, 60> b{};
  TcpView v(b.data(), b.size());
  TcpOptions o;
  o.has_timestamp = true;
  o.ts_val = 7;
  o.ts_ecr = 9;
  o.num_sack = 3;
  for (uint8_t i = 0; i < 3; ++i) o.sack[i] = {SeqNum(10u + i), SeqNum(20u + i)};
  const size_t n = write_tcp_options(b.data() + 20, o);
  ASSERT_EQ(n, 40u);
  v.set_header_len(20 + n);
  v.set_flags(tcp_flag::kAck);
  auto back = TcpView::checked(b);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->header_len(), 60u);
  auto r = TcpOptions::parse(back->options());
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->has_timestamp);
  EXPECT_EQ(r->ts_val, 7u);
  EXPECT_EQ(r->ts_ecr, 9u);
  ASSERT_EQ(r->num_sack, 3);
  EXPECT_EQ(r->sack[2].left, SeqNum(12));
  EXPECT_EQ(r->sack[2].right, SeqNum(22));
}

TEST(TcpOptionsParse, SackWithMoreThanFourBlocksIsRejected) {
  std::vector<uint8_t> o(42, 0);
  o[0] = skiff::wire::tcp_opt::kSack;
  o[1] = 42;  // five blocks: impossible in a real header (40 bytes of options at most)
  EXPECT_EQ(skiff::wire::TcpOptions::parse(o).err, skiff::wire::WireError::BadOptionLen);
}

// ---- RFC 7413 Fast Open option ----

TEST(TcpOptions, FastOpenCookieRequestAndCookie) {
  auto r = parse({34, 2});  // kind 34, no cookie: a request
  ASSERT_TRUE(r);
  EXPECT_EQ(r->fastopen_len, 0);
  r = parse({34, 10, 1, 2, 3, 4, 5, 6, 7, 8, 1, 1});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->fastopen_len, 8);
  EXPECT_EQ(std::vector<uint8_t>(r->fastopen_cookie.begin(), r->fastopen_cookie.begin() + 8),
            (std::vector<uint8_t>{1, 2, 3, 4, 5, 6, 7, 8}));
  r = parse({34, 18, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16});  // the longest, 16
  ASSERT_TRUE(r);
  EXPECT_EQ(r->fastopen_len, 16);
  EXPECT_EQ(r->fastopen_cookie[15], 16);
  EXPECT_EQ(parse({1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0})->fastopen_len, -1);  // absent
}

TEST(TcpOptions, FastOpenLengthsTheRfcForbidsAreIgnoredNotFatal) {
  // Cookies are 4..16 bytes, even (RFC 7413 §4.1.1): other lengths leave the option unread (Linux's
  // tcp_parse_fastopen_option), and the segment, with its other options, stands.
  for (const Opt& o : {Opt{34, 3, 9}, Opt{34, 4, 9, 9}, Opt{34, 5, 1, 2, 3}, Opt{34, 9, 1, 2, 3, 4, 5, 6, 7},
                       Opt{34, 20, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18}}) {
    Opt with_mss = o;
    with_mss.insert(with_mss.end(), {2, 4, 0x05, 0xb4});
    auto r = parse(with_mss);
    ASSERT_TRUE(r) << int(o[1]);
    EXPECT_EQ(r->fastopen_len, -1) << int(o[1]);
    EXPECT_EQ(r->mss, 1460) << int(o[1]);
  }
}

TEST(TcpOptions, FastOpenExperimentalFormNeedsItsMagic) {
  // The pre-RFC form: kind 254, magic 0xF989, then the cookie (RFC 7413 §4.1.1 note; RFC 6994).
  auto r = parse({254, 4, 0xf9, 0x89});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->fastopen_len, 0);
  r = parse({254, 12, 0xf9, 0x89, 8, 7, 6, 5, 4, 3, 2, 1});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->fastopen_len, 8);
  EXPECT_EQ(r->fastopen_cookie[0], 8);
  EXPECT_EQ(r->fastopen_cookie[7], 1);
  r = parse({254, 12, 0x12, 0x34, 8, 7, 6, 5, 4, 3, 2, 1});  // another experiment: skipped
  ASSERT_TRUE(r);
  EXPECT_EQ(r->fastopen_len, -1);
}

TEST(TcpOptions, FastOpenIsWrittenBesideTheSynAckOptions) {
  // A SYN-ACK's options (MSS, SACK-permitted, timestamps, window scale: 20 bytes) and the cookie (10) fit
  // the 40 bytes; the written bytes parse back to the same values.
  TcpOptions o;
  o.mss = 1460;
  o.sack_permitted = true;
  o.has_timestamp = true;
  o.ts_val = 7;
  o.ts_ecr = 9;
  o.wscale = 7;
  o.fastopen_len = 8;
  for (uint8_t i = 0; i < 8; ++i) o.fastopen_cookie[i] = static_cast<uint8_t>(0xa0 + i);
  uint8_t out[40];
  const size_t n = write_tcp_options(out, o);
  EXPECT_EQ(n, 32u);
  auto r = TcpOptions::parse(std::span<const uint8_t>(out, n));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->mss, 1460);
  EXPECT_EQ(r->wscale, 7);
  EXPECT_TRUE(r->sack_permitted);
  EXPECT_EQ(r->ts_val, 7u);
  ASSERT_EQ(r->fastopen_len, 8);
  EXPECT_EQ(r->fastopen_cookie[7], 0xa7);
  o = TcpOptions{};
  o.fastopen_len = 0;  // a request alone: kind, length 2, padding
  EXPECT_EQ(write_tcp_options(out, o), 4u);
  EXPECT_EQ(out[0], 34);
  EXPECT_EQ(out[1], 2);
  o.fastopen_len = 8;  // the experimental form: kind 254, length 12, magic, cookie
  o.fastopen_exp = true;
  EXPECT_EQ(write_tcp_options(out, o), 12u);
  EXPECT_EQ(out[0], 254);
  EXPECT_EQ(out[1], 12);
  EXPECT_EQ(out[2], 0xf9);
  EXPECT_EQ(out[3], 0x89);
  r = TcpOptions::parse(std::span<const uint8_t>(out, 12));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->fastopen_len, 8);
  EXPECT_TRUE(r->fastopen_exp);
}
