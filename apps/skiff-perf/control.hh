#pragma once
// The control connection: a non-blocking TCP socket with an input buffer (messages may arrive in pieces)
// and an output buffer (a send that would block is finished when the socket is writable).

#include <cstdint>
#include <functional>
#include <string>

#include "skiff-perf/json.hh"
#include "skiff-perf/loop.hh"

namespace perf {

class Control final : public Watcher {
 public:
  Control(Loop& loop, Net& net) : loop_(loop), net_(net) {}
  ~Control() override { close(); }
  Control(const Control&) = delete;
  Control& operator=(const Control&) = delete;

  // Client: starts a non-blocking connect; on_connected (or on_data with closed()) follows.
  bool connect(const sockaddr_in& to, const sockaddr_in* from);
  // Server: takes an accepted socket.
  void attach(int fd);
  int fd() const { return fd_; }
  void close();

  std::function<void()> on_connected;
  // New input, or the connection ended (closed() is then true; error() says why, 0 for EOF).
  std::function<void()> on_data;

  size_t available() const { return in_.size() - pos_; }
  const uint8_t* peek() const { return reinterpret_cast<const uint8_t*>(in_.data()) + pos_; }
  void consume(size_t n);
  // A length-prefixed JSON message: 1 when one was taken into *out, 0 when more bytes are needed,
  // -1 when the prefix is out of range or the text is not JSON (*err says which).
  int take_json(Json* out, std::string* err);

  void send(const void* p, size_t n);
  void send_state(int8_t s) { send(&s, 1); }
  void send_json(const Json& j);

  bool closed() const { return closed_; }
  int error() const { return error_; }
  bool connected() const { return connected_; }
  uint64_t bytes_in() const { return bytes_in_; }

  void on_ready(uint32_t events) override;

 private:
  void flush();
  Loop& loop_;
  Net& net_;
  int fd_ = -1;
  bool connected_ = false, closed_ = false, want_out_ = false;
  int error_ = 0;
  std::string in_, out_;
  size_t pos_ = 0;
  uint64_t bytes_in_ = 0;
};

}  // namespace perf
