#pragma once
// An epoll-like event set that lives in the shard's poll loop. Readiness changes reach it at the end of a
// poll iteration (Shard::dispatch_events); epoll_wait harvests them, re-checking each socket's poll mask so
// level-triggered items stay ready while they are, edge-triggered ones report once per change, and
// EPOLLONESHOT items disarm until EPOLL_CTL_MOD.

#include <sys/epoll.h>

#include <cstdint>
#include <unordered_map>

namespace skiff {

struct Sock;
struct Socket;
class Epoll;

struct EpItem {
  Epoll* ep = nullptr;
  int fd = -1;
  Socket* socket = nullptr;
  Sock* sk = nullptr;
  uint32_t events = 0;       // requested (EPOLLIN, EPOLLOUT, ..., EPOLLET, EPOLLONESHOT)
  epoll_data_t data{};
  bool disarmed = false;     // EPOLLONESHOT fired
  bool ready = false;        // on the ready list
  EpItem* sk_next = nullptr; // the socket's list of registrations
  EpItem* rd_next = nullptr; // the epoll's ready list
};

class Epoll {
 public:
  Epoll() = default;
  ~Epoll();
  Epoll(const Epoll&) = delete;
  Epoll& operator=(const Epoll&) = delete;

  // EPOLL_CTL_ADD/MOD/DEL for a socket descriptor. Returns 0 or -EEXIST/-ENOENT/-EINVAL.
  int ctl(int op, int fd, Socket* socket, const epoll_event* ev);
  // Harvests up to `max` ready events without waiting; returns how many.
  int harvest(epoll_event* out, int max);
  bool has_ready() const { return ready_head_ != nullptr; }
  // Called when `sk`'s readiness changed: queues the matching items.
  static void notify(Sock* sk, uint32_t events);
  // Removes every registration of a socket that is going away.
  static void forget_socket(Sock* sk);
  size_t size() const { return items_.size(); }

 private:
  void make_ready(EpItem* it);
  void unready(EpItem* it);
  void remove(EpItem* it);
  static void unlink_from_sock(EpItem* it);

  std::unordered_map<int, EpItem*> items_;
  EpItem* ready_head_ = nullptr;
  EpItem* ready_tail_ = nullptr;
};

}  // namespace skiff
