// KernelNet: skiff-perf's socket interface over Linux sockets and epoll.

#include <arpa/inet.h>
#include <netdb.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>

#include "skiff-perf/net.hh"

namespace perf {

namespace {

class KernelNet final : public Net {
 public:
  KernelNet() : ep_(epoll_create1(EPOLL_CLOEXEC)) {}
  ~KernelNet() override {
    if (ep_ >= 0) ::close(ep_);
  }
  const char* name() const override { return "kernel"; }

  int socket(int type) override { return ::socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0); }
  int bind(int fd, const sockaddr_in& a) override {
    return ::bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a);
  }
  int listen(int fd, int backlog) override { return ::listen(fd, backlog); }
  int accept(int fd, sockaddr_in* peer) override {
    socklen_t l = sizeof *peer;
    return ::accept4(fd, reinterpret_cast<sockaddr*>(peer), &l, SOCK_NONBLOCK | SOCK_CLOEXEC);
  }
  int connect(int fd, const sockaddr_in& a) override {
    return ::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a);
  }
  ssize_t send(int fd, const void* p, size_t n) override { return ::send(fd, p, n, MSG_NOSIGNAL); }
  ssize_t recv(int fd, void* p, size_t n) override { return ::recv(fd, p, n, 0); }
  ssize_t sendto(int fd, const void* p, size_t n, const sockaddr_in& to) override {
    return ::sendto(fd, p, n, MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&to), sizeof to);
  }
  ssize_t recvfrom(int fd, void* p, size_t n, sockaddr_in* from) override {
    socklen_t l = sizeof *from;
    return ::recvfrom(fd, p, n, 0, reinterpret_cast<sockaddr*>(from), &l);
  }
  int setsockopt(int fd, int level, int opt, const void* v, socklen_t len) override {
    return ::setsockopt(fd, level, opt, v, len);
  }
  int getsockopt(int fd, int level, int opt, void* v, socklen_t* len) override {
    return ::getsockopt(fd, level, opt, v, len);
  }
  int getsockname(int fd, sockaddr_in* a) override {
    socklen_t l = sizeof *a;
    return ::getsockname(fd, reinterpret_cast<sockaddr*>(a), &l);
  }
  int getpeername(int fd, sockaddr_in* a) override {
    socklen_t l = sizeof *a;
    return ::getpeername(fd, reinterpret_cast<sockaddr*>(a), &l);
  }
  int shutdown(int fd, int how) override { return ::shutdown(fd, how); }
  int close(int fd) override { return ::close(fd); }

  int watch(int op, int fd, uint32_t events, uint64_t data) override {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = data;
    return epoll_ctl(ep_, op, fd, &ev);
  }
  int wait(epoll_event* ev, int max, int64_t timeout_ns) override {
    if (timeout_ns <= 0) return epoll_wait(ep_, ev, max, 0);
    timespec ts{static_cast<time_t>(timeout_ns / 1000000000), static_cast<long>(timeout_ns % 1000000000)};
    const int n = epoll_pwait2(ep_, ev, max, &ts, nullptr);
    return n < 0 && errno == EINTR ? 0 : n;
  }
  bool busy_poll() const override { return false; }

 private:
  int ep_;
};

}  // namespace

std::unique_ptr<Net> make_kernel_net() { return std::make_unique<KernelNet>(); }

bool resolve_ipv4(const std::string& host, uint16_t port, sockaddr_in* out) {
  *out = sockaddr_in{};
  out->sin_family = AF_INET;
  out->sin_port = htons(port);
  if (inet_pton(AF_INET, host.c_str(), &out->sin_addr) == 1) return true;
  addrinfo hints{};
  hints.ai_family = AF_INET;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0 || !res) return false;
  out->sin_addr = reinterpret_cast<sockaddr_in*>(res->ai_addr)->sin_addr;
  freeaddrinfo(res);
  return true;
}

std::string ip_string(const sockaddr_in& a) {
  char b[INET_ADDRSTRLEN] = "?";
  inet_ntop(AF_INET, &a.sin_addr, b, sizeof b);
  return b;
}

}  // namespace perf
