#include "skiff-perf/control.hh"

#include <arpa/inet.h>

#include <cerrno>
#include <cstring>

#include "skiff-perf/proto.hh"

namespace perf {

bool Control::connect(const sockaddr_in& to, const sockaddr_in* from) {
  fd_ = net_.socket(SOCK_STREAM);
  if (fd_ < 0) {
    error_ = errno;
    return false;
  }
  if (from && net_.bind(fd_, *from) < 0) {
    error_ = errno;
    net_.close(fd_);
    fd_ = -1;
    return false;
  }
  net_.set_int(fd_, IPPROTO_TCP, 1 /* TCP_NODELAY */, 1);
  if (net_.connect(fd_, to) < 0 && errno != EINPROGRESS) {
    error_ = errno;
    net_.close(fd_);
    fd_ = -1;
    return false;
  }
  loop_.add(net_, fd_, EPOLLIN | EPOLLOUT, this);
  return true;
}

void Control::attach(int fd) {
  fd_ = fd;
  connected_ = true;
  net_.set_int(fd_, IPPROTO_TCP, 1 /* TCP_NODELAY */, 1);
  loop_.add(net_, fd_, EPOLLIN, this);
}

void Control::close() {
  if (fd_ >= 0) loop_.close(net_, fd_);
  fd_ = -1;
}

void Control::consume(size_t n) {
  pos_ += std::min(n, available());
  if (pos_ == in_.size()) {
    in_.clear();
    pos_ = 0;
  }
}

int Control::take_json(Json* out, std::string* err) {
  if (available() < 4) return 0;
  uint32_t len;
  memcpy(&len, peek(), 4);
  len = ntohl(len);
  if (len == 0 || len > kMaxJsonLen) {
    *err = "JSON length " + std::to_string(len) + " out of range (1.." + std::to_string(kMaxJsonLen) + ")";
    return -1;
  }
  if (available() < 4 + size_t{len}) return 0;
  std::string perr;
  auto j = Json::parse(std::string_view(reinterpret_cast<const char*>(peek()) + 4, len), &perr);
  consume(4 + size_t{len});
  if (!j) {
    *err = "bad JSON: " + perr;
    return -1;
  }
  *out = std::move(*j);
  return 1;
}

void Control::send(const void* p, size_t n) {
  if (fd_ < 0) return;
  out_.append(static_cast<const char*>(p), n);
  flush();
}

void Control::send_json(const Json& j) {
  const std::string text = j.dump();
  const uint32_t len = htonl(static_cast<uint32_t>(text.size()));
  std::string msg(reinterpret_cast<const char*>(&len), 4);
  msg += text;
  send(msg.data(), msg.size());
}

void Control::flush() {
  if (!connected_ || fd_ < 0) return;
  while (!out_.empty()) {
    const ssize_t n = net_.send(fd_, out_.data(), out_.size());
    if (n > 0) {
      out_.erase(0, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) break;
    out_.clear();  // broken: the reader sees the close
    return;
  }
  const bool want = !out_.empty();
  if (want != want_out_ && !closed_) {
    want_out_ = want;
    loop_.modify(net_, fd_, want ? EPOLLIN | EPOLLOUT : EPOLLIN);
  }
}

void Control::on_ready(uint32_t events) {
  if (fd_ < 0 || closed_) return;
  if (!connected_) {
    if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
    int err = 0;
    net_.get_int(fd_, SOL_SOCKET, SO_ERROR, &err);
    sockaddr_in peer{};
    if (!err && net_.getpeername(fd_, &peer) < 0) {
      if (errno == ENOTCONN && !(events & (EPOLLERR | EPOLLHUP))) return;  // still connecting
      err = errno;
    }
    if (err) {
      error_ = err;
      closed_ = true;
      close();
      if (on_data) on_data();
      return;
    }
    connected_ = true;
    loop_.modify(net_, fd_, EPOLLIN);
    if (on_connected) on_connected();
    if (fd_ >= 0) flush();
    return;
  }
  if ((events & EPOLLOUT) && !out_.empty()) flush();
  if (!(events & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP))) return;
  char buf[4096];
  bool got = false;
  for (int k = 0; k < 64; ++k) {
    const ssize_t n = net_.recv(fd_, buf, sizeof buf);
    if (n > 0) {
      in_.append(buf, static_cast<size_t>(n));
      bytes_in_ += static_cast<uint64_t>(n);
      got = true;
      if (in_.size() > 2 * kMaxJsonLen) break;  // the reader refuses anything this long anyway
      continue;
    }
    if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
      error_ = n == 0 ? 0 : errno;
      closed_ = true;
      if (n == 0) {
        // The peer's FIN: it may still read (a half-close), so the socket stays open for a last
        // message until the owner closes it; it is no longer watched.
        loop_.remove(net_, fd_);
      } else {
        close();
      }
      got = true;
    }
    break;
  }
  // Last: the handler may destroy this object.
  if (got && on_data) on_data();
}

}  // namespace perf
