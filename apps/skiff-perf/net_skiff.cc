// SkiffNet: skiff-perf's socket interface over a Skiff shard, through the C API (lib/api/skiff.h).
// Every call first makes the shard the calling thread's own, so several stacks can share a thread.

#include <fcntl.h>

#include <algorithm>
#include <cerrno>

#include "api/skiff.h"
#include "skiff-perf/net.hh"
#include "stack/shard.hh"

namespace perf {

namespace {

constexpr int kMaxPolls = 4;

class SkiffNet final : public Net {
 public:
  explicit SkiffNet(skiff::Shard& sh) : sh_(sh) {
    use();
    ep_ = skiff_epoll_create1(0);
  }
  ~SkiffNet() override {
    use();
    if (ep_ >= 0) skiff_close(ep_);
  }
  const char* name() const override { return "skiff"; }

  int socket(int type) override { return use(), skiff_socket(AF_INET, type | SOCK_NONBLOCK, 0); }
  int bind(int fd, const sockaddr_in& a) override {
    return use(), skiff_bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a);
  }
  int listen(int fd, int backlog) override { return use(), skiff_listen(fd, backlog); }
  int accept(int fd, sockaddr_in* peer) override {
    socklen_t l = sizeof *peer;
    return use(), skiff_accept4(fd, reinterpret_cast<sockaddr*>(peer), &l, SOCK_NONBLOCK);
  }
  int connect(int fd, const sockaddr_in& a) override {
    return use(), skiff_connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a);
  }
  ssize_t send(int fd, const void* p, size_t n) override { return use(), skiff_send(fd, p, n, 0); }
  ssize_t recv(int fd, void* p, size_t n) override { return use(), skiff_recv(fd, p, n, 0); }
  ssize_t sendto(int fd, const void* p, size_t n, const sockaddr_in& to) override {
    return use(), skiff_sendto(fd, p, n, 0, reinterpret_cast<const sockaddr*>(&to), sizeof to);
  }
  ssize_t recvfrom(int fd, void* p, size_t n, sockaddr_in* from) override {
    socklen_t l = sizeof *from;
    return use(), skiff_recvfrom(fd, p, n, 0, reinterpret_cast<sockaddr*>(from), &l);
  }
  int setsockopt(int fd, int level, int opt, const void* v, socklen_t len) override {
    return use(), skiff_setsockopt(fd, level, opt, v, len);
  }
  int getsockopt(int fd, int level, int opt, void* v, socklen_t* len) override {
    return use(), skiff_getsockopt(fd, level, opt, v, len);
  }
  int getsockname(int fd, sockaddr_in* a) override {
    socklen_t l = sizeof *a;
    return use(), skiff_getsockname(fd, reinterpret_cast<sockaddr*>(a), &l);
  }
  int getpeername(int fd, sockaddr_in* a) override {
    socklen_t l = sizeof *a;
    return use(), skiff_getpeername(fd, reinterpret_cast<sockaddr*>(a), &l);
  }
  int shutdown(int fd, int how) override { return use(), skiff_shutdown(fd, how); }
  int close(int fd) override { return use(), skiff_close(fd); }

  int watch(int op, int fd, uint32_t events, uint64_t data) override {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = data;
    return use(), skiff_epoll_ctl(ep_, op, fd, &ev);
  }
  int wait(epoll_event* ev, int max, int64_t) override {
    use();
    // Another poll while the last one brought a full burst, up to kMaxPolls: in one loop iteration a
    // sender writes a block (~90 segments of 128 KiB), and a receiver that took only one burst per
    // iteration would let the wire's queue grow to the whole window, out of the cache (bulk on one core:
    // 13 -> 20 Gbit/s). A request/response loop never fills a burst and polls once.
    for (int k = 0; k < kMaxPolls && sh_.poll_once() >= skiff::kBurst; ++k) {
    }
    return skiff_epoll_wait(ep_, ev, max, 0);
  }
  void flush() override { sh_.flush(); }
  bool busy_poll() const override { return true; }
  int64_t last_wait_ns() const override { return sh_.now().ns(); }
  unsigned pool_buffers() const override { return sh_.pool.capacity(); }

 private:
  void use() { skiff::set_this_shard(&sh_); }
  skiff::Shard& sh_;
  int ep_ = -1;
};

}  // namespace

std::unique_ptr<Net> make_skiff_net(skiff::Shard& sh) { return std::make_unique<SkiffNet>(sh); }

int tcp_send_buffer(const Net& net, int streams) {
  const uint64_t pool = net.pool_buffers();
  if (!pool || streams < 1) return 0;
  constexpr uint64_t kSegment = 1448;  // payload of a full segment with timestamps at MTU 1500
  const uint64_t share = pool / 2 / static_cast<uint64_t>(streams) * kSegment;
  return static_cast<int>(std::clamp<uint64_t>(share, 64 << 10, 4 << 20));
}

}  // namespace perf
