// The counter dump (Stack::print_counters): per-shard counters, memory gauges and the devices' own counters.

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "stack_harness.hh"

namespace skiff::test {
namespace {

std::string dump(const Stack& stack) {
  char* buf = nullptr;
  size_t len = 0;
  FILE* f = open_memstream(&buf, &len);
  stack.print_counters(f);
  fclose(f);
  std::string s(buf, len);
  free(buf);
  return s;
}

// The value printed for `key` (the full dotted name), or -1 when no line has it.
long long value_of(const std::string& out, const std::string& key) {
  size_t pos = 0;
  while ((pos = out.find(key + " ", pos)) != std::string::npos) {
    if (pos == 0 || out[pos - 1] == '\n') return std::stoll(out.substr(pos + key.size()));
    pos += key.size();
  }
  return -1;
}

TEST(Counters, DeviceWithoutCountersPrintsNoPortLines) {
  StackHarness h;
  const std::string out = dump(h.stack());
  EXPECT_EQ(out.find(".port0."), std::string::npos) << out;
  EXPECT_EQ(value_of(out, h.stack().name() + ".shard0.pool_in_use"), 0) << out;
}

TEST(Counters, DeviceCountersArePrintedPerPortEvenWhenZero) {
  StackHarness h;
  DeviceStats ds;
  ds.rx_packets = 1000;
  ds.rx_missed = 7;
  ds.rx_nombuf = 3;
  ds.tx_packets = 990;
  ds.tx_errors = 2;
  h.dev().stats = ds;
  const std::string out = dump(h.stack());
  const std::string p = h.stack().name() + ".port0.";
  EXPECT_EQ(value_of(out, p + "rx_packets"), 1000) << out;
  EXPECT_EQ(value_of(out, p + "rx_missed"), 7) << out;
  EXPECT_EQ(value_of(out, p + "rx_errors"), 0) << out;  // zero, still printed: tools read it as "none lost"
  EXPECT_EQ(value_of(out, p + "rx_nombuf"), 3) << out;
  EXPECT_EQ(value_of(out, p + "tx_packets"), 990) << out;
  EXPECT_EQ(value_of(out, p + "tx_errors"), 2) << out;
  EXPECT_NE(out.find("RX queue full (fake0)"), std::string::npos) << out;  // names the device
}

}  // namespace
}  // namespace skiff::test
