#include <fcntl.h>
#include <netinet/tcp.h>

#include <cerrno>

#include "api/skiff.hh"
#include "sock/epoll.hh"
#include "stack/shard.hh"

namespace skiff::net {

sockaddr_in Endpoint::to_sockaddr() const {
  sockaddr_in s{};
  s.sin_family = AF_INET;
  s.sin_port = htons(port);
  s.sin_addr.s_addr = htonl(addr.host());
  return s;
}

Endpoint Endpoint::from(const sockaddr_in& s) { return {wire::Ipv4Addr(ntohl(s.sin_addr.s_addr)), ntohs(s.sin_port)}; }

std::string Endpoint::to_string() const { return addr.to_string() + ":" + std::to_string(port); }

namespace {

Result<void> status(int rc) { return rc < 0 ? Result<void>::error(errno) : Result<void>(); }
Result<size_t> count(ssize_t n) { return n < 0 ? Result<size_t>::error(errno) : Result<size_t>(static_cast<size_t>(n)); }

// The socket's callback slots (created on first use), or nullptr if fd is not a socket here.
skiff::Sock* sock_for(int fd) {
  skiff::Shard* sh = skiff::this_shard();
  if (!sh) return nullptr;
  int err = 0;
  skiff::Socket* s = sh->socks.fds.socket(fd, &err);
  return s ? s->sk : nullptr;
}

void set_cb(int fd, std::function<void(int)> skiff::SockCallbacks::*slot, std::function<void(SocketRef)> f) {
  skiff::Sock* sk = sock_for(fd);
  if (!sk) return;
  if (!sk->callbacks) sk->callbacks = std::make_unique<skiff::SockCallbacks>();
  if (f) {
    sk->callbacks.get()->*slot = [f = std::move(f)](int d) { f(SocketRef(d)); };
  } else {
    sk->callbacks.get()->*slot = nullptr;
  }
  // Already ready? Then the callback runs at the end of this poll iteration.
  if (const uint32_t mask = sk->socket->ops->poll(sk->socket)) skiff::sock_wake(sk, mask);
}

}  // namespace

Result<void> SocketRef::bind(const Endpoint& ep) {
  const sockaddr_in s = ep.to_sockaddr();
  return status(skiff_bind(fd_, reinterpret_cast<const sockaddr*>(&s), sizeof s));
}

Result<void> SocketRef::connect(const Endpoint& ep) {
  const sockaddr_in s = ep.to_sockaddr();
  return status(skiff_connect(fd_, reinterpret_cast<const sockaddr*>(&s), sizeof s));
}

Result<void> SocketRef::listen(int backlog) { return status(skiff_listen(fd_, backlog)); }

Result<Socket> SocketRef::accept(Endpoint* peer, int flags) {
  sockaddr_in s{};
  socklen_t len = sizeof s;
  const int nfd = skiff_accept4(fd_, reinterpret_cast<sockaddr*>(&s), &len, flags);
  if (nfd < 0) return Result<Socket>::error(errno);
  if (peer) *peer = Endpoint::from(s);
  return Socket(nfd);
}

Result<size_t> SocketRef::send(std::span<const uint8_t> d, int flags) {
  return count(skiff_send(fd_, d.data(), d.size(), flags));
}

Result<size_t> SocketRef::recv(std::span<uint8_t> b, int flags) { return count(skiff_recv(fd_, b.data(), b.size(), flags)); }

Result<size_t> SocketRef::send_to(std::span<const uint8_t> d, const Endpoint& to, int flags) {
  const sockaddr_in s = to.to_sockaddr();
  return count(skiff_sendto(fd_, d.data(), d.size(), flags, reinterpret_cast<const sockaddr*>(&s), sizeof s));
}

Result<size_t> SocketRef::recv_from(std::span<uint8_t> b, Endpoint* from, int flags) {
  sockaddr_in s{};
  socklen_t len = sizeof s;
  const ssize_t n = skiff_recvfrom(fd_, b.data(), b.size(), flags, reinterpret_cast<sockaddr*>(&s), &len);
  if (n >= 0 && from) *from = Endpoint::from(s);
  return count(n);
}

Result<void> SocketRef::shutdown(int how) { return status(skiff_shutdown(fd_, how)); }

Result<Endpoint> SocketRef::local_endpoint() const {
  sockaddr_in s{};
  socklen_t len = sizeof s;
  if (skiff_getsockname(fd_, reinterpret_cast<sockaddr*>(&s), &len) < 0) return Result<Endpoint>::error(errno);
  return Endpoint::from(s);
}

Result<Endpoint> SocketRef::peer_endpoint() const {
  sockaddr_in s{};
  socklen_t len = sizeof s;
  if (skiff_getpeername(fd_, reinterpret_cast<sockaddr*>(&s), &len) < 0) return Result<Endpoint>::error(errno);
  return Endpoint::from(s);
}

Result<void> SocketRef::set_option(int level, int name, int value) {
  return status(skiff_setsockopt(fd_, level, name, &value, sizeof value));
}

Result<skiff_tcp_info> SocketRef::tcp_info() const {
  skiff_tcp_info ti{};
  socklen_t len = sizeof ti;
  if (skiff_getsockopt(fd_, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0) return Result<skiff_tcp_info>::error(errno);
  return ti;
}

Result<int> SocketRef::option(int level, int name) const {
  int v = 0;
  socklen_t len = sizeof v;
  if (skiff_getsockopt(fd_, level, name, &v, &len) < 0) return Result<int>::error(errno);
  return v;
}

Result<void> SocketRef::set_nonblocking(bool on) {
  const int fl = skiff_fcntl(fd_, F_GETFL);
  if (fl < 0) return Result<void>::error(errno);
  return status(skiff_fcntl(fd_, F_SETFL, on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK)));
}

int SocketRef::take_error() {
  auto r = option(SOL_SOCKET, SO_ERROR);
  return r ? *r : r.error();
}

void SocketRef::on_accept(std::function<void(SocketRef)> f) { set_cb(fd_, &skiff::SockCallbacks::on_accept, std::move(f)); }
void SocketRef::on_readable(std::function<void(SocketRef)> f) {
  set_cb(fd_, &skiff::SockCallbacks::on_readable, std::move(f));
}
void SocketRef::on_writable(std::function<void(SocketRef)> f) {
  set_cb(fd_, &skiff::SockCallbacks::on_writable, std::move(f));
}
void SocketRef::on_closed(std::function<void(SocketRef)> f) { set_cb(fd_, &skiff::SockCallbacks::on_closed, std::move(f)); }

Result<Socket> Socket::open(int type, int protocol, int flags) {
  const int fd = skiff_socket(AF_INET, type | flags, protocol);
  if (fd < 0) return Result<Socket>::error(errno);
  return Socket(fd);
}

void Socket::close() {
  if (fd_ >= 0) skiff_close(std::exchange(fd_, -1));
}

}  // namespace skiff::net
