#!/usr/bin/env bash
# IPv4 multicast receive and IGMP with the Linux kernel as the peer (net_af_packet on a veth, kernel in a
# netns; skiff-echo --join makes its UDP echo socket join groups with IP_ADD_MEMBERSHIP). The peer captures
# every IGMP message Skiff sends with an AF_PACKET socket (udp_multicast_peer.py capture) and checks:
#   1. on joining 239.1.2.3 and 239.4.5.6: IGMPv3 reports (to 224.0.0.22) with a CHANGE_TO_EXCLUDE record
#      (type 4, no sources) for each group, twice (Robustness Variable 2), within 3 s;
#   2. kernel -> 239.1.2.3:port and 239.4.5.6:port: every datagram (1..1472 bytes) echoed intact (unicast,
#      from Skiff's address);
#   3. a datagram to a group Skiff did not join (239.9.9.9) gets no echo (and counts as Ipv4McNotJoined);
#   4. an IGMPv3 general query (Max Resp Code 1 s) is answered within 2 s with MODE_IS_EXCLUDE (type 2)
#      records for both groups;
#   5. on exit (SIGINT): CHANGE_TO_INCLUDE (type 3) records for both groups;
#   6. a second skiff-echo: an IGMPv2 query (8 bytes) is answered with v2 reports (type 0x16) sent to each
#      group, and on exit v2 leaves (type 0x17) go to 224.0.0.2 (RFC 3376 §7.2.1: v2 compatibility mode);
#   7. every IGMP message: TTL 1, Router Alert option, TOS 0xc0, IP and IGMP checksums right, destination
#      MAC the group's (01:00:5e + low 23 bits); v3 reports to 224.0.0.22; 224.0.0.1 never reported.
#   8. source filters (a third skiff-echo: --join G3,PEER_IP source-specific, --join G1 --block G1,PEER_IP2):
#      ALLOW_NEW_SOURCES (type 5) {PEER_IP} for G3, twice, and no CHANGE_TO_EXCLUDE for it; for G1 the join's
#      CHANGE_TO_EXCLUDE merged with the block: CHANGE_TO_EXCLUDE {PEER_IP2}; the kernel's datagrams from PEER_IP
#      to both groups echoed, none from PEER_IP2 (counted as Ipv4McSourceFiltered); a v3 general query answered
#      with MODE_IS_INCLUDE {PEER_IP} for G3 and MODE_IS_EXCLUDE {PEER_IP2} for G1; a group-and-source-specific
#      query about G3 and {PEER_IP2, PEER_IP} answered with MODE_IS_INCLUDE {PEER_IP} only; on exit
#      BLOCK_OLD_SOURCES (type 6) {PEER_IP} for G3 and CHANGE_TO_INCLUDE {} for G1.
# The kernel side's TX checksum offload is turned off (kernel_peer_topology): on a veth the kernel leaves UDP
# checksums for "hardware" to finish, and af_packet hands them to Skiff unfinished. The peer joins no group,
# so the only IGMP on the link besides its own queries is Skiff's (the capture keeps Skiff's source only).
. "$(dirname "$0")/lib.sh"
itest_init "$@"
require_root
require_netns
PY=$(command -v python3 || echo /usr/bin/python3)
HERE=$(cd "$(dirname "$0")" && pwd)
PEER="$HERE/udp_multicast_peer.py"

G1=239.1.2.3
G2=239.4.5.6
G_NOT=239.9.9.9
PORT=5007
SIZES=1-16,100,512,1000,1472

kernel_peer_topology mc 10.99.7
# The peer's multicast (UDP to the groups, IGMP queries) leaves by the veth.
ip -n "$NS_P" route add 224.0.0.0/4 dev "$IF_P" || fail "multicast route on $IF_P"

CAP="$ITEST_TMP/igmp.log"
start_bg "$NS_P" "$CAP" 200 "$PY" -u "$PEER" capture "$IF_P" "$SKIFF_IP"
wait_for_line "$CAP" '^capturing' 10 "$BG_PID" || fail "IGMP capture did not start"

# igmp_lines FROM: the capture's IGMP lines after its line FROM (a line count taken earlier).
igmp_lines() { tail -n "+$(($1 + 1))" "$CAP" | grep '^igmp '; }
# igmp_count FROM ERE: how many IGMP lines after line FROM match ERE.
igmp_count() { igmp_lines "$1" | grep -Ec -- "$2"; }
# igmp_wait FROM MIN TIMEOUT_S WHAT ERE: at least MIN IGMP lines after line FROM match ERE within TIMEOUT_S.
igmp_wait() {
  local from=$1 min=$2 t=$3 what=$4 re=$5
  for _ in $(seq 1 $((t * 20))); do
    [ "$(igmp_count "$from" "$re")" -ge "$min" ] && {
      log "ok: $what"
      return 0
    }
    sleep 0.05
  done
  fail "$what: $(igmp_count "$from" "$re") of $min seen within ${t}s (want /$re/)"
}
# v3rec TYPE GROUP: ERE for a v3 report holding a record TYPE for GROUP without sources.
v3rec() { echo "type=0x22 .*recs=([^ ]*,)?$1:${2//./\\.}:0(,| |\$)"; }
lines() { wc -l <"$CAP"; }

# skiff-echo joins on its first port by index: no route to the groups is needed (there is no --gw).
ECHO_ARGS=(--ip "$SKIFF_IP/24" --port "$PORT" --join "$G1" --join "$G2")

# --- 1-5: IGMPv3 -------------------------------------------------------------------------------------------
mark=$(lines)
eal_args 0 echo "$VDEV"
start_echo "$NS_S" "$ITEST_TMP/echo.log" "${EAL_ARGS[@]}" -- "${ECHO_ARGS[@]}"
igmp_wait "$mark" 1 3 "v3 CHANGE_TO_EXCLUDE report for $G1 on join" "$(v3rec 4 "$G1")"
igmp_wait "$mark" 1 3 "v3 CHANGE_TO_EXCLUDE report for $G2 on join" "$(v3rec 4 "$G2")"
igmp_wait "$mark" 2 3 "v3 CHANGE_TO_EXCLUDE for $G1 retransmitted (robustness 2)" "$(v3rec 4 "$G1")"
igmp_wait "$mark" 2 3 "v3 CHANGE_TO_EXCLUDE for $G2 retransmitted (robustness 2)" "$(v3rec 4 "$G2")"

for g in "$G1" "$G2"; do
  log "kernel -> $g:$PORT, sizes $SIZES"
  ip netns exec "$NS_P" timeout 60 "$PY" "$PEER" echo "$g" "$PORT" "$SIZES" "$SKIFF_IP" >"$ITEST_TMP/echo-$g.out" 2>&1
  rc=$?
  cat "$ITEST_TMP/echo-$g.out"
  check "kernel -> $g: every datagram echoed intact from $SKIFF_IP:$PORT" [ "$rc" -eq 0 ]
done

log "kernel -> $G_NOT:$PORT (not joined)"
ip netns exec "$NS_P" timeout 10 "$PY" "$PEER" silent "$G_NOT" "$PORT" 0.5 >"$ITEST_TMP/silent.out" 2>&1
rc=$?
cat "$ITEST_TMP/silent.out"
check "no echo from a group Skiff did not join" [ "$rc" -eq 0 ]

check "no MODE_IS_EXCLUDE before any query" [ "$(igmp_count 0 "$(v3rec 2 '[0-9.]*')")" -eq 0 ]
mark=$(lines)
ip netns exec "$NS_P" timeout 10 "$PY" "$PEER" query v3 "$PEER_IP" 10 || fail "sending the v3 query"
igmp_wait "$mark" 1 2 "v3 query answered: MODE_IS_EXCLUDE for $G1" "$(v3rec 2 "$G1")"
igmp_wait "$mark" 1 2 "v3 query answered: MODE_IS_EXCLUDE for $G2" "$(v3rec 2 "$G2")"

mark=$(lines)
stop_echo "$ITEST_TMP/final.txt"
igmp_wait "$mark" 1 2 "v3 CHANGE_TO_INCLUDE for $G1 on exit" "$(v3rec 3 "$G1")"
igmp_wait "$mark" 1 2 "v3 CHANGE_TO_INCLUDE for $G2 on exit" "$(v3rec 3 "$G2")"
check "Ipv4McNotJoined >= 1 (the datagrams to $G_NOT)" [ "$(drop "$ITEST_TMP/final.txt" Ipv4McNotJoined)" -ge 1 ]
check "igmp_in_queries >= 1" [ "$(ctr "$ITEST_TMP/final.txt" igmp_in_queries)" -ge 1 ]
check "no UDP checksum drops" [ "$(drop "$ITEST_TMP/final.txt" UdpBadChecksum)" -eq 0 ]
check "no IGMP checksum drops (the peer's query)" [ "$(drop "$ITEST_TMP/final.txt" IgmpBadChecksum)" -eq 0 ]

# --- 6: IGMPv2 compatibility (a fresh skiff-echo: v2 mode lasts the Older Version Querier Present Timeout) --
mark=$(lines)
eal_args 0 echo2 "$VDEV"
start_echo "$NS_S" "$ITEST_TMP/echo2.log" "${EAL_ARGS[@]}" -- "${ECHO_ARGS[@]}"
igmp_wait "$mark" 1 3 "second skiff-echo: v3 CHANGE_TO_EXCLUDE for $G1 on join" "$(v3rec 4 "$G1")"
igmp_wait "$mark" 1 3 "second skiff-echo: v3 CHANGE_TO_EXCLUDE for $G2 on join" "$(v3rec 4 "$G2")"
sleep 1.2  # past the retransmission of the join report (within 1 s), so that what follows answers the query
mark=$(lines)
ip netns exec "$NS_P" timeout 10 "$PY" "$PEER" query v2 "$PEER_IP" 10 || fail "sending the v2 query"
for g in "$G1" "$G2"; do
  igmp_wait "$mark" 1 2 "v2 query answered: v2 report for $g sent to $g" "dst=${g//./\\.} .*type=0x16 .*group=${g//./\\.}\$"
done
check "no v3 report after the v2 query" [ "$(igmp_count "$mark" 'type=0x22')" -eq 0 ]
mark=$(lines)
stop_echo "$ITEST_TMP/final2.txt"
for g in "$G1" "$G2"; do
  igmp_wait "$mark" 1 2 "v2 mode: leave for $g sent to 224.0.0.2 on exit" \
    "dst=224\.0\.0\.2 .*type=0x17 .*group=${g//./\\.}\$"
done
check "no v3 report on exit in v2 mode" [ "$(igmp_count "$mark" 'type=0x22')" -eq 0 ]
check "igmp_out_leaves >= 2" [ "$(ctr "$ITEST_TMP/final2.txt" igmp_out_leaves)" -ge 2 ]

# --- 7: every IGMP message Skiff sent --------------------------------------------------------------------
sleep 0.2
n=$(igmp_count 0 .)
log "$n IGMP messages from $SKIFF_IP captured"
igmp_lines 0 | sed 's/^/  /'
check "every IGMP message: destination MAC the group's, TTL 1, Router Alert, IP and IGMP checksums right" \
  [ "$(igmp_count 0 ' macok=1 ttl=1 tos=0x[0-9a-f]{2} ra=1 ipcsum=ok .* csum=ok')" -eq "$n" ]
check "every IGMP message: TOS 0xc0 (Internet Control)" [ "$(igmp_count 0 ' tos=0xc0 ')" -eq "$n" ]
check "every v3 report sent to 224.0.0.22" \
  [ "$(igmp_count 0 'dst=224\.0\.0\.22 .*type=0x22 ')" -eq "$(igmp_count 0 'type=0x22 ')" ]
check "every v3 report: records without sources, nothing after them" \
  [ "$(igmp_count 0 'type=0x22 .*(trailing=|truncated|:[1-9][0-9]*(,| |$))')" -eq 0 ]
check "only reports and leaves (types 0x22, 0x16, 0x17)" [ "$(igmp_count 0 'type=0x(22|16|17) ')" -eq "$n" ]
check "224.0.0.1 never reported" [ "$(igmp_count 0 '224\.0\.0\.1([^0-9]|$)')" -eq 0 ]

# --- 8: source filters (RFC 3678, RFC 3376 source records) ------------------------------------------------
G3=239.5.6.7
PEER_IP2=${PEER_IP%.*}.9
ip -n "$NS_P" addr add "$PEER_IP2/24" dev "$IF_P" || fail "second address on $IF_P"
# srec TYPE GROUP SOURCES: ERE for a v3 report holding a record TYPE for GROUP with exactly SOURCES (a+b).
srec() {
  local n=0
  [ -n "$3" ] && n=$(($(tr -cd + <<<"$3" | wc -c) + 1))
  local src=""
  [ -n "$3" ] && src=":$(sed 's/[.+]/\\&/g' <<<"$3")"
  echo "type=0x22 .*recs=([^ ]*,)?$1:${2//./\\.}:$n$src(,| |\$)"
}
mark8=$(lines)
mark=$mark8
eal_args 0 echo3 "$VDEV"
start_echo "$NS_S" "$ITEST_TMP/echo3.log" "${EAL_ARGS[@]}" -- --ip "$SKIFF_IP/24" --port "$PORT" \
  --join "$G3,$PEER_IP" --join "$G1" --block "$G1,$PEER_IP2"
igmp_wait "$mark" 2 3 "ALLOW_NEW_SOURCES {$PEER_IP} for $G3 on the source-specific join, twice" \
  "$(srec 5 "$G3" "$PEER_IP")"
igmp_wait "$mark" 2 3 "CHANGE_TO_EXCLUDE {$PEER_IP2} for $G1 (the join merged with the block), twice" \
  "$(srec 4 "$G1" "$PEER_IP2")"
check "no CHANGE_TO_EXCLUDE for the source-specific $G3" [ "$(igmp_count "$mark" "4:${G3//./\\.}:")" -eq 0 ]
for g in "$G3" "$G1"; do
  ip netns exec "$NS_P" timeout 60 "$PY" "$PEER" echo "$g" "$PORT" 1,100,1472 "$SKIFF_IP" "$PEER_IP" \
    >"$ITEST_TMP/ssm-echo-$g.out" 2>&1
  rc=$?
  cat "$ITEST_TMP/ssm-echo-$g.out"
  check "kernel -> $g from $PEER_IP (a source let in): echoed" [ "$rc" -eq 0 ]
  ip netns exec "$NS_P" timeout 10 "$PY" "$PEER" silent "$g" "$PORT" 0.5 "$PEER_IP2" >"$ITEST_TMP/ssm-silent-$g.out" 2>&1
  rc=$?
  cat "$ITEST_TMP/ssm-silent-$g.out"
  check "kernel -> $g from $PEER_IP2 (a source kept out): no echo" [ "$rc" -eq 0 ]
done
mark=$(lines)
ip netns exec "$NS_P" timeout 10 "$PY" "$PEER" query v3 "$PEER_IP" 10 || fail "sending the v3 query"
igmp_wait "$mark" 1 2 "general query: MODE_IS_INCLUDE {$PEER_IP} for $G3" "$(srec 1 "$G3" "$PEER_IP")"
igmp_wait "$mark" 1 2 "general query: MODE_IS_EXCLUDE {$PEER_IP2} for $G1" "$(srec 2 "$G1" "$PEER_IP2")"
sleep 0.3
mark=$(lines)
ip netns exec "$NS_P" timeout 10 "$PY" "$PEER" query v3 "$PEER_IP" 10 "$G3" "$PEER_IP2,$PEER_IP" ||
  fail "sending the group-and-source-specific query"
igmp_wait "$mark" 1 2 "group-and-source query about $G3 {$PEER_IP2, $PEER_IP}: MODE_IS_INCLUDE {$PEER_IP}" \
  "$(srec 1 "$G3" "$PEER_IP")"
check "... and nothing about $G1" [ "$(igmp_count "$mark" "${G1//./\\.}")" -eq 0 ]
mark=$(lines)
stop_echo "$ITEST_TMP/final3.txt"
igmp_wait "$mark" 1 2 "BLOCK_OLD_SOURCES {$PEER_IP} for $G3 on exit" "$(srec 6 "$G3" "$PEER_IP")"
igmp_wait "$mark" 1 2 "CHANGE_TO_INCLUDE {} for $G1 on exit" "$(srec 3 "$G1" "")"
check "Ipv4McSourceFiltered >= 6 (the datagrams from $PEER_IP2)" \
  [ "$(drop "$ITEST_TMP/final3.txt" Ipv4McSourceFiltered)" -ge 6 ]
log "IGMP messages of the source-filter run:"
igmp_lines "$mark8" | sed 's/^/  /'
n=$(igmp_count 0 .)
check "every IGMP message (source records too): MAC, TTL 1, Router Alert, TOS 0xc0, checksums right" \
  [ "$(igmp_count 0 ' macok=1 ttl=1 tos=0xc0 ra=1 ipcsum=ok .* csum=ok')" -eq "$n" ]
check "every v3 report: records end where the message ends" [ "$(igmp_count 0 'type=0x22 .*(trailing=|truncated)')" -eq 0 ]
pass
