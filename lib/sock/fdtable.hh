#pragma once
// Descriptors (sock_map_fd / sockfd_lookup): small integers per shard, lowest free first as POSIX wants,
// starting at 3 so that scripts written against a fresh Linux process (stdin, stdout, stderr taken) see the
// same numbers. An entry is a socket or an epoll instance.

#include <cstdint>
#include <vector>

#include "sock/sock.hh"

namespace skiff {

class Epoll;

enum class FdKind : uint8_t { Free, Socket, Epoll };

struct FdEntry {
  FdKind kind = FdKind::Free;
  Socket socket;          // valid when kind == Socket
  Epoll* epoll = nullptr; // valid when kind == Epoll
  bool nonblock = false;  // an epoll descriptor's O_NONBLOCK and FD_CLOEXEC (a socket keeps its own)
  bool cloexec = false;
  // Bumped each time the slot is handed out: a blocking call that runs the shard while it waits tells its
  // own descriptor from one closed meanwhile and reopened in the same slot (the Socket lives in the slot,
  // so its address says nothing).
  uint32_t gen = 0;
};

class FdTable {
 public:
  static constexpr int kFirstFd = 3;

  explicit FdTable(unsigned limit);
  // Reserves the lowest free descriptor; -EMFILE at the limit.
  int alloc(FdKind kind);
  void release(int fd);
  FdEntry* entry(int fd) {
    if (fd < kFirstFd || static_cast<unsigned>(fd) >= entries_.size()) return nullptr;
    FdEntry& e = entries_[fd];
    return e.kind == FdKind::Free ? nullptr : &e;
  }
  // sockfd_lookup: the socket behind fd, or nullptr with *err = -EBADF / -ENOTSOCK.
  Socket* socket(int fd, int* err) {
    FdEntry* e = entry(fd);
    if (!e) {
      *err = -EBADF;
      return nullptr;
    }
    if (e->kind != FdKind::Socket) {
      *err = -ENOTSOCK;
      return nullptr;
    }
    return &e->socket;
  }
  // The generation of fd's slot (FdEntry::gen), 0 for one out of range.
  uint32_t gen(int fd) const {
    if (fd < kFirstFd || static_cast<unsigned>(fd) >= entries_.size()) return 0;
    return entries_[fd].gen;
  }
  unsigned limit() const { return static_cast<unsigned>(entries_.size()); }
  unsigned in_use() const { return used_; }
  template <class F>
  void for_each(F&& f) {
    for (size_t i = kFirstFd; i < entries_.size(); ++i)
      if (entries_[i].kind != FdKind::Free) f(static_cast<int>(i), entries_[i]);
  }

 private:
  // Sized once: sockets point at their entries, so the table never moves.
  void set_limit(unsigned limit);
  std::vector<FdEntry> entries_;
  std::vector<uint64_t> used_bits_;   // one bit per descriptor
  std::vector<uint64_t> full_words_;  // one bit per used_bits_ word that is all ones
  unsigned used_ = 0;
};

}  // namespace skiff
