#include "ethdev/ring_stacks.hh"

#include "ethdev/ring_pair.hh"
#include "ring/ring_wire.hh"

namespace skiff {

RingStacks::~RingStacks() {
  if (a) a->release_shards();
  if (b) b->release_shards();
  port_a.reset();
  port_b.reset();
  a.reset();
  b.reset();
}

namespace {
// `direct`: an end of a RingWire to use as the port (else the ethdev `port_id` is opened).
std::string build_side(const std::string& name, uint16_t port_id, std::unique_ptr<RingWireEnd> direct,
                       const RingSide& s, std::unique_ptr<Stack>* stack, std::unique_ptr<NetDevice>* port) {
  if (!s.cfg.ip) return name + ": no address";
  *stack = std::make_unique<Stack>(name, s.cfg);
  if (!(*stack)->make_pools(s.shards)) return name + ": packet pools";
  if (direct) {
    *port = std::move(direct);
    (*stack)->add_iface(port->get(), s.cfg.ip);
    if (!(*stack)->build_shards(MonotonicClock::instance())) return name + ": rings between shards";
    return {};
  }
  EthdevPortConfig pc;
  pc.queues = s.queues ? s.queues : static_cast<uint16_t>(s.shards);
  for (uint16_t q = 0; q < pc.queues; ++q) pc.pools.push_back((*stack)->pool(q).raw());
  pc.shards = s.shards;
  pc.link_wait = 1s;
  std::string err;
  *port = EthdevPort::open(port_id, pc, &err);
  if (!*port) return name + ": " + err;
  (*stack)->add_iface(port->get(), s.cfg.ip);
  if (!(*stack)->build_shards(MonotonicClock::instance())) return name + ": rings between shards";
  return {};
}
}  // namespace

std::unique_ptr<RingStacks> make_ring_stacks(const std::string& name, const RingSide& a, const RingSide& b,
                                             std::string* err, RingKind kind) {
  const uint16_t qa = a.queues ? a.queues : static_cast<uint16_t>(a.shards);
  const uint16_t qb = b.queues ? b.queues : static_cast<uint16_t>(b.shards);
  if (qa != qb) {
    // Queue q of one end feeds queue q of the other: a queue only one side opens would swallow frames.
    *err = "both ends of a ring pair need the same number of queues";
    return nullptr;
  }
  auto w = std::make_unique<RingStacks>();
  std::string e;
  if (kind == RingKind::Direct) {
    auto wire = make_ring_wire(name, qa, 8192, err);
    if (!wire) return nullptr;
    e = build_side(name + "a", 0, std::move(wire->a), a, &w->a, &w->port_a);
    if (e.empty()) e = build_side(name + "b", 0, std::move(wire->b), b, &w->b, &w->port_b);
  } else {
    auto ids = make_ring_pair(name, qa, 8192);
    if (!ids) {
      *err = "cannot create the ring pair";
      return nullptr;
    }
    e = build_side(name + "a", ids->first, nullptr, a, &w->a, &w->port_a);
    if (e.empty()) e = build_side(name + "b", ids->second, nullptr, b, &w->b, &w->port_b);
  }
  if (!e.empty()) {
    *err = e;
    return nullptr;
  }
  return w;
}

}  // namespace skiff
