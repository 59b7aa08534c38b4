#include "tcp/tcp_table.hh"

#include "base/random.hh"
#include "tcp/tcp.hh"

namespace skiff {

TcpTable::TcpTable(unsigned log2_buckets) : ports_(65536, nullptr) {
  buckets_.assign(size_t{1} << log2_buckets, nullptr);
  mask_ = buckets_.size() - 1;
  Rng rng;
  seed_ = rng.next() | 1;  // keyed, so remote peers cannot aim at one chain
}

size_t TcpTable::bucket(wire::Ipv4Addr l, uint16_t lp, wire::Ipv4Addr r, uint16_t rp) const {
  uint64_t h = (uint64_t{r.host()} << 32 | (uint32_t{rp} << 16 | lp)) ^ seed_;
  h ^= uint64_t{l.host()} * 0x9e3779b97f4a7c15ull;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 31;
  h *= seed_;
  return (h >> 32) & mask_;
}

TcpSock* TcpTable::lookup(wire::Ipv4Addr l, uint16_t lp, wire::Ipv4Addr r, uint16_t rp) const {
  for (TcpSock* t = buckets_[bucket(l, lp, r, rp)]; t; t = t->hnext) {
    const InetSock* i = inet_of(t);
    if (i->num == lp && i->dport == rp && i->daddr == r && i->rcv_saddr == l) return t;
  }
  return nullptr;
}

TcpSock* TcpTable::next_of(TcpSock* t) { return t->hnext; }

void TcpTable::add(TcpSock* tp) {
  if (tp->hashed) return;
  const InetSock* i = inet_of(tp);
  TcpSock*& head = buckets_[bucket(i->rcv_saddr, i->num, i->daddr, i->dport)];
  tp->hnext = head;
  head = tp;
  tp->hashed = true;
  ++count_;
}

void TcpTable::remove(TcpSock* tp) {
  if (!tp->hashed) return;
  const InetSock* i = inet_of(tp);
  for (TcpSock** p = &buckets_[bucket(i->rcv_saddr, i->num, i->daddr, i->dport)]; *p; p = &(*p)->hnext) {
    if (*p == tp) {
      *p = tp->hnext;
      break;
    }
  }
  tp->hnext = nullptr;
  tp->hashed = false;
  --count_;
}

bool TcpTable::lend(wire::Ipv4Addr l, uint16_t lp, wire::Ipv4Addr r, uint16_t rp, Lent to) {
  if (lookup(l, lp, r, rp)) return false;
  return lent_.try_emplace(FlowKey{l.host(), r.host(), lp, rp}, to).second;
}

void TcpTable::take_back(wire::Ipv4Addr l, uint16_t lp, wire::Ipv4Addr r, uint16_t rp, Lent from) {
  auto it = lent_.find(FlowKey{l.host(), r.host(), lp, rp});
  if (it != lent_.end() && it->second.shard == from.shard && it->second.seq == from.seq) lent_.erase(it);
}

InetSock* TcpTable::listener(wire::Ipv4Addr laddr, uint16_t lport) const {
  InetSock* wildcard = nullptr;
  for (InetSock* s = ports_[lport]; s; s = s->bind_next) {
    if (s->sk.state != sk_state::kListen) continue;
    if (s->rcv_saddr == laddr) return s;
    if (s->rcv_saddr.is_any() && !wildcard) wildcard = s;
  }
  return wildcard;
}

void TcpTable::bind_add(InetSock* s) {
  InetSock*& head = ports_[s->num];
  s->bind_next = head;
  head = s;
}

void TcpTable::bind_remove(InetSock* s) {
  for (InetSock** p = &ports_[s->num]; *p; p = &(*p)->bind_next) {
    if (*p == s) {
      *p = s->bind_next;
      s->bind_next = nullptr;
      return;
    }
  }
}

}  // namespace skiff
