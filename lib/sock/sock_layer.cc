#include "sock/sock_layer.hh"

#include <sys/epoll.h>

#include "base/log.hh"
#include "sock/epoll.hh"
#include "sock/sock.hh"
#include "stack/shard.hh"

namespace skiff {

SockLayer::SockLayer(Shard& sh, const SockConfig& c, unsigned shard_id, const std::string& stack_name)
    : fds(c.max_fds), ports(c.port_lo, c.port_hi), cfg(c), sh_(sh), shard_id_(shard_id), stack_name_(stack_name) {}

SockLayer::~SockLayer() = default;

ProtoSlab& SockLayer::slab(const Proto& p) {
  auto& s = slabs_[p.index];
  if (!s) {
    const unsigned cap = p.slab ? cfg.*(p.slab_capacity) : 0;
    std::string name = stack_name_;
    name += "_";
    name += p.name;
    name += std::to_string(shard_id_);
    s = std::make_unique<ProtoSlab>(name, p.obj_size, cap);
  }
  return *s;
}

const SlabStats& SockLayer::slab_stats(const Proto& p) { return slab(p).stats(); }

Sock* SockLayer::alloc_sock(const Proto& p) {
  bool from_slab = false;
  void* mem = slab(p).alloc(&from_slab);
  if (!mem) return nullptr;
  Sock* sk = p.construct(mem);
  sk->prot = &p;
  sk->shard = &sh_;
  sk->from_slab = from_slab;
  sk->rcvbuf = cfg.rmem_default;
  sk->sndbuf = cfg.wmem_default;
  inet_sk(sk)->ip_ident = static_cast<uint16_t>(sh_.rng.next());  // (drawn again at connect, as Linux's inet_id)
  return sk;
}

void SockLayer::free_sock(Sock* sk) {
  forget(sk);
  Epoll::forget_socket(sk);
  const Proto& p = *sk->prot;
  const bool from_slab = sk->from_slab;
  p.destruct(sk);
  slab(p).free(sk, from_slab);
}

void SockLayer::wake(Sock* sk, uint32_t events) {
  sk->pending_events |= events;
  if (sk->on_wake_list) return;
  sk->on_wake_list = true;
  sk->wake_next = nullptr;
  if (wake_tail_) {
    wake_tail_->wake_next = sk;
  } else {
    wake_head_ = sk;
  }
  wake_tail_ = sk;
}

void SockLayer::forget(Sock* sk) {
  if (!sk->on_wake_list) return;
  // It is either on the wake list or on the list being dispatched right now.
  for (Sock** list : {&wake_head_, &dispatching_}) {
    Sock* prev = nullptr;
    for (Sock* s = *list; s; prev = s, s = s->wake_next) {
      if (s != sk) continue;
      if (prev) {
        prev->wake_next = s->wake_next;
      } else {
        *list = s->wake_next;
      }
      if (list == &wake_head_ && wake_tail_ == s) wake_tail_ = prev;
      sk->on_wake_list = false;
      sk->wake_next = nullptr;
      return;
    }
  }
  sk->on_wake_list = false;
}

void SockLayer::deliver_callbacks(Sock* sk, uint32_t ev) {
  const int fd = sk->socket->fd;
  const uint32_t gen = fds.gen(fd);
  // A callback may close the descriptor (freeing `sk`), and open another socket in the same slot, perhaps
  // with the same Sock: check it still names this socket before each call.
  auto alive = [&] {
    FdEntry* e = fds.entry(fd);
    return e && e->kind == FdKind::Socket && e->socket.sk == sk && e->gen == gen && sk->callbacks;
  };
  // What woke the socket this iteration and is still so now (as epoll's harvest re-polls each item, Linux's
  // ep_item_poll): readiness gone by the end of the iteration (a connect() after the callback was set on a
  // fresh socket, a send buffer filled again, data read by another callback) calls nothing. Polled again
  // before each callback: the one before may have changed it.
  auto still = [&](uint32_t bits) { return (ev & bits) && (sk->socket->ops->poll(sk->socket) & bits); };
  if (sk->state == sk_state::kListen) {
    if (still(EPOLLIN) && sk->callbacks->on_accept) {
      auto f = sk->callbacks->on_accept;
      f(fd);
    }
    return;
  }
  if (sk->callbacks->on_readable && still(EPOLLIN)) {
    auto f = sk->callbacks->on_readable;
    f(fd);
    if (!alive()) return;
  }
  if (sk->callbacks->on_closed && still(EPOLLHUP | EPOLLERR | EPOLLRDHUP)) {
    auto f = sk->callbacks->on_closed;
    f(fd);
    if (!alive()) return;
  }
  if (sk->callbacks->on_writable && still(EPOLLOUT)) {
    auto f = sk->callbacks->on_writable;
    f(fd);
  }
}

unsigned SockLayer::dispatch() {
  unsigned n = 0;
  in_dispatch_ = true;
  // Take this iteration's list; wakes caused by callbacks go to a fresh list for the next iteration, so a
  // callback that keeps waking its own socket cannot spin here.
  dispatching_ = wake_head_;
  wake_head_ = wake_tail_ = nullptr;
  while (Sock* sk = dispatching_) {
    dispatching_ = sk->wake_next;
    sk->wake_next = nullptr;
    sk->on_wake_list = false;
    const uint32_t ev = sk->pending_events;
    sk->pending_events = 0;
    ++n;
    if (sk->epitems) Epoll::notify(sk, ev);
    if (sk->callbacks && sk->socket) deliver_callbacks(sk, ev);
  }
  in_dispatch_ = false;
  return n;
}

}  // namespace skiff
