// A UDP echo server on Skiff's C++ API: a socket with an on_readable callback, run by the Runtime.
//
//   udp-echo-cpp [EAL args] -- --ip A.B.C.D/P [stack options] [PORT]

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

#include "api/skiff.hh"
#include "runtime/runtime.hh"

int main(int argc, char** argv) {
  int code = 0;
  auto rt = skiff::Runtime::init(argc, argv, "udp-echo-cpp", &code);
  if (!rt) return code;
  const uint16_t port = rt->app_args().empty() ? 7 : static_cast<uint16_t>(atoi(rt->app_args()[0].c_str()));
  if (!rt->build()) return 1;

  std::vector<std::unique_ptr<skiff::net::Socket>> socks(rt->stack().shard_count());
  uint64_t echoed = 0;
  rt->run([&](skiff::Shard& sh) {
    auto& s = socks[sh.id];
    if (s) return;  // set up once, on the shard's own lcore
    auto r = skiff::net::Socket::udp(SOCK_NONBLOCK);
    if (!r || !r->bind({skiff::wire::Ipv4Addr::any(), port})) {
      fprintf(stderr, "udp-echo-cpp: cannot open port %u\n", port);
      skiff::Runtime::request_stop();
      return;
    }
    s = std::make_unique<skiff::net::Socket>(std::move(r.value()));
    s->on_readable([&echoed](skiff::net::SocketRef sock) {
      uint8_t buf[65536];
      skiff::net::Endpoint from;
      while (auto n = sock.recv_from(buf, &from))
        if (sock.send_to({buf, *n}, from)) ++echoed;
    });
  });
  for (unsigned i = 0; i < socks.size(); ++i) {  // sockets belong to their shards
    skiff::set_this_shard(&rt->stack().shard(i));
    socks[i].reset();
  }
  printf("udp-echo-cpp: echoed %llu datagrams\n", static_cast<unsigned long long>(echoed));
  return 0;
}
