#include "stack/stack.hh"

#include "base/log.hh"

namespace skiff {

Stack::Stack(std::string name, const StackConfig& cfg) : name_(std::move(name)), cfg_(cfg) {}

Stack::~Stack() {
  shards_.clear();  // shards free their buffers back into the pools first
  pools_.clear();
}

bool Stack::make_pools(unsigned shards) {
  for (unsigned i = 0; i < shards; ++i) {
    PktPoolConfig pc;
    pc.count = cfg_.pool_size;
    pc.data_room = static_cast<uint16_t>(cfg_.mbuf_data + RTE_PKTMBUF_HEADROOM);
    auto p = std::make_unique<PktPool>(name_ + "_pool" + std::to_string(i), pc);
    if (!p->ok()) return false;
    pools_.push_back(std::move(p));
  }
  return true;
}

unsigned Stack::add_iface(NetDevice* dev, std::optional<wire::Ipv4Cidr> addr) {
  auto ifc = std::make_unique<Iface>();
  ifc->index = static_cast<unsigned>(ifaces_.size());
  ifc->dev = dev;
  ifc->mac = dev->mac;
  ifc->mtu = dev->mtu;
  ifc->caps = dev->caps;
  if (addr) {
    ifc->addr = *addr;
    routes_.add(Route{.dest = *addr, .gateway = {}, .iface = ifc->index, .src = addr->addr});
  }
  ifaces_.push_back(std::move(ifc));
  return ifaces_.back()->index;
}

bool Stack::set_gateway(wire::Ipv4Addr gw) {
  for (auto& ifc : ifaces_) {
    if (ifc->addr.prefix_len && ifc->addr.contains(gw)) {
      routes_.add(Route{.dest = {wire::Ipv4Addr::any(), 0}, .gateway = gw, .iface = ifc->index,
                        .src = ifc->addr.addr});
      return true;
    }
  }
  return false;
}

void Stack::build_shards(Clock& clock) {
  std::vector<Iface*> ifs;
  for (auto& i : ifaces_) ifs.push_back(i.get());
  for (unsigned s = 0; s < pools_.size(); ++s)
    shards_.push_back(
        std::make_unique<Shard>(s, cfg_, clock, *pools_[s], ifs, routes_, static_cast<uint16_t>(s), name_));
}

ShardStats Stack::total_stats() const {
  ShardStats t;
  for (auto& s : shards_) {
#define SKIFF_X(name, desc) t.name += s->stats.name;
    SKIFF_SHARD_STATS(SKIFF_X)
#undef SKIFF_X
  }
  return t;
}

DropCounters Stack::total_drops() const {
  DropCounters t;
  for (auto& s : shards_)
    for (size_t i = 0; i < kDropCount; ++i) t.n[i] += s->drops.n[i];
  return t;
}

void Stack::print_counters(FILE* out) const {
  for (auto& s : shards_) {
    std::string prefix = name_ + ".shard" + std::to_string(s->id) + ".";
    skiff::print_counters(out, prefix.c_str(), s->stats, s->drops);
    fprintf(out, "%s%-24s %12u  packet buffers in use (pool of %u)\n", prefix.c_str(), "pool_in_use",
            s->pool.in_use(), s->pool.capacity());
  }
}

}  // namespace skiff
