#pragma once
// Shared pieces of the libFuzzer targets: EAL start-up (once per process, in LLVMFuzzerInitialize), a reader
// over the fuzz input, frame builders with checksum fixing, and FuzzStack: one shard on an in-memory device
// driven by a manual clock. Each run builds fresh shards over a pool made once per process, so a run starts
// from a clean stack and its outcome depends on its input only; at the end of a run every packet buffer must
// be back in the pool (a leak aborts the run, and libFuzzer records the input).

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "base/clock.hh"
#include "netif/device.hh"
#include "stack/stack.hh"
#include "wire/addr.hh"

namespace skiff::fuzz {

using Bytes = std::vector<uint8_t>;
using wire::Ipv4Addr;
using wire::MacAddr;

// Starts DPDK's EAL without devices or hugepages (idempotent).
void init_eal(const char* prog);

// Prints and aborts (libFuzzer saves the input that got here).
[[noreturn]] void fail(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
#define FUZZ_CHECK(cond, ...)                  \
  do {                                          \
    if (!(cond)) ::skiff::fuzz::fail(__VA_ARGS__); \
  } while (0)

// Consumes the fuzz input front to back; reads past the end give zeros.
class Input {
 public:
  Input(const uint8_t* p, size_t n) : p_(p), n_(n) {}
  bool empty() const { return n_ == 0; }
  size_t left() const { return n_; }
  uint8_t u8() {
    if (!n_) return 0;
    --n_;
    return *p_++;
  }
  uint16_t u16() { return static_cast<uint16_t>((u8() << 8) | u8()); }
  uint32_t u32() { return (uint32_t{u16()} << 16) | u16(); }
  bool flag() { return u8() & 1; }
  // Up to `n` bytes (fewer at the end of the input).
  Bytes bytes(size_t n) {
    if (n > n_) n = n_;
    Bytes b(p_, p_ + n);
    p_ += n;
    n_ -= n;
    return b;
  }

 private:
  const uint8_t* p_;
  size_t n_;
};

// Frame helpers (all fields host order; checksums correct).
Bytes eth_frame(const MacAddr& dst, const MacAddr& src, uint16_t ethertype, const Bytes& payload);
Bytes ipv4_packet(Ipv4Addr src, Ipv4Addr dst, uint8_t proto, const Bytes& payload, uint16_t id = 1,
                  uint16_t flags_frag = 0, uint8_t ttl = 64, const Bytes& options = {}, uint8_t tos = 0);
Bytes arp_packet(uint16_t op, const MacAddr& sha, Ipv4Addr spa, const MacAddr& tha, Ipv4Addr tpa);
// A TCP segment (header, options as written, payload) with its checksum for src -> dst.
Bytes tcp_segment(Ipv4Addr src, Ipv4Addr dst, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
                  uint8_t flags, uint16_t wnd, const Bytes& options, const Bytes& payload, uint16_t urg = 0);
Bytes udp_datagram(Ipv4Addr src, Ipv4Addr dst, uint16_t sport, uint16_t dport, const Bytes& payload);
// Rewrites the IPv4 header checksum and, for an unfragmented TCP/UDP/ICMP datagram whose lengths add up,
// the transport checksum, of an Ethernet frame in place. Anything it cannot parse is left alone.
void fix_checksums(Bytes& frame);

// A TCP segment the stack sent, as the peer sees it.
struct OutSeg {
  uint16_t sport = 0, dport = 0;
  uint32_t seq = 0, ack = 0;
  uint8_t flags = 0;
  uint16_t wnd = 0;
  size_t len = 0;             // payload bytes
  bool has_ts = false;
  uint32_t tsval = 0, tsecr = 0;
  bool has_wscale = false;
  uint8_t wscale = 0;
  bool sack_perm = false;
  uint16_t mss = 0;
  uint8_t ecn = 0;            // the IP header's ECN field
};
// Parses a TCP/IPv4 frame; false if it is not one. Malformed output from the stack is a bug: it aborts.
bool parse_out_tcp(const Bytes& frame, OutSeg* out);

class FuzzDevice final : public NetDevice {
 public:
  FuzzDevice();
  ~FuzzDevice() override;
  uint16_t rx_burst(uint16_t, rte_mbuf**, uint16_t) override { return 0; }
  uint16_t tx_burst(uint16_t queue, rte_mbuf** pkts, uint16_t n) override;
  const char* name() const override { return "fuzz0"; }
  void free_tx();
  std::vector<rte_mbuf*> tx;
  uint16_t tx_room = UINT16_MAX;
};

class FuzzStack {
 public:
  static constexpr MacAddr kOurMac{{0x02, 0, 0, 0, 0, 0x02}};
  static constexpr MacAddr kPeerMac{{0x02, 0, 0, 0, 0, 0x01}};
  static constexpr Ipv4Addr kOurIp = Ipv4Addr::of(10, 0, 0, 2);
  static constexpr Ipv4Addr kPeerIp = Ipv4Addr::of(10, 0, 0, 1);

  // A small configuration (short tables, so that limits are reachable) unless `cfg` is given.
  static StackConfig small_config();
  explicit FuzzStack(const StackConfig& cfg = small_config(), uint16_t mtu = 1500);
  ~FuzzStack();

  // Starts a run: fresh shards, the clock at its origin, a seeded RNG, the peer's MAC learnt.
  void begin();
  // Ends a run: closes everything, frees what the device holds and checks every buffer is back.
  void end();

  // Hands a frame to the shard as received. `split` > 0 delivers it as a chain whose first segment holds
  // that many bytes (as a scattering NIC would); `ol_flags` as a NIC sets them.
  void inject(const Bytes& frame, uint64_t ol_flags = 0, size_t split = 0);
  // Frames the stack sent since the last call; ARP requests for the peer are answered (as the peer would)
  // unless `answer_arp` is false.
  std::vector<Bytes> sent(bool answer_arp = true);
  // Moves the clock and runs timers, delivering socket events.
  void advance(Duration d);
  Bytes from_peer_ip(const Bytes& ip) const { return eth_frame(kOurMac, kPeerMac, 0x0800, ip); }

  Shard& shard() { return stack_->shard(0); }
  Stack& stack() { return *stack_; }
  ManualClock& clock() { return clock_; }
  FuzzDevice& dev() { return dev_; }
  bool running() const { return running_; }

 private:
  ManualClock clock_;
  FuzzDevice dev_;
  std::unique_ptr<Stack> stack_;
  bool running_ = false;
};

// An IPv4 socket address.
inline sockaddr_in sin_of(wire::Ipv4Addr a, uint16_t port) {
  sockaddr_in s{};
  s.sin_family = AF_INET;
  s.sin_port = htons(port);
  s.sin_addr.s_addr = htonl(a.host());
  return s;
}

}  // namespace skiff::fuzz
