#pragma once
// The socket interface every skiff-perf workload is written against, once: POSIX-like calls (-1 and
// errno on failure) on non-blocking AF_INET sockets plus an epoll-like readiness set. Two implementations:
//   SkiffNet  - a Skiff shard through the C API (lib/api/skiff.h); wait() runs one poll iteration first
//               and never blocks (busy polling), flush() hands queued frames to the device at once;
//   KernelNet - Linux sockets and epoll; wait() blocks up to the timeout.
// Several Nets may share one event loop (the demo runs two Skiff stacks, or the kernel, in one thread).

#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <string>

namespace skiff {
class Shard;
}

namespace perf {

class Net {
 public:
  virtual ~Net() = default;
  virtual const char* name() const = 0;  // "skiff" or "kernel"

  // A non-blocking socket: type is SOCK_STREAM or SOCK_DGRAM.
  virtual int socket(int type) = 0;
  virtual int bind(int fd, const sockaddr_in& a) = 0;
  virtual int listen(int fd, int backlog) = 0;
  virtual int accept(int fd, sockaddr_in* peer) = 0;  // the new socket is non-blocking too
  virtual int connect(int fd, const sockaddr_in& a) = 0;
  virtual ssize_t send(int fd, const void* p, size_t n) = 0;
  virtual ssize_t recv(int fd, void* p, size_t n) = 0;
  virtual ssize_t sendto(int fd, const void* p, size_t n, const sockaddr_in& to) = 0;
  virtual ssize_t recvfrom(int fd, void* p, size_t n, sockaddr_in* from) = 0;
  virtual int setsockopt(int fd, int level, int opt, const void* v, socklen_t len) = 0;
  virtual int getsockopt(int fd, int level, int opt, void* v, socklen_t* len) = 0;
  virtual int getsockname(int fd, sockaddr_in* a) = 0;
  virtual int getpeername(int fd, sockaddr_in* a) = 0;
  virtual int shutdown(int fd, int how) = 0;
  virtual int close(int fd) = 0;

  // The readiness set (one per Net): EPOLL_CTL_ADD/MOD/DEL with events and the 64-bit user data.
  virtual int watch(int op, int fd, uint32_t events, uint64_t data) = 0;
  // Advances the stack (Skiff: one poll iteration) and harvests ready events, waiting at most
  // timeout_ns (0: not at all; Skiff never waits).
  virtual int wait(epoll_event* ev, int max, int64_t timeout_ns) = 0;
  // Sends what the workload queued since the last wait() (Skiff: the shard's TX batches).
  virtual void flush() {}
  virtual bool busy_poll() const = 0;
  // The time as of the last wait(), when the stack keeps it anyway (a Skiff shard reads the clock at the
  // start of every poll); -1 otherwise. The loop's timers take it instead of reading the clock again.
  virtual int64_t last_wait_ns() const { return -1; }
  // Packet buffers the stack has in all (0: no fixed pool, as in the kernel). A Skiff send queue holds one
  // buffer per segment, so streams that together queue more than the pool would leave none for the ACKs
  // that free them: tcp_send_buffer() sizes each stream's share.
  virtual unsigned pool_buffers() const { return 0; }

  int set_int(int fd, int level, int opt, int v) { return setsockopt(fd, level, opt, &v, sizeof v); }
  int get_int(int fd, int level, int opt, int* v) {
    socklen_t l = sizeof *v;
    return getsockopt(fd, level, opt, v, &l);
  }
};

// SO_SNDBUF for each of `streams` TCP data streams when the user gave no -w: 0 (leave the stack's
// autotuning alone) on the kernel; on Skiff, half the pool's buffers of full segments shared by the streams,
// between 64 KiB and 4 MiB.
int tcp_send_buffer(const Net& net, int streams);

std::unique_ptr<Net> make_kernel_net();
// Every call selects `sh` as the calling thread's shard first (two stacks may share one thread).
std::unique_ptr<Net> make_skiff_net(skiff::Shard& sh);

// "a.b.c.d" (or a host name for the kernel) into an address; false when it cannot be resolved.
bool resolve_ipv4(const std::string& host, uint16_t port, sockaddr_in* out);
std::string ip_string(const sockaddr_in& a);

}  // namespace perf
