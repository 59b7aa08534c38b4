#include "sock/sock.hh"

#include <cerrno>

#include "sock/proto.hh"
#include "stack/shard.hh"

namespace skiff {

const char* to_string(SocketState s) {
  switch (s) {
    case SocketState::Free: return "SS_FREE";
    case SocketState::Unconnected: return "SS_UNCONNECTED";
    case SocketState::Connecting: return "SS_CONNECTING";
    case SocketState::Connected: return "SS_CONNECTED";
    case SocketState::Disconnecting: return "SS_DISCONNECTING";
  }
  return "?";
}

void sock_wake(Sock* sk, uint32_t events) { sk->shard->socks.wake(sk, events); }

bool sock_rmem_charge(Sock* sk, uint32_t truesize, Rmem rule) {
  const int64_t rmem = sk->rmem_alloc;
  switch (rule) {
    case Rmem::Datagram:
      if (rmem > sk->rcvbuf) return false;
      break;
    case Rmem::Raw:
      if (rmem >= sk->rcvbuf) return false;
      break;
    case Rmem::ErrQueue:
      if (rmem + static_cast<int64_t>(truesize) >= sk->rcvbuf) return false;
      break;
  }
  sk->rmem_alloc += static_cast<int>(truesize);
  return true;
}

void sock_rmem_uncharge(Sock* sk, uint32_t truesize) { sk->rmem_alloc -= static_cast<int>(truesize); }

Pktbuf sock_rqueue_pop(Sock* sk) {
  rte_mbuf* m = sk->receive_queue.front();
  if (!m) return {};
  sock_rmem_uncharge(sk, pkt_meta(m)->truesize);
  return sk->receive_queue.pop();
}

void sock_rqueue_purge(Sock* sk) {
  while (!sk->receive_queue.empty()) sock_rqueue_pop(sk).reset();
}

int sock_no_socketpair(Socket*, Socket*) { return -EOPNOTSUPP; }
int sock_no_accept(Socket*, Socket*, int) { return -EOPNOTSUPP; }
int sock_no_listen(Socket*, int) { return -EOPNOTSUPP; }

}  // namespace skiff
