// The stack options shared by every app: values, errors naming the option, INI config via rte_cfgfile.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "runtime/options.hh"

using namespace skiff;

namespace {

ParsedOptions parse(std::vector<std::string> a) { return parse_stack_options(a); }

std::string temp_ini(const std::string& text) {
  char path[] = "/tmp/skiff-cfg-XXXXXX";
  const int fd = mkstemp(path);
  EXPECT_GE(fd, 0);
  close(fd);
  std::ofstream(path) << text;
  return path;
}

}  // namespace

TEST(Options, ValuesAreParsedAndAppArgsKeptInOrder) {
  auto r = parse({"--ip", "10.1.2.3/24", "-c", "5", "--gw=10.1.2.1", "--mtu", "9000", "DEST", "--port", "9",
                  "--idle-sleep", "50", "--pool-size", "4095", "--mac", "02:aa:bb:cc:dd:ee", "--mbuf-size", "9216"});
  ASSERT_EQ(r.error, "");
  ASSERT_TRUE(r.cfg.ip);
  EXPECT_EQ(r.cfg.ip->to_string(), "10.1.2.3/24");
  EXPECT_EQ(r.cfg.gateway->to_string(), "10.1.2.1");
  EXPECT_EQ(*r.cfg.mtu, 9000);
  EXPECT_EQ(r.cfg.idle_sleep, std::chrono::microseconds(50));
  EXPECT_EQ(r.cfg.pool_size, 4095u);
  EXPECT_EQ(r.cfg.mac->to_string(), "02:aa:bb:cc:dd:ee");
  EXPECT_EQ(r.cfg.mbuf_data, 9216);
  EXPECT_EQ(r.app_args, (std::vector<std::string>{"-c", "5", "DEST", "--port", "9"}));
}

TEST(Options, BadValuesNameTheOption) {
  const std::pair<std::vector<std::string>, std::string> cases[] = {
      {{"--ip", "300.1.1.1/24"}, "--ip"},
      {{"--ip", "10.0.0.1"}, "--ip"},
      {{"--ip", "10.0.0.1/33"}, "--ip"},
      {{"--ip", "224.0.0.1/4"}, "--ip"},
      {{"--ip", "0.0.0.0/8"}, "--ip"},
      {{"--gw", "10.0.0"}, "--gw"},
      {{"--mtu", "10"}, "--mtu"},
      {{"--mtu", "99999"}, "--mtu"},
      {{"--mtu", "1500x"}, "--mtu"},
      {{"--mtu"}, "--mtu"},
      {{"--mac", "ff:ff:ff:ff:ff:ff"}, "--mac"},
      {{"--pool-size", "10"}, "--pool-size"},
      {{"--idle-sleep", "-1"}, "--idle-sleep"},
      {{"--ip", "10.0.0.2/24", "--gw", "10.1.1.1"}, "--gw"},
      {{"--gw", "10.1.1.1"}, "--gw"},
      {{"--config", "/nonexistent/skiff.ini"}, "--config"},
  };
  for (const auto& [args, opt] : cases) {
    auto r = parse(args);
    EXPECT_FALSE(r.error.empty()) << args[0];
    EXPECT_EQ(r.error.rfind(opt, 0), 0u) << "error should start with the option: " << r.error;
    EXPECT_EQ(r.error.find('\n'), std::string::npos) << "one line: " << r.error;
  }
}

TEST(Options, ConfigFileSetsTheSameKeysAndTunables) {
  const std::string path = temp_ini(
      "[stack]\nip = 192.168.7.2/24\ngw = 192.168.7.1\nmtu = 1400\n"
      "[neigh]\ncapacity = 64\nreachable-ms = 5000\n"
      "[ipv4]\nreass-timeout-ms = 1000\ndefault-ttl = 32\n"
      "[icmp]\nerror-rate = 10\n");
  auto r = parse({"--config", path});
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.cfg.ip->to_string(), "192.168.7.2/24");
  EXPECT_EQ(r.cfg.gateway->to_string(), "192.168.7.1");
  EXPECT_EQ(*r.cfg.mtu, 1400);
  EXPECT_EQ(r.cfg.neigh.capacity, 64u);
  EXPECT_EQ(r.cfg.neigh.reachable, std::chrono::seconds(5));
  EXPECT_EQ(r.cfg.ipv4.reass_timeout, std::chrono::seconds(1));
  EXPECT_EQ(r.cfg.ipv4.default_ttl, 32);
  EXPECT_EQ(r.cfg.icmp.error_rate, 10u);
  // The command line overrides the file, whatever the order.
  auto r2 = parse({"--mtu", "1300", "--config", path});
  ASSERT_EQ(r2.error, "");
  EXPECT_EQ(*r2.cfg.mtu, 1300);
  unlink(path.c_str());
}

TEST(Options, ConfigFileErrorsNameSectionAndKey) {
  const std::string bad_key = temp_ini("[stack]\nbogus = 1\n");
  auto r = parse({"--config", bad_key});
  EXPECT_NE(r.error.find("--config"), std::string::npos);
  EXPECT_NE(r.error.find("bogus"), std::string::npos);
  const std::string bad_val = temp_ini("[ipv4]\ndefault-ttl = 0\n");
  r = parse({"--config", bad_val});
  EXPECT_NE(r.error.find("default-ttl"), std::string::npos);
  const std::string bad_sec = temp_ini("[nope]\nx = 1\n");
  r = parse({"--config", bad_sec});
  EXPECT_NE(r.error.find("[nope]"), std::string::npos);
  unlink(bad_key.c_str());
  unlink(bad_val.c_str());
  unlink(bad_sec.c_str());
}

TEST(Options, UnknownDoubleDashOptionsGoToTheApp) {
  auto r = parse({"--demo", "--json"});
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.app_args.size(), 2u);
}

// [tcp] fastopen-key takes net.ipv4.tcp_fastopen_key's text: four 32-bit hex words, each stored
// little-endian (Linux's sscanf_key then cpu_to_le32), and optionally ',' and a backup key.
TEST(Options, FastOpenKeyIsReadAsLinuxsSysctl) {
  const std::string one = temp_ini("[tcp]\nfastopen-key = 03020100-07060504-0b0a0908-0f0e0d0c\n");
  auto r = parse({"--config", one});
  ASSERT_EQ(r.error, "");
  ASSERT_EQ(r.cfg.tcp.fastopen_key_count, 1u);
  for (unsigned i = 0; i < 16; ++i) EXPECT_EQ(r.cfg.tcp.fastopen_key[i], i) << "byte " << i;
  const std::string two = temp_ini("[tcp]\nfastopen-key = 13121110-17161514-1b1a1918-1f1e1d1c,3-2-1-0\n");
  r = parse({"--config", two});
  ASSERT_EQ(r.error, "");
  ASSERT_EQ(r.cfg.tcp.fastopen_key_count, 2u);
  for (unsigned i = 0; i < 16; ++i) EXPECT_EQ(r.cfg.tcp.fastopen_key[i], 16 + i) << "byte " << i;
  const uint8_t backup[16] = {3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0};
  for (unsigned i = 0; i < 16; ++i) EXPECT_EQ(r.cfg.tcp.fastopen_key[16 + i], backup[i]) << "backup byte " << i;
  for (const char* bad : {"00-01-02", "00-01-02-03-04", "x0-01-02-03", "123456789-0-0-0", "0-0-0-0,", "0-0-0-0/1-1-1-1",
                          "0-0-0-0,1-1-1-1,2-2-2-2", "0--0-0"}) {
    const std::string p = temp_ini(std::string("[tcp]\nfastopen-key = ") + bad + "\n");
    r = parse({"--config", p});
    EXPECT_NE(r.error.find("fastopen-key"), std::string::npos) << "'" << bad << "': " << r.error;
    unlink(p.c_str());
  }
  unlink(one.c_str());
  unlink(two.c_str());
}
