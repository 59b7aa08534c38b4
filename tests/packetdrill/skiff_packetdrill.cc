// Skiff under packetdrill: a shared object implementing packetdrill's packetdrill_interface
// (packetdrill --so_filename=libskiff_packetdrill.so [--so_flags="..."] script.pkt).
//
// The object runs its own Skiff stack: one shard on an in-memory device at 192.168.0.1/16 with the
// default route via 192.168.0.2 (packetdrill's defaults; the remote end is 192.0.2.1). netdev_send wraps
// packetdrill's IP packet in an Ethernet frame from the gateway and hands it to the shard; IPv4 packets
// the stack transmits are queued, Ethernet header removed, for netdev_receive. ARP requests from the stack
// are answered on the gateway's behalf and never reach packetdrill.
//
// Time is virtual: a ManualClock that only usleep (packetdrill waiting for its next event), netdev_receive
// (waiting for the stack to send: timers run meanwhile, so a retransmission comes out at its exact time)
// and gettimeofday (one microsecond per call, so that packetdrill's spin-until-time loop ends) move. Time
// advances in steps of at most 1 ms, running the shard's timers at each step.
//
// Threads: packetdrill calls from its main thread and from a thread that runs blocking system calls. One
// mutex serializes every entry. A blocking Skiff call (a socket without O_NONBLOCK) waits the way Skiff's
// blocking calls always do, by pumping the shard; here the pump releases the mutex and sleeps on a condition
// variable until another thread changes something (a packet in, time moved, another socket call). Each
// change waits until every blocked caller has looked at it, so a call that unblocks at virtual time T
// returns at T. A call that blocks on packetdrill's main thread (which no other thread will wake) moves
// the virtual time itself, a step at a time, until it can return.
//
// --so_flags: space- or comma-separated key=value: local_ip=A.B.C.D/len (default 192.168.0.1/16),
// gateway_ip=A.B.C.D (192.168.0.2), mtu=N (1500), recv_timeout=S: how much virtual time netdev_receive lets
// pass waiting for a packet before it returns -1 (300 s), verbose=1.
//
// Only IPv4. pipe and splice fail with ENOSYS.

#include <arpa/inet.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <getopt.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_mbuf.h>
#include <sched.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "api/skiff.h"
#include "base/clock.hh"
#include "base/log.hh"
#include "netif/device.hh"
#include "packetdrill_abi.h"
#include "stack/shard.hh"
#include "stack/stack.hh"
#include "wire/arp.hh"
#include "wire/endian.hh"

// Skiff's socket slabs fall back to mimalloc's aligned allocation (and TCP's out-of-order index grows with
// mi_realloc). The object does not link mimalloc: a
// dlopen()ed copy (packetdrill uses RTLD_DEEPBIND) would replace malloc for this object only and mix two
// allocators' pointers. The system allocator serves the rare fallback instead.
extern "C" {
void* mi_malloc_aligned(size_t size, size_t alignment) noexcept {
  void* p = nullptr;
  return posix_memalign(&p, std::max(alignment, sizeof(void*)), size ? size : 1) == 0 ? p : nullptr;
}
void* mi_realloc(void* p, size_t size) noexcept { return ::realloc(p, size); }
void mi_free(void* p) noexcept { ::free(p); }
}

namespace {

using namespace skiff;
using wire::Ipv4Addr;
using wire::MacAddr;

constexpr MacAddr kOurMac{{0x02, 0x00, 0x5e, 0x00, 0x00, 0x01}};
constexpr MacAddr kGatewayMac{{0x02, 0x00, 0x5e, 0x00, 0x00, 0xfe}};
constexpr Duration kStep = 1ms;

struct OutPkt {
  std::vector<uint8_t> ip;
  long long usecs;
};

class Adapter;

class PdDevice final : public NetDevice {
 public:
  explicit PdDevice(Adapter& a) : a_(a) { mac = kOurMac; }
  uint16_t rx_burst(uint16_t, rte_mbuf**, uint16_t) override { return 0; }
  uint16_t tx_burst(uint16_t, rte_mbuf** pkts, uint16_t n) override;
  const char* name() const override { return "packetdrill0"; }

 private:
  Adapter& a_;
};

struct Options {
  wire::Ipv4Cidr local{Ipv4Addr::of(192, 168, 0, 1), 16};
  Ipv4Addr gateway = Ipv4Addr::of(192, 168, 0, 2);
  uint16_t mtu = 1500;
  Duration recv_timeout = 300s;
  bool verbose = false;
};

bool parse_options(const char* flags, Options* o) {
  if (!flags) return true;
  std::string s(flags);
  std::replace(s.begin(), s.end(), ',', ' ');
  size_t i = 0;
  while (i < s.size()) {
    const size_t j = std::min(s.find(' ', i), s.size());
    const std::string tok = s.substr(i, j - i);
    i = j + 1;
    if (tok.empty()) continue;
    const size_t eq = tok.find('=');
    const std::string k = tok.substr(0, eq), v = eq == std::string::npos ? "" : tok.substr(eq + 1);
    if (k == "local_ip") {
      auto c = wire::Ipv4Cidr::parse(v.find('/') == std::string::npos ? v + "/16" : v);
      if (!c) return false;
      o->local = *c;
    } else if (k == "gateway_ip") {
      auto a = Ipv4Addr::parse(v);
      if (!a) return false;
      o->gateway = *a;
    } else if (k == "mtu") {
      o->mtu = static_cast<uint16_t>(std::clamp(atoi(v.c_str()), 576, 9000));
    } else if (k == "recv_timeout") {
      o->recv_timeout = std::chrono::seconds(std::max(1, atoi(v.c_str())));
    } else if (k == "verbose") {
      o->verbose = v != "0";
    } else {
      fprintf(stderr, "skiff-packetdrill: unknown flag '%s'\n", tok.c_str());
      return false;
    }
  }
  return true;
}

// getopt_long for EAL. packetdrill loads us with RTLD_DEEPBIND and parses its own command line with
// getopt_long, so optind and optarg are copies in the executable: libc's getopt_long reads and updates
// those, while EAL, whose symbols resolve inside our scope first, reads and resets libc's originals. EAL
// then scans from packetdrill's optind (its second pass over the options sees none: EAL ignored --no-pci
// and probed PCI devices) and reads a stale optarg (a crash in rte_eal_init). Exported from this object,
// this definition is the one EAL binds to under RTLD_DEEPBIND: it hands EAL's view of optind and opterr to
// libc's getopt_long and brings optind, optarg and optopt back. Where the program has no copies of its
// own (loaded without RTLD_DEEPBIND, or by a program that never used getopt), both views are one and it
// only forwards the call.
extern "C" __attribute__((visibility("default"))) int getopt_long(int argc, char* const argv[], const char* shortopts,
                                                                 const struct option* longopts, int* longind) {
  using Fn = int (*)(int, char* const*, const char*, const struct option*, int*);
  static const Fn real = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, "getopt_long"));
  struct Prog {
    int* optind;
    int* opterr;
    int* optopt;
    char** optarg;
  };
  static const Prog prog = [] {
    Prog p{&::optind, &::opterr, &::optopt, &::optarg};
    if (void* h = dlopen(nullptr, RTLD_NOW)) {  // the executable first (RTLD_DEFAULT would search our scope)
      if (auto* v = static_cast<int*>(dlsym(h, "optind"))) p.optind = v;
      if (auto* v = static_cast<int*>(dlsym(h, "opterr"))) p.opterr = v;
      if (auto* v = static_cast<int*>(dlsym(h, "optopt"))) p.optopt = v;
      if (auto* v = static_cast<char**>(dlsym(h, "optarg"))) p.optarg = v;
      dlclose(h);
    }
    return p;
  }();
  *prog.optind = ::optind;
  *prog.opterr = ::opterr;
  const int r = real(argc, argv, shortopts, longopts, longind);
  ::optind = *prog.optind;
  ::optopt = *prog.optopt;
  ::optarg = *prog.optarg;
  return r;
}

bool start_eal() {
  static std::once_flag once;
  static bool ok = false;
  std::call_once(once, [] {
    // EAL pins the calling thread to its main lcore: give packetdrill its CPUs back afterwards.
    cpu_set_t cpus;
    const bool have = sched_getaffinity(0, sizeof cpus, &cpus) == 0;
    std::string prefix = "--file-prefix=skiff-pd-" + std::to_string(getpid());
    std::vector<std::string> args = {"skiff-packetdrill", "--no-pci", "--no-huge", "-m", "256", "-l", "0",
                                     prefix, "--no-telemetry", "--log-level=*:error"};
    std::vector<char*> av;
    for (auto& a : args) av.push_back(a.data());
    ok = rte_eal_init(static_cast<int>(av.size()), av.data()) >= 0 || rte_errno == EALREADY;
    if (!ok) fprintf(stderr, "skiff-packetdrill: EAL init failed: %s\n", rte_strerror(rte_errno));
    if (ok && rte_eal_has_pci()) {
      fprintf(stderr, "skiff-packetdrill: EAL ignored its options (--no-pci); not starting\n");
      ok = false;
    }
    if (have) sched_setaffinity(0, sizeof cpus, &cpus);
  });
  return ok;
}

std::atomic<unsigned> g_instances{0};

class Adapter {
 public:
  explicit Adapter(const Options& o) : opt_(o), dev_(*this) {
    struct timeval tv;
    ::gettimeofday(&tv, nullptr);
    epoch_us_ = static_cast<long long>(tv.tv_sec) * 1000000 + tv.tv_usec;
    start_ = clock_.now();
    dev_.mtu = o.mtu;
    StackConfig cfg;
    cfg.pool_size = 4095;
    stack_ = std::make_unique<Stack>("pd" + std::to_string(g_instances++), cfg);
    if (!stack_->make_pools(1)) {
      fprintf(stderr, "skiff-packetdrill: cannot create the packet pool\n");
      abort();
    }
    stack_->add_iface(&dev_, o.local);
    if (!stack_->set_gateway(o.gateway)) {
      fprintf(stderr, "skiff-packetdrill: gateway %s is outside %s\n", o.gateway.to_string().c_str(),
              o.local.to_string().c_str());
      abort();
    }
    stack_->build_shards(clock_);
    Shard& sh = shard();
    sh.pump_hook = [this] { pump(); };
    std::lock_guard lk(mu_);
    enter();
    sh.start();
    // The gateway introduces itself (an ARP request for our address); the stack's answer is not IP.
    arp_from_gateway(1, o.gateway, kOurMac, o.local.addr);
    settle();
    out_.clear();
  }

  ~Adapter() {
    std::lock_guard lk(mu_);
    set_this_shard(nullptr);
    stack_->release_shards();
    if (const unsigned n = stack_->pool(0).in_use()) fprintf(stderr, "skiff-packetdrill: %u packet buffers leaked\n", n);
  }

  Shard& shard() { return stack_->shard(0); }
  unsigned buffers_in_use() {
    std::lock_guard lk(mu_);
    // What sits in sockets and queues is in use; the pool's own count includes those.
    return stack_->pool(0).in_use();
  }

  // Runs `f` (a Skiff call) under the lock on the shard; errno survives.
  template <class F>
  auto call(F&& f) {
    std::unique_lock lk(mu_);
    enter();
    auto r = f();
    const int e = errno;
    settle();
    bump();
    errno = e;
    return r;
  }

  int netdev_send(const void* buf, size_t count) {
    const auto* p = static_cast<const uint8_t*>(buf);
    if (!count || (p[0] >> 4) != 4) {
      errno = EAFNOSUPPORT;
      return -1;
    }
    if (count > 65535) {  // larger than any IPv4 packet
      errno = EMSGSIZE;
      return -1;
    }
    std::vector<uint8_t> f(14 + count);
    kOurMac.store(f.data());
    kGatewayMac.store(f.data() + 6);
    wire::store_be16(f.data() + 12, 0x0800);
    memcpy(f.data() + 14, p, count);
    std::unique_lock lk(mu_);
    enter();
    inject(f);
    settle();
    bump();
    return 0;
  }

  int netdev_receive(void* buf, size_t* count, long long* usecs) {
    std::unique_lock lk(mu_);
    enter();
    const Instant limit = clock_.now() + opt_.recv_timeout;
    for (;;) {
      settle();
      if (!out_.empty()) {
        OutPkt p = std::move(out_.front());
        out_.pop_front();
        const size_t n = std::min(*count, p.ip.size());
        memcpy(buf, p.ip.data(), n);
        *count = n;
        *usecs = p.usecs;
        return 0;
      }
      bump();  // blocked callers act at this time before it moves on
      if (!out_.empty()) continue;
      if (clock_.now() >= limit) {
        *count = 0;
        return -1;
      }
      step_to(std::min(clock_.now() + kStep, limit));
    }
  }

  int usleep(useconds_t usec) {
    std::unique_lock lk(mu_);
    enter();
    const Instant until = clock_.now() + std::chrono::microseconds(usec);
    while (clock_.now() < until) {
      step_to(std::min(clock_.now() + kStep, until));
      bump();
    }
    return 0;
  }

  int gettimeofday(struct timeval* tv) {
    std::unique_lock lk(mu_);
    enter();
    step_to(clock_.now() + 1us);
    bump();
    const long long us = now_us();
    tv->tv_sec = us / 1000000;
    tv->tv_usec = us % 1000000;
    return 0;
  }

  // poll() over a temporary epoll set (level-triggered: reports what is ready now, else waits).
  int poll(struct pollfd* fds, nfds_t nfds, int timeout) {
    std::unique_lock lk(mu_);
    enter();
    int ready = 0;
    const int ep = skiff_epoll_create1(0);
    if (ep < 0) return -1;
    for (nfds_t i = 0; i < nfds; ++i) {
      fds[i].revents = 0;
      if (fds[i].fd < 0) continue;
      epoll_event ev{};
      ev.events = static_cast<uint32_t>(fds[i].events) & (EPOLLIN | EPOLLOUT | EPOLLPRI | EPOLLRDHUP | EPOLLRDNORM |
                                                            EPOLLWRNORM | EPOLLRDBAND | EPOLLWRBAND);
      ev.data.u64 = i;
      if (skiff_epoll_ctl(ep, EPOLL_CTL_ADD, fds[i].fd, &ev) < 0) {
        fds[i].revents = POLLNVAL;
        ++ready;
      }
    }
    std::vector<epoll_event> evs(std::max<nfds_t>(nfds, 1));
    const int n = skiff_epoll_wait(ep, evs.data(), static_cast<int>(evs.size()), ready ? 0 : timeout);
    const int e = errno;
    for (int i = 0; i < n; ++i) {
      pollfd& p = fds[evs[i].data.u64];
      if (!p.revents) ++ready;
      p.revents = static_cast<short>(p.revents | (evs[i].events & (static_cast<uint32_t>(p.events) | POLLERR | POLLHUP)));
    }
    skiff_close(ep);
    settle();
    bump();
    if (n < 0 && !ready) {
      errno = e;
      return -1;
    }
    return ready;
  }

  void on_tx(rte_mbuf** pkts, uint16_t n) {
    for (uint16_t i = 0; i < n; ++i) {
      rte_mbuf* m = pkts[i];
      std::vector<uint8_t> b(m->pkt_len);
      const void* d = rte_pktmbuf_read(m, 0, m->pkt_len, b.data());
      if (d && d != b.data()) memcpy(b.data(), d, m->pkt_len);
      rte_pktmbuf_free(m);
      if (b.size() < 14) continue;
      const uint16_t et = wire::load_be16(b.data() + 12);
      if (et == 0x0806 && b.size() >= 14 + 28 && wire::load_be16(b.data() + 20) == 1) {
        const Ipv4Addr tpa(wire::load_be32(b.data() + 38));
        if (tpa != opt_.local.addr) arp_wanted_.push_back(tpa);  // not our own announcement
        continue;
      }
      if (et != 0x0800) continue;
      if (opt_.verbose) fprintf(stderr, "skiff-packetdrill: out %zu bytes at %lld us\n", b.size() - 14, now_us() - epoch_us_);
      out_.push_back({std::vector<uint8_t>(b.begin() + 14, b.end()), now_us()});
    }
  }

 private:
  void enter() {
    set_this_shard(&shard());
    shard().update_clock();
  }

  long long now_us() { return epoch_us_ + to_us(clock_.now() - start_); }

  void inject(const std::vector<uint8_t>& f) {
    rte_mempool* mp = stack_->pool(0).raw();
    rte_mbuf* head = nullptr;
    size_t off = 0;
    do {
      rte_mbuf* seg = rte_pktmbuf_alloc(mp);
      if (!seg) {
        if (head) rte_pktmbuf_free(head);
        return;
      }
      const size_t n = std::min<size_t>(rte_pktmbuf_tailroom(seg), f.size() - off);
      memcpy(rte_pktmbuf_append(seg, static_cast<uint16_t>(n)), f.data() + off, n);
      off += n;
      if (!head) {
        head = seg;
      } else if (rte_pktmbuf_chain(head, seg) != 0) {
        rte_pktmbuf_free(seg);
        rte_pktmbuf_free(head);
        return;
      }
    } while (off < f.size());
    shard().update_clock();
    shard().input(*shard().port_for(0), &head, 1);
  }

  void arp_from_gateway(uint16_t op, Ipv4Addr spa, const MacAddr& tha, Ipv4Addr tpa) {
    std::vector<uint8_t> f(14 + wire::ArpView::kLen, 0);
    (op == 1 ? MacAddr::broadcast() : kOurMac).store(f.data());
    kGatewayMac.store(f.data() + 6);
    wire::store_be16(f.data() + 12, 0x0806);
    wire::ArpView(f.data() + 14, wire::ArpView::kLen).build(static_cast<wire::ArpOp>(op), kGatewayMac, spa, tha, tpa);
    f.resize(60);
    inject(f);
  }

  // Delivers socket events, transmits, answers the stack's ARP requests; wakes blocked callers.
  void settle() {
    for (int round = 0; round < 8; ++round) {
      shard().dispatch_events();
      shard().flush();
      if (arp_wanted_.empty()) break;
      std::vector<Ipv4Addr> want;
      want.swap(arp_wanted_);
      for (Ipv4Addr ip : want) arp_from_gateway(2, ip, kOurMac, opt_.local.addr);
    }
    cv_.notify_all();
  }

  void step_to(Instant t) {
    clock_.set(t);
    shard().update_clock();
    shard().run_timers();
    settle();
  }

  // Something changed: let every caller blocked in the stack look at it (at this virtual time) first.
  void bump() {
    ++gen_;
    unseen_ = waiters_;
    cv_.notify_all();
    if (waiters_) seen_cv_.wait_for(mu_, 50ms, [this] { return unseen_ <= 0; });
  }

  // A blocking Skiff call is waiting (called with mu_ held, from inside the call).
  // - On packetdrill's main thread (the one that loaded us: a call the script did not mark as blocking,
  //   such as poll with a timeout), nobody else is going to move the time: it moves it a step, and lets
  //   any other blocked caller look at the new time.
  // - On any other thread (packetdrill's thread for blocking calls) it sleeps until another thread changes
  //   something (a packet in, time moved, another socket call), so that packetdrill sees it asleep and
  //   time moves only with the script. The timeout only bounds a lost wake-up.
  void pump() {
    settle();
    if (std::this_thread::get_id() == main_thread_) {
      step_to(clock_.now() + kStep);
      bump();
      enter();
      return;
    }
    const uint64_t my = gen_;
    ++waiters_;
    const bool changed = cv_.wait_for(mu_, 50ms, [&] { return gen_ != my; });
    --waiters_;
    if (changed && unseen_ > 0) {
      --unseen_;
      seen_cv_.notify_all();
    }
    enter();
  }

  Options opt_;
  std::mutex mu_;
  std::condition_variable_any cv_, seen_cv_;
  uint64_t gen_ = 0;
  int waiters_ = 0, unseen_ = 0;
  ManualClock clock_;
  Instant start_;
  long long epoch_us_ = 0;
  PdDevice dev_;
  std::unique_ptr<Stack> stack_;
  std::deque<OutPkt> out_;
  std::vector<Ipv4Addr> arp_wanted_;
  const std::thread::id main_thread_ = std::this_thread::get_id();  // packetdrill's (it calls init)
};

uint16_t PdDevice::tx_burst(uint16_t, rte_mbuf** pkts, uint16_t n) {
  a_.on_tx(pkts, n);
  return n;
}

Adapter* ad(void* u) { return static_cast<Adapter*>(u); }

// ---- The interface's functions. ----

void pd_free(void* u) { delete ad(u); }
int pd_socket(void* u, int d, int t, int p) { return ad(u)->call([&] { return skiff_socket(d, t, p); }); }
int pd_bind(void* u, int fd, const sockaddr* a, socklen_t l) { return ad(u)->call([&] { return skiff_bind(fd, a, l); }); }
int pd_listen(void* u, int fd, int b) { return ad(u)->call([&] { return skiff_listen(fd, b); }); }
int pd_accept(void* u, int fd, sockaddr* a, socklen_t* l) { return ad(u)->call([&] { return skiff_accept(fd, a, l); }); }
int pd_connect(void* u, int fd, const sockaddr* a, socklen_t l) {
  return ad(u)->call([&] { return skiff_connect(fd, a, l); });
}
ssize_t pd_read(void* u, int fd, void* b, size_t n) { return ad(u)->call([&] { return skiff_read(fd, b, n); }); }
ssize_t pd_readv(void* u, int fd, const iovec* v, int n) { return ad(u)->call([&] { return skiff_readv(fd, v, n); }); }
ssize_t pd_recv(void* u, int fd, void* b, size_t n, int f) { return ad(u)->call([&] { return skiff_recv(fd, b, n, f); }); }
ssize_t pd_recvfrom(void* u, int fd, void* b, size_t n, int f, sockaddr* a, socklen_t* l) {
  return ad(u)->call([&] { return skiff_recvfrom(fd, b, n, f, a, l); });
}
ssize_t pd_recvmsg(void* u, int fd, msghdr* m, int f) { return ad(u)->call([&] { return skiff_recvmsg(fd, m, f); }); }
ssize_t pd_write(void* u, int fd, const void* b, size_t n) { return ad(u)->call([&] { return skiff_write(fd, b, n); }); }
ssize_t pd_writev(void* u, int fd, const iovec* v, int n) { return ad(u)->call([&] { return skiff_writev(fd, v, n); }); }
ssize_t pd_send(void* u, int fd, const void* b, size_t n, int f) {
  return ad(u)->call([&] { return skiff_send(fd, b, n, f); });
}
ssize_t pd_sendto(void* u, int fd, const void* b, size_t n, int f, const sockaddr* a, socklen_t l) {
  return ad(u)->call([&] { return skiff_sendto(fd, b, n, f, a, l); });
}
ssize_t pd_sendmsg(void* u, int fd, const msghdr* m, int f) { return ad(u)->call([&] { return skiff_sendmsg(fd, m, f); }); }
int pd_fcntl(void* u, int fd, int cmd, ...) {
  long arg = 0;
  if (cmd == F_SETFL || cmd == F_SETFD || cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) {
    va_list ap;
    va_start(ap, cmd);
    arg = va_arg(ap, long);
    va_end(ap);
  }
  return ad(u)->call([&] { return skiff_fcntl(fd, cmd, static_cast<int>(arg)); });
}
int pd_ioctl(void* u, int fd, unsigned long req, ...) {
  va_list ap;
  va_start(ap, req);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  return ad(u)->call([&] { return skiff_ioctl(fd, req, arg); });
}
int pd_close(void* u, int fd) { return ad(u)->call([&] { return skiff_close(fd); }); }
int pd_shutdown(void* u, int fd, int how) { return ad(u)->call([&] { return skiff_shutdown(fd, how); }); }
int pd_getsockopt(void* u, int fd, int lv, int name, void* v, socklen_t* l) {
  return ad(u)->call([&] { return skiff_getsockopt(fd, lv, name, v, l); });
}
int pd_setsockopt(void* u, int fd, int lv, int name, const void* v, socklen_t l) {
  return ad(u)->call([&] { return skiff_setsockopt(fd, lv, name, v, l); });
}
int pd_poll(void* u, pollfd* fds, nfds_t n, int timeout) { return ad(u)->poll(fds, n, timeout); }
int pd_netdev_send(void* u, const void* b, size_t n) { return ad(u)->netdev_send(b, n); }
int pd_netdev_receive(void* u, void* b, size_t* n, long long* t) { return ad(u)->netdev_receive(b, n, t); }
int pd_usleep(void* u, useconds_t us) { return ad(u)->usleep(us); }
int pd_gettimeofday(void* u, timeval* tv, struct timezone*) { return ad(u)->gettimeofday(tv); }
int pd_epoll_create(void* u, int size) { return ad(u)->call([&] { return skiff_epoll_create(size); }); }
int pd_epoll_ctl(void* u, int ep, int op, int fd, epoll_event* ev) {
  return ad(u)->call([&] { return skiff_epoll_ctl(ep, op, fd, ev); });
}
int pd_epoll_wait(void* u, int ep, epoll_event* evs, int max, int timeout) {
  return ad(u)->call([&] { return skiff_epoll_wait(ep, evs, max, timeout); });
}
int pd_pipe(void*, int*) {
  errno = ENOSYS;
  return -1;
}
int pd_splice(void*, int, loff_t*, int, loff_t*, size_t, unsigned int) {
  errno = ENOSYS;
  return -1;
}

}  // namespace

// For tests (not part of packetdrill's interface): packet buffers taken from the adapter's pool now.
extern "C" __attribute__((visibility("default"))) unsigned skiff_packetdrill_buffers_in_use(void* userdata) {
  return ad(userdata)->buffers_in_use();
}

extern "C" __attribute__((visibility("default"))) void packetdrill_interface_init(const char* flags,
                                                                                   struct packetdrill_interface* i) {
  Options o;
  if (!parse_options(flags, &o)) {
    fprintf(stderr, "skiff-packetdrill: bad --so_flags '%s'\n", flags ? flags : "");
    abort();
  }
  if (!start_eal()) abort();
  set_log_level(o.verbose ? LogLevel::Info : LogLevel::Error);
  *i = packetdrill_interface{};
  i->userdata = new Adapter(o);
  i->free = pd_free;
  i->socket = pd_socket;
  i->bind = pd_bind;
  i->listen = pd_listen;
  i->accept = pd_accept;
  i->connect = pd_connect;
  i->read = pd_read;
  i->readv = pd_readv;
  i->recv = pd_recv;
  i->recvfrom = pd_recvfrom;
  i->recvmsg = pd_recvmsg;
  i->write = pd_write;
  i->writev = pd_writev;
  i->send = pd_send;
  i->sendto = pd_sendto;
  i->sendmsg = pd_sendmsg;
  i->fcntl = pd_fcntl;
  i->ioctl = pd_ioctl;
  i->close = pd_close;
  i->shutdown = pd_shutdown;
  i->getsockopt = pd_getsockopt;
  i->setsockopt = pd_setsockopt;
  i->poll = pd_poll;
  i->netdev_send = pd_netdev_send;
  i->netdev_receive = pd_netdev_receive;
  i->usleep = pd_usleep;
  i->gettimeofday = pd_gettimeofday;
  i->epoll_create = pd_epoll_create;
  i->epoll_ctl = pd_epoll_ctl;
  i->epoll_wait = pd_epoll_wait;
  i->pipe = pd_pipe;
  i->splice = pd_splice;
}
