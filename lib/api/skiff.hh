#pragma once
// Skiff's C++ API: owning socket handles with results instead of errno, endpoints instead of sockaddr,
// and per-socket callbacks (on accept / readable / writable / closed) that run in the shard's poll loop.
// Everything acts on the calling shard, like the C API (skiff.h) it is built on.

#include <netinet/in.h>

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <utility>

#include "api/skiff.h"
#include "wire/addr.hh"

namespace skiff::net {

struct Endpoint {
  wire::Ipv4Addr addr;
  uint16_t port = 0;

  sockaddr_in to_sockaddr() const;
  static Endpoint from(const sockaddr_in& sin);
  std::string to_string() const;
  bool operator==(const Endpoint&) const = default;
};

// A value or an errno.
template <class T>
class Result {
 public:
  Result(T v) : v_(std::move(v)), err_(0) {}  // NOLINT: implicit on purpose
  static Result error(int e) { return Result(e, 0); }
  bool ok() const { return err_ == 0; }
  explicit operator bool() const { return ok(); }
  int error() const { return err_; }
  T& value() & { return v_; }
  T&& value() && { return std::move(v_); }
  T* operator->() { return &v_; }
  T& operator*() { return v_; }

 private:
  Result(int e, int) : v_(), err_(e) {}
  T v_;
  int err_;
};

template <>
class Result<void> {
 public:
  Result() = default;
  static Result error(int e) {
    Result r;
    r.err_ = e;
    return r;
  }
  bool ok() const { return err_ == 0; }
  explicit operator bool() const { return ok(); }
  int error() const { return err_; }

 private:
  int err_ = 0;
};

class Socket;

// A non-owning view of a descriptor (what callbacks receive).
class SocketRef {
 public:
  SocketRef() = default;
  explicit SocketRef(int fd) : fd_(fd) {}
  int fd() const { return fd_; }
  bool valid() const { return fd_ >= 0; }

  Result<void> bind(const Endpoint& ep);
  Result<void> connect(const Endpoint& ep);  // EINPROGRESS for a non-blocking socket mid-handshake
  Result<void> listen(int backlog = 128);
  Result<Socket> accept(Endpoint* peer = nullptr, int flags = 0);
  Result<size_t> send(std::span<const uint8_t> data, int flags = 0);
  Result<size_t> recv(std::span<uint8_t> buf, int flags = 0);
  Result<size_t> send_to(std::span<const uint8_t> data, const Endpoint& to, int flags = 0);
  Result<size_t> recv_from(std::span<uint8_t> buf, Endpoint* from, int flags = 0);
  Result<void> shutdown(int how);
  Result<Endpoint> local_endpoint() const;
  Result<Endpoint> peer_endpoint() const;
  Result<void> set_option(int level, int name, int value);
  Result<int> option(int level, int name) const;
  // TCP_INFO: Linux's whole struct tcp_info (a TCP socket; else EOPNOTSUPP, as getsockopt).
  Result<skiff_tcp_info> tcp_info() const;
  Result<void> set_nonblocking(bool on);
  // Pending error (SO_ERROR), cleared by reading it.
  int take_error();

  // Callbacks run at the end of the poll iteration in which the socket's readiness changed (and right
  // away, i.e. at the end of this iteration, if it is already ready). Pass {} to remove one.
  void on_accept(std::function<void(SocketRef)> f);
  void on_readable(std::function<void(SocketRef)> f);
  void on_writable(std::function<void(SocketRef)> f);
  void on_closed(std::function<void(SocketRef)> f);

 protected:
  int fd_ = -1;
};

// An owning descriptor: closed when destroyed.
class Socket : public SocketRef {
 public:
  Socket() = default;
  explicit Socket(int fd) : SocketRef(fd) {}
  Socket(Socket&& o) noexcept : SocketRef(std::exchange(o.fd_, -1)) {}
  Socket& operator=(Socket&& o) noexcept {
    if (this != &o) {
      close();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  ~Socket() { close(); }

  // socket(AF_INET, type, protocol); flags: SOCK_NONBLOCK, SOCK_CLOEXEC.
  static Result<Socket> open(int type, int protocol = 0, int flags = 0);
  static Result<Socket> udp(int flags = 0) { return open(SOCK_DGRAM, 0, flags); }
  static Result<Socket> tcp(int flags = 0) { return open(SOCK_STREAM, 0, flags); }

  void close();
  // Gives up ownership (returns the descriptor).
  int release() { return std::exchange(fd_, -1); }
};

}  // namespace skiff::net
