#include "sock/epoll.hh"

#include <cerrno>

#include "sock/proto.hh"
#include "sock/sock.hh"

namespace skiff {

namespace {
constexpr uint32_t kAlways = EPOLLERR | EPOLLHUP;  // reported whether asked for or not

uint32_t current(const EpItem* it) {
  if (!it->socket || !it->socket->ops) return 0;
  return it->socket->ops->poll(it->socket) & (it->events | kAlways);
}
}  // namespace

Epoll::~Epoll() {
  for (auto& [fd, it] : items_) {
    // Unlink from the socket's registration list.
    unlink_from_sock(it);
    delete it;
  }
}

void Epoll::unlink_from_sock(EpItem* it) {
  if (!it->sk) return;
  for (EpItem** p = &it->sk->epitems; *p; p = &(*p)->sk_next) {
    if (*p == it) {
      *p = it->sk_next;
      break;
    }
  }
  it->sk = nullptr;
}

void Epoll::make_ready(EpItem* it) {
  if (it->ready || it->disarmed) return;
  it->ready = true;
  it->rd_next = nullptr;
  if (ready_tail_) {
    ready_tail_->rd_next = it;
  } else {
    ready_head_ = it;
  }
  ready_tail_ = it;
}

void Epoll::unready(EpItem* it) {
  if (!it->ready) return;
  EpItem* prev = nullptr;
  for (EpItem* p = ready_head_; p; prev = p, p = p->rd_next) {
    if (p != it) continue;
    if (prev) {
      prev->rd_next = p->rd_next;
    } else {
      ready_head_ = p->rd_next;
    }
    if (ready_tail_ == p) ready_tail_ = prev;
    break;
  }
  it->ready = false;
  it->rd_next = nullptr;
}

void Epoll::remove(EpItem* it) {
  unready(it);
  unlink_from_sock(it);
  items_.erase(it->fd);
  delete it;
}

int Epoll::ctl(int op, int fd, Socket* socket, const epoll_event* ev) {
  auto found = items_.find(fd);
  EpItem* it = found == items_.end() ? nullptr : found->second;
  switch (op) {
    case EPOLL_CTL_ADD: {
      if (it) return -EEXIST;
      if (!ev) return -EFAULT;
      it = new EpItem;
      it->ep = this;
      it->fd = fd;
      it->socket = socket;
      it->sk = socket->sk;
      it->events = ev->events;
      it->data = ev->data;
      it->sk_next = socket->sk->epitems;
      socket->sk->epitems = it;
      items_.emplace(fd, it);
      if (current(it)) make_ready(it);  // already ready: report it (as Linux polls on add)
      return 0;
    }
    case EPOLL_CTL_MOD:
      if (!it) return -ENOENT;
      if (!ev) return -EFAULT;
      if (it->events & EPOLLEXCLUSIVE) return -EINVAL;  // an exclusive registration is never modified (Linux)
      it->events = ev->events;
      it->data = ev->data;
      it->disarmed = false;
      unready(it);
      if (current(it)) make_ready(it);
      return 0;
    case EPOLL_CTL_DEL:
      if (!it) return -ENOENT;
      remove(it);
      return 0;
    default:
      return -EINVAL;
  }
}

int Epoll::harvest(epoll_event* out, int max) {
  int n = 0;
  // Walk the ready list once; level-triggered items that are still ready go back to the tail.
  EpItem* list = ready_head_;
  ready_head_ = ready_tail_ = nullptr;
  while (list && n < max) {
    EpItem* it = list;
    list = it->rd_next;
    it->ready = false;
    it->rd_next = nullptr;
    const uint32_t rev = current(it);
    if (!rev || it->disarmed) continue;
    out[n].events = rev;
    out[n].data = it->data;
    ++n;
    if (it->events & EPOLLONESHOT) {
      it->disarmed = true;
    } else if (!(it->events & EPOLLET)) {
      make_ready(it);
    }
  }
  // Items not visited (max reached) stay ready, in order, ahead of the re-queued ones.
  if (list) {
    EpItem* tail = list;
    while (tail->rd_next) tail = tail->rd_next;
    for (EpItem* p = list; p; p = p->rd_next) p->ready = true;
    tail->rd_next = ready_head_;
    if (!ready_head_) ready_tail_ = tail;
    ready_head_ = list;
  }
  return n;
}

void Epoll::notify(Sock* sk, uint32_t events) {
  for (EpItem* it = sk->epitems; it; it = it->sk_next) {
    if (it->disarmed) continue;
    if (events & (it->events | kAlways)) it->ep->make_ready(it);
  }
}

void Epoll::forget_socket(Sock* sk) {
  while (EpItem* it = sk->epitems) it->ep->remove(it);
}

}  // namespace skiff
