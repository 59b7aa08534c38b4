#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <string_view>

#include "wire/addr.hh"
#include "wire/endian.hh"

using namespace skiff::wire;

// ---- Endian ----

TEST(Endian, LoadBigEndian) {
  const uint8_t b[] = {0x12, 0x34, 0x56, 0x78, 0x9a};
  EXPECT_EQ(load_be16(b), 0x1234);
  EXPECT_EQ(load_be16(b + 1), 0x3456);  // unaligned
  EXPECT_EQ(load_be32(b), 0x12345678u);
  EXPECT_EQ(load_be32(b + 1), 0x3456789au);  // unaligned
}

TEST(Endian, StoreBigEndian) {
  uint8_t b[7] = {};
  store_be16(b + 1, 0xbeef);
  EXPECT_EQ(b[0], 0);
  EXPECT_EQ(b[1], 0xbe);
  EXPECT_EQ(b[2], 0xef);
  store_be32(b + 3, 0xdeadc0deu);
  EXPECT_EQ(b[3], 0xde);
  EXPECT_EQ(b[4], 0xad);
  EXPECT_EQ(b[5], 0xc0);
  EXPECT_EQ(b[6], 0xde);
  EXPECT_EQ(load_be32(b + 3), 0xdeadc0deu);
  EXPECT_EQ(load_be16(b + 1), 0xbeef);
}

TEST(Endian, Be16HoldsNetworkOrder) {
  constexpr Be16 v = Be16::from_host(0x0800);
  static_assert(v.host() == 0x0800);
  uint8_t mem[2];
  const uint16_t raw = v.raw();
  memcpy(mem, &raw, 2);
  EXPECT_EQ(mem[0], 0x08);
  EXPECT_EQ(mem[1], 0x00);
  EXPECT_EQ(Be16::from_raw(raw), v);
  EXPECT_EQ(Be16::from_raw(raw).host(), 0x0800);
  EXPECT_FALSE(Be16::from_host(0x0800) == Be16::from_host(0x0008));
  EXPECT_EQ(Be16().host(), 0);
  EXPECT_EQ(Be16::from_host(0xffff).raw(), 0xffff);
}

TEST(Endian, Be32HoldsNetworkOrder) {
  constexpr Be32 v = Be32::from_host(0xc0a80001u);
  static_assert(v.host() == 0xc0a80001u);
  uint8_t mem[4];
  const uint32_t raw = v.raw();
  memcpy(mem, &raw, 4);
  EXPECT_EQ(mem[0], 0xc0);
  EXPECT_EQ(mem[1], 0xa8);
  EXPECT_EQ(mem[2], 0x00);
  EXPECT_EQ(mem[3], 0x01);
  EXPECT_EQ(Be32::from_raw(raw), v);
  EXPECT_EQ(Be32().host(), 0u);
  // A Be32 read from memory agrees with load_be32.
  uint32_t loaded;
  memcpy(&loaded, mem, 4);
  EXPECT_EQ(Be32::from_raw(loaded).host(), load_be32(mem));
}

// ---- MacAddr ----

TEST(MacAddr, ParseAndFormat) {
  auto m = MacAddr::parse("02:00:5e:10:00:ff");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->b, (std::array<uint8_t, 6>{0x02, 0x00, 0x5e, 0x10, 0x00, 0xff}));
  EXPECT_EQ(m->to_string(), "02:00:5e:10:00:ff");
  // Upper case accepted, formatted lower case.
  auto u = MacAddr::parse("AA:BB:CC:DD:EE:0F");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->to_string(), "aa:bb:cc:dd:ee:0f");
  EXPECT_EQ(MacAddr::broadcast().to_string(), "ff:ff:ff:ff:ff:ff");
  EXPECT_EQ(MacAddr::zero().to_string(), "00:00:00:00:00:00");
}

TEST(MacAddr, ParseRejects) {
  for (std::string_view s :
       {"", "02:00:5e:10:00", "02:00:5e:10:00:ff:", "02:00:5e:10:00:f", "02:00:5e:10:00:fff",
        "02-00-5e-10-00-ff", "02:00:5e:10:00:fg", "g2:00:5e:10:00:ff", " 2:00:5e:10:00:ff",
        "02:00:5e:10:00: f", "0x:00:5e:10:00:ff", "+2:00:5e:10:00:ff", "-2:00:5e:10:00:ff",
        "02:00:5e:10:00:ff ", "02:00:5e:10:00ff0", "02::0:5e:10:00:ff", "020:0:5e:10:00:ff"}) {
    EXPECT_FALSE(MacAddr::parse(s)) << '"' << s << '"';
  }
}

TEST(MacAddr, RoundTripAndPredicates) {
  const MacAddr m{{0x01, 0x00, 0x5e, 0x7f, 0xff, 0xfa}};
  auto back = MacAddr::parse(m.to_string());
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, m);
  EXPECT_TRUE(m.is_multicast());
  EXPECT_FALSE(m.is_broadcast());
  EXPECT_FALSE(m.is_zero());
  EXPECT_TRUE(MacAddr::broadcast().is_broadcast());
  EXPECT_TRUE(MacAddr::broadcast().is_multicast());
  EXPECT_TRUE(MacAddr::zero().is_zero());
  EXPECT_FALSE(MacAddr::zero().is_multicast());
  const MacAddr unicast{{0x02, 0x11, 0x22, 0x33, 0x44, 0x55}};
  EXPECT_FALSE(unicast.is_multicast());
  // load/store move the six bytes as they are.
  uint8_t buf[8] = {0xee, 0, 0, 0, 0, 0, 0, 0xee};
  unicast.store(buf + 1);
  EXPECT_EQ(buf[0], 0xee);
  EXPECT_EQ(buf[1], 0x02);
  EXPECT_EQ(buf[6], 0x55);
  EXPECT_EQ(buf[7], 0xee);
  EXPECT_EQ(MacAddr::load(buf + 1), unicast);
}

// ---- Ipv4Addr ----

TEST(Ipv4Addr, ParseAccepts) {
  struct Case {
    std::string_view s;
    uint32_t host;
  };
  for (const Case& c :
       {Case{"0.0.0.0", 0}, Case{"255.255.255.255", 0xffffffffu}, Case{"192.168.0.1", 0xc0a80001u},
        Case{"10.0.0.255", 0x0a0000ffu}, Case{"1.2.3.4", 0x01020304u}, Case{"127.0.0.1", 0x7f000001u},
        Case{"100.64.0.0", 0x64400000u}}) {
    auto a = Ipv4Addr::parse(c.s);
    ASSERT_TRUE(a) << c.s;
    EXPECT_EQ(a->host(), c.host) << c.s;
    EXPECT_EQ(a->to_string(), c.s);
  }
}

TEST(Ipv4Addr, ParseRejects) {
  for (std::string_view s : {"",          " ",          "1",          "1.2",
                             "1.2.3",     "1.2.3.",     "1.2.3.4.",   "1.2.3.4.5",
                             ".1.2.3",    "1..2.3",     "256.0.0.1",  "1.2.3.256",
                             "1.2.3.999", "1.2.3.1000", "01.2.3.4",   "1.2.3.04",
                             "1.2.3.00",  "00.0.0.0",   " 1.2.3.4",   "1.2.3.4 ",
                             "1. 2.3.4",  "1.2 .3.4",   "+1.2.3.4",   "-1.2.3.4",
                             "1.2.3.-4",  "a.b.c.d",    "1.2.3.4a",   "0x1.2.3.4",
                             "1,2,3,4",   "1.2.3.4/24", "4294967296", "99999999999.1.1.1",
                             "1.2.3.4\n"}) {
    EXPECT_FALSE(Ipv4Addr::parse(s)) << '"' << s << '"';
  }
  // An embedded NUL is not the end of the address.
  EXPECT_FALSE(Ipv4Addr::parse(std::string_view("1.2.3.4\0", 8)));
  // A view that stops short of the NUL parses only what it covers.
  EXPECT_EQ(Ipv4Addr::parse(std::string_view("1.2.3.45", 7)), Ipv4Addr::of(1, 2, 3, 4));
}

TEST(Ipv4Addr, ByteOrderAndPredicates) {
  const Ipv4Addr a = Ipv4Addr::of(192, 168, 1, 2);
  EXPECT_EQ(a.host(), 0xc0a80102u);
  uint8_t mem[4];
  const uint32_t be = a.be();
  memcpy(mem, &be, 4);
  EXPECT_EQ(mem[0], 192);
  EXPECT_EQ(mem[1], 168);
  EXPECT_EQ(mem[2], 1);
  EXPECT_EQ(mem[3], 2);
  EXPECT_TRUE(Ipv4Addr::any().is_any());
  EXPECT_TRUE(Ipv4Addr::broadcast().is_broadcast());
  EXPECT_EQ(Ipv4Addr::broadcast().to_string(), "255.255.255.255");
  EXPECT_TRUE(Ipv4Addr::of(224, 0, 0, 1).is_multicast());
  EXPECT_TRUE(Ipv4Addr::of(239, 255, 255, 255).is_multicast());
  EXPECT_FALSE(Ipv4Addr::of(223, 255, 255, 255).is_multicast());
  EXPECT_FALSE(Ipv4Addr::of(240, 0, 0, 0).is_multicast());
  EXPECT_TRUE(Ipv4Addr::of(240, 0, 0, 0).is_class_e());
  EXPECT_TRUE(Ipv4Addr::broadcast().is_class_e());
  EXPECT_FALSE(Ipv4Addr::of(239, 0, 0, 0).is_class_e());
  EXPECT_TRUE(Ipv4Addr::of(127, 1, 2, 3).is_loopback());
  EXPECT_FALSE(Ipv4Addr::of(128, 0, 0, 1).is_loopback());
  EXPECT_LT(Ipv4Addr::of(10, 0, 0, 1), Ipv4Addr::of(10, 0, 0, 2));
  EXPECT_LT(Ipv4Addr::of(9, 255, 255, 255), Ipv4Addr::of(10, 0, 0, 0));
}

TEST(Ipv4Addr, ToStringRoundTripsEveryOctetValue) {
  for (unsigned v = 0; v < 256; ++v) {
    const auto o = static_cast<uint8_t>(v);
    const Ipv4Addr a = Ipv4Addr::of(o, static_cast<uint8_t>(255 - v), o, static_cast<uint8_t>(v ^ 0x5a));
    auto back = Ipv4Addr::parse(a.to_string());
    ASSERT_TRUE(back) << a.to_string();
    EXPECT_EQ(*back, a);
  }
}

// ---- Ipv4Cidr ----

TEST(Ipv4Cidr, PrefixMask) {
  EXPECT_EQ(prefix_mask(0), 0u);
  EXPECT_EQ(prefix_mask(1), 0x80000000u);
  EXPECT_EQ(prefix_mask(8), 0xff000000u);
  EXPECT_EQ(prefix_mask(24), 0xffffff00u);
  EXPECT_EQ(prefix_mask(31), 0xfffffffeu);
  EXPECT_EQ(prefix_mask(32), 0xffffffffu);
  EXPECT_EQ(prefix_mask(33), 0xffffffffu);
}

TEST(Ipv4Cidr, ParseAndAccessors) {
  auto c = Ipv4Cidr::parse("10.1.2.3/24");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->addr, Ipv4Addr::of(10, 1, 2, 3));  // host bits kept
  EXPECT_EQ(c->prefix_len, 24);
  EXPECT_EQ(c->mask(), 0xffffff00u);
  EXPECT_EQ(c->network(), Ipv4Addr::of(10, 1, 2, 0));
  EXPECT_EQ(c->directed_broadcast(), Ipv4Addr::of(10, 1, 2, 255));
  EXPECT_TRUE(c->contains(Ipv4Addr::of(10, 1, 2, 0)));
  EXPECT_TRUE(c->contains(Ipv4Addr::of(10, 1, 2, 255)));
  EXPECT_TRUE(c->contains(Ipv4Addr::of(10, 1, 2, 3)));
  EXPECT_FALSE(c->contains(Ipv4Addr::of(10, 1, 3, 0)));
  EXPECT_FALSE(c->contains(Ipv4Addr::of(10, 1, 1, 255)));
  EXPECT_FALSE(c->contains(Ipv4Addr::of(11, 1, 2, 3)));
  EXPECT_EQ(c->to_string(), "10.1.2.3/24");
}

TEST(Ipv4Cidr, PrefixZeroAndThirtyTwo) {
  auto all = Ipv4Cidr::parse("0.0.0.0/0");
  ASSERT_TRUE(all);
  EXPECT_EQ(all->mask(), 0u);
  EXPECT_TRUE(all->contains(Ipv4Addr::of(1, 2, 3, 4)));
  EXPECT_TRUE(all->contains(Ipv4Addr::broadcast()));
  EXPECT_TRUE(all->contains(Ipv4Addr::any()));
  EXPECT_EQ(all->network(), Ipv4Addr::any());
  EXPECT_EQ(all->directed_broadcast(), Ipv4Addr::broadcast());
  EXPECT_EQ(all->to_string(), "0.0.0.0/0");

  auto host = Ipv4Cidr::parse("192.0.2.7/32");
  ASSERT_TRUE(host);
  EXPECT_EQ(host->mask(), 0xffffffffu);
  EXPECT_TRUE(host->contains(Ipv4Addr::of(192, 0, 2, 7)));
  EXPECT_FALSE(host->contains(Ipv4Addr::of(192, 0, 2, 6)));
  EXPECT_FALSE(host->contains(Ipv4Addr::of(192, 0, 2, 8)));
  EXPECT_EQ(host->network(), Ipv4Addr::of(192, 0, 2, 7));
  EXPECT_EQ(host->directed_broadcast(), Ipv4Addr::of(192, 0, 2, 7));

  auto p2p = Ipv4Cidr::parse("192.0.2.6/31");
  ASSERT_TRUE(p2p);
  EXPECT_TRUE(p2p->contains(Ipv4Addr::of(192, 0, 2, 7)));
  EXPECT_FALSE(p2p->contains(Ipv4Addr::of(192, 0, 2, 8)));
  EXPECT_EQ(p2p->directed_broadcast(), Ipv4Addr::of(192, 0, 2, 7));

  auto half = Ipv4Cidr::parse("200.1.1.1/1");
  ASSERT_TRUE(half);
  EXPECT_EQ(half->network(), Ipv4Addr::of(128, 0, 0, 0));
  EXPECT_EQ(half->directed_broadcast(), Ipv4Addr::broadcast());
  EXPECT_FALSE(half->contains(Ipv4Addr::of(127, 255, 255, 255)));
}

TEST(Ipv4Cidr, DefaultIsHostRoute) {
  const Ipv4Cidr c{Ipv4Addr::of(10, 0, 0, 1)};
  EXPECT_EQ(c.prefix_len, 32);
  EXPECT_EQ(c.to_string(), "10.0.0.1/32");
}

TEST(Ipv4Cidr, ParseRejects) {
  for (std::string_view s :
       {"", "/", "10.0.0.0", "10.0.0.0/", "/24", "10.0.0.0/33", "10.0.0.0/100", "10.0.0.0/-1", "10.0.0.0/+8",
        "10.0.0.0/ 8", "10.0.0.0 /8", "10.0.0.0/8 ", "10.0.0.0/8/8", "10.0.0.0/a", "10.0.0/8", "10.0.0.256/8",
        "10.0.0.0/4294967304"}) {
    EXPECT_FALSE(Ipv4Cidr::parse(s)) << '"' << s << '"';
  }
}

TEST(Ipv4Cidr, ToStringRoundTrips) {
  for (unsigned len = 0; len <= 32; ++len) {
    const Ipv4Cidr c{Ipv4Addr::of(172, 16, 5, 4), static_cast<uint8_t>(len)};
    auto back = Ipv4Cidr::parse(c.to_string());
    ASSERT_TRUE(back) << c.to_string();
    EXPECT_EQ(back->addr, c.addr);
    EXPECT_EQ(back->prefix_len, c.prefix_len);
  }
}

TEST(Ipv4CidrParse, PrefixWithLeadingZerosIsRejected) {
  EXPECT_FALSE(skiff::wire::Ipv4Cidr::parse("10.0.0.1/08"));
  EXPECT_FALSE(skiff::wire::Ipv4Cidr::parse("10.0.0.1/0032"));
  EXPECT_TRUE(skiff::wire::Ipv4Cidr::parse("10.0.0.1/0"));
}
