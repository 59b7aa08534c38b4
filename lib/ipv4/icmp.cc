// ICMP (RFC 792, RFC 1122 §3.2.2): echo, errors with the suppression rules, rate limiting.

#include <cerrno>
#include <cstring>

#include "stack/shard.hh"
#include "tcp/tcp.hh"
#include "wire/icmp.hh"
#include "wire/ipv4.hh"

namespace skiff {

using wire::IcmpView;
namespace it = wire::icmp_type;

namespace {
// RFC 1812 §4.3.2.3: quote as much of the offending datagram as fits in 576 bytes.
constexpr uint32_t kMaxErrorLen = 576;
constexpr uint8_t kTosInternetControl = 0xc0;

bool is_local_unicast(Shard& sh, wire::Ipv4Addr a) { return sh.is_local_addr(a); }

// The datagram an ICMP error quotes (its IP header and at least 8 bytes), copied to `quote`; false (and
// nothing to act on) if it is short or malformed or not one we sent.
bool error_quote(Shard& sh, const Pktbuf& p, uint8_t (&quote)[68], uint32_t* qlen) {
  *qlen = std::min<uint32_t>(p.len() - IcmpView::kHeaderLen, sizeof quote);
  if (*qlen < 20 || !p.copy_out(IcmpView::kHeaderLen, *qlen, quote)) return false;
  auto inner = wire::Ipv4View::checked(std::span<uint8_t>(quote, *qlen), 65535);
  return inner && *qlen >= inner->header_len() + 8 && is_local_unicast(sh, inner->src());
}
}  // namespace

void icmp_input(Shard& sh, Pktbuf p, const Ipv4Rx& rx, bool forwardable) {
  ++sh.stats.icmp_in_msgs;
  auto icmp = IcmpView::checked(p.first_seg());
  if (!icmp) return sh.drop(std::move(p), Drop::IcmpTruncated);
  if (!wire::csum_ok(p.csum_partial(0, p.len()))) return sh.drop(std::move(p), Drop::IcmpBadChecksum);
  // Linux's icmp_rcv: to a broadcast address only echo (answered or not, below) is looked at; an error or a
  // reply sent there is nobody's to act on (it would let one forged broadcast reach every socket).
  if (rx.ip_bcast && icmp->type() != it::kEchoRequest) return sh.drop(std::move(p), Drop::IcmpToBroadcast);

  switch (icmp->type()) {
    case it::kEchoRequest: {
      ++sh.stats.icmp_in_echos;
      // RFC 1122 §3.2.2.6 allows ignoring broadcast echo (Linux: icmp_echo_ignore_broadcasts=1).
      if (rx.ip_bcast || rx.link_bcast) return sh.drop(std::move(p), Drop::IcmpBroadcastEcho);
      // Reply in place: same buffer, same payload, type 0; the checksum changes by the type word only.
      const uint16_t old_word = wire::load_raw16(icmp->data());
      icmp->set_type(it::kEchoReply);
      const uint16_t new_word = wire::load_raw16(icmp->data());
      const uint16_t upd = wire::csum_update16(icmp->checksum_raw(), old_word, new_word);
      icmp->set_checksum_raw(upd);
      // RFC 1624 eqn. 3 yields 0x0000 both for a message whose words sum to -0 (right) and for one whose words
      // are all zero (an empty echo with id 0 and sequence 0; its checksum is 0xffff): settle it by summing.
      if (upd == 0 && wire::csum_fold16(p.csum_partial(0, p.len())) == 0) icmp->set_checksum_raw(0xffff);
      p.ol_flags() = 0;
      ++sh.stats.icmp_out_echo_reps;
      ++sh.stats.icmp_out_msgs;
      ipv4_output(sh, std::move(p),
                  Ipv4Tx{.src = rx.dst, .dst = rx.src, .proto = static_cast<uint8_t>(wire::IpProto::Icmp),
                         .tos = rx.tos});
      return;
    }
    case it::kEchoReply:
      ++sh.stats.icmp_in_echo_reps;
      if (sh.on_echo_reply) sh.on_echo_reply(rx, p, sh.now());
      return;
    case it::kDestUnreachable:
    case it::kTimeExceeded:
    case it::kParamProblem:
    case it::kSourceQuench: {
      // RFC 1122 §3.2.2: hand the error to the transport that sent the quoted datagram.
      ++sh.stats.icmp_in_errors;
      // Not an unreachable code RFC 792/1812 define, nor a reassembly timeout (which no datagram of ours with
      // DF set can meet, and which tells a sender nothing it acts on): none is handed on (Linux's
      // icmp_unreach: code > NR_ICMP_UNREACH, ICMP_EXC_FRAGTIME).
      if ((icmp->type() == it::kDestUnreachable && icmp->code() > 15) ||
          (icmp->type() == it::kTimeExceeded && icmp->code() == 1)) [[unlikely]]
        return sh.drop(std::move(p), Drop::IcmpErrorIgnored);
      uint8_t quote[60 + 8];
      uint32_t qlen = 0;
      if (!error_quote(sh, p, quote, &qlen)) return sh.drop(std::move(p), Drop::IcmpErrorUnmatched);
      const wire::Ipv4View inner(quote, qlen);
      // Raw sockets of the quoted protocol hear of it too (Linux's icmp_socket_deliver: raw_icmp_error, then
      // the protocol's handler); those of other shards from the copy they were given (ipv4_raw_copy_input).
      if (!sh.raw.empty() && !sh.fallback_pass)
        raw_icmp_error(sh, rx, p, icmp->type(), icmp->code(), icmp->rest(), quote, qlen);
      if (forwardable && sh.nshards > 1 && !sh.fallback_pass) {
        // Steered here by the quoted flow; a socket whose port another shard holds lives there.
        const bool udp = inner.proto() == static_cast<uint8_t>(wire::IpProto::Udp);
        const uint16_t qsport = wire::load_be16(quote + inner.header_len());
        if (inner.proto() == static_cast<uint8_t>(wire::IpProto::Tcp)) {
          // A 4-tuple this shard lent to another shard's connection: the error is that connection's.
          const uint16_t qdport = wire::load_be16(quote + inner.header_len() + 2);
          const TcpTable::Lent* ln = sh.tcp.lent(inner.src(), qsport, inner.dst(), qdport);
          if (ln && ipv4_forward_to_shard(sh, p, rx, ln->shard)) {
            ++sh.stats.tcp_lent_forwards;
            return;
          }
        }
        const bool local = udp ? sh.udp.bucket(qsport) != nullptr : sh.tcp.port_bucket(qsport) != nullptr;
        if (!local && (udp || inner.proto() == static_cast<uint8_t>(wire::IpProto::Tcp)) &&
            ipv4_forward_to_port_home(sh, p, rx, udp ? PortDirectory::kUdp : PortDirectory::kTcp, qsport))
          return;
      }
      // (udp_err and tcp_err count an error that names no socket of theirs as IcmpErrorUnmatched.)
      if (inner.proto() == static_cast<uint8_t>(wire::IpProto::Udp))
        udp_err(sh, rx, p, icmp->type(), icmp->code(), icmp->rest(), quote, qlen);
      else if (inner.proto() == static_cast<uint8_t>(wire::IpProto::Tcp))
        tcp_err(sh, icmp->type(), icmp->code(), icmp->rest(), quote, qlen);
      else
        return sh.drop(std::move(p), Drop::IcmpErrorUnmatched);
      return;
    }
    default:
      return sh.drop(std::move(p), Drop::IcmpUnhandledType);
  }
}

void icmp_send_error(Shard& sh, Pktbuf p, const Ipv4Rx& rx, uint8_t type, uint8_t code, uint32_t rest) {
  // RFC 1122 §3.2.2: never about an ICMP error, a broadcast/multicast, a non-first fragment, or a
  // datagram whose source does not name a single host.
  bool suppress = rx.ip_bcast || rx.link_bcast || rx.dst.is_multicast() || rx.dst.is_broadcast() ||
                  rx.src.is_any() || rx.src.is_broadcast() || rx.src.is_multicast() || !is_local_unicast(sh, rx.dst);
  if (!suppress && rx.proto == static_cast<uint8_t>(wire::IpProto::Icmp)) {
    uint8_t t = 0;
    suppress = !p.copy_out(0, 1, &t) || wire::icmp_is_error(t);
  }
  uint8_t* ip_hdr = suppress ? nullptr : p.prepend(rx.hdr_len);  // the IP header is still in the buffer
  if (ip_hdr && wire::Ipv4View(ip_hdr, rx.hdr_len).frag_offset() != 0) suppress = true;
  if (suppress || !ip_hdr) {
    ++sh.stats.icmp_err_suppressed;
    return;
  }
  // Rate limits as Linux's __icmp_send: the shard's budget must have a token left, then the destination's
  // own limit must allow it, and only then is the shard's budget charged, a random 0-2 tokens (CVE-2020-25705,
  // "SADDNS": a fixed charge of one lets an off-path sender count the errors a burst of probes drew, and so
  // find a resolver's open query port; checking the destination first, CVE-2024-47678, keeps one sender from
  // using up the budget of all).
  // (Not for an error to the host itself: Linux's icmpv4_xrlim_allow exempts the loopback device.)
  const Instant now = sh.now();
  const bool to_us = sh.loopback_pass;
  if (!to_us && (!sh.icmp_errors.allow(now) || !sh.icmp_peers.allow(rx.src.host(), now))) {
    ++sh.stats.icmp_err_ratelimited;
    return;
  }
  if (!to_us) sh.icmp_errors.consume(sh.rng.below(3));
  const uint32_t quote = std::min<uint32_t>(p.len(), kMaxErrorLen - 20 - IcmpView::kHeaderLen);
  Pktbuf e = sh.alloc_pkt();
  if (!e) return;
  uint8_t* d = e.append(static_cast<uint16_t>(IcmpView::kHeaderLen + quote));
  if (!d || !p.copy_out(0, quote, d + IcmpView::kHeaderLen)) return sh.drop(std::move(e), Drop::NoMbuf);
  IcmpView icmp(d, IcmpView::kHeaderLen + quote);
  icmp.set_type(type);
  icmp.set_code(code);
  icmp.set_checksum_raw(0);
  icmp.set_rest(rest);
  icmp.set_checksum_raw(wire::inet_checksum(d, IcmpView::kHeaderLen + quote));
  ++sh.stats.icmp_out_errors;
  ++sh.stats.icmp_out_msgs;
  ipv4_output(sh, std::move(e),
              Ipv4Tx{.src = rx.dst, .dst = rx.src, .proto = static_cast<uint8_t>(wire::IpProto::Icmp),
                     .tos = kTosInternetControl});
}

void icmp_local_error(Shard& sh, ShardPort& sp, Pktbuf p, uint8_t type, uint8_t code) {
  auto ip = wire::Ipv4View::checked(p.first_seg(), p.len());
  if (!ip) return;
  const wire::Ipv4Addr self = ip->src();
  // icmp_send's rules: not about a non-first fragment or an ICMP error, and only for a datagram of ours.
  if (ip->frag_offset() != 0 || !is_local_unicast(sh, self) || ip->dst().is_multicast() || ip->dst().is_broadcast())
    return;
  const uint32_t hl = static_cast<uint32_t>(ip->header_len());
  if (ip->proto() == static_cast<uint8_t>(wire::IpProto::Icmp)) {
    uint8_t t = 0;
    if (!p.copy_out(hl, 1, &t) || wire::icmp_is_error(t)) return;
  }
  const uint32_t quote = std::min<uint32_t>(p.len(), kMaxErrorLen - 20 - IcmpView::kHeaderLen);
  Pktbuf e = sh.alloc_pkt();  // (counts NoMbuf itself)
  if (!e) return;
  const uint32_t icmp_len = IcmpView::kHeaderLen + quote;
  uint8_t* d = e.append(static_cast<uint16_t>(20 + icmp_len));
  if (!d || !p.copy_out(0, quote, d + 20 + IcmpView::kHeaderLen)) return sh.drop(std::move(e), Drop::NoMbuf);
  // The whole message as it would come back over loopback: from us, to us (raw sockets read the header).
  wire::Ipv4View(d, 20).build(self, self, static_cast<uint8_t>(wire::IpProto::Icmp),
                              static_cast<uint16_t>(20 + icmp_len), 0, 64, kTosInternetControl, 0);
  IcmpView icmp(d + 20, icmp_len);
  icmp.set_type(type);
  icmp.set_code(code);
  icmp.set_checksum_raw(0);
  icmp.set_rest(0);
  icmp.set_checksum_raw(wire::inet_checksum(d + 20, icmp_len));
  ++sh.stats.icmp_out_errors;
  ++sh.stats.icmp_out_msgs;
  Ipv4Rx rx;
  rx.src = rx.dst = self;
  rx.proto = static_cast<uint8_t>(wire::IpProto::Icmp);
  rx.tos = kTosInternetControl;
  rx.ttl = 64;
  rx.hdr_len = 20;
  rx.port = &sp;
  if (!e.adj(20)) return;
  if (!sh.raw.empty()) raw_input(sh, e, rx);
  if (sh.nshards > 1) {
    // Every raw ICMP socket sees it, on whichever shard (as a received message would be fanned out) ...
    const uint64_t others = ipv4_raw_copy_shards(sh, e, rx) & ~(uint64_t{1} << sh.id);
    if (others) ipv4_raw_fanout(sh, e, rx, others);
  }
  // The transport's handler runs here: the datagram was queued by this shard's socket. (Forwarded by port, a
  // message from our own address would be refused by the home shard as a martian.)
  icmp_input(sh, std::move(e), rx, /*forwardable=*/false);
}

void icmp_raw_copy_error(Shard& sh, const Pktbuf& p, const Ipv4Rx& rx) {
  auto icmp = IcmpView::checked(p.first_seg());
  if (!icmp || rx.ip_bcast) return;
  const uint8_t t = icmp->type();  // the errors icmp_input hands on
  if (t != it::kDestUnreachable && t != it::kTimeExceeded && t != it::kParamProblem && t != it::kSourceQuench) return;
  if (!wire::csum_ok(p.csum_partial(0, p.len()))) return;  // (the receiving shard checks it only after fanning out)
  uint8_t quote[60 + 8];
  uint32_t qlen = 0;
  if (error_quote(sh, p, quote, &qlen)) raw_icmp_error(sh, rx, p, icmp->type(), icmp->code(), icmp->rest(), quote, qlen);
}

int icmp_send_echo(Shard& sh, wire::Ipv4Addr dst, uint16_t id, uint16_t seq, const void* payload, size_t len,
                   uint8_t ttl) {
  if (len > wire::Ipv4View::kMaxDatagram - 20 - IcmpView::kHeaderLen) return -EMSGSIZE;
  // Header and payload, spread over as many buffers as the length needs.
  Pktbuf head;
  const auto* src = static_cast<const uint8_t*>(payload);
  size_t done = 0;  // payload bytes written
  bool first = true;
  while (first || done < len) {
    Pktbuf seg = sh.alloc_pkt();
    if (!seg) return -ENOBUFS;
    const size_t hdr = first ? IcmpView::kHeaderLen : 0;
    const size_t n = std::min<size_t>(seg.tailroom() - hdr, len - done);
    uint8_t* d = seg.append(static_cast<uint16_t>(hdr + n));
    memset(d, 0, hdr);
    if (n) memcpy(d + hdr, src + done, n);
    done += n;
    if (first) {
      head = std::move(seg);
      first = false;
    } else if (!head.chain(std::move(seg))) {
      return -ENOBUFS;
    }
  }
  IcmpView icmp(head.data(), head.seg_len());
  icmp.set_type(it::kEchoRequest);
  icmp.set_code(0);
  icmp.set_echo(id, seq);
  icmp.set_checksum_raw(wire::csum_finish(head.csum_partial(0, head.len())));
  ++sh.stats.icmp_out_echos;
  ++sh.stats.icmp_out_msgs;
  return ipv4_output(sh, std::move(head),
                     Ipv4Tx{.dst = dst, .proto = static_cast<uint8_t>(wire::IpProto::Icmp), .ttl = ttl});
}

}  // namespace skiff
