#!/usr/bin/env bash
# The TCP/IP bad-input battery over net_af_packet (issue 8 item 2): skiff-echo on a veth, the Linux kernel's
# netns as the attacker (attack_battery.py crafts the frames). Classes: lengths that disagree, TCP option
# lengths 0/1/overrun, MSS 0/1, crafted SACK blocks, urgent pointer abuse (and a kernel MSG_OOB stream),
# ICMP errors quoting garbage, bogus PMTU, ARP cache poisoning and an ARP flood (the families behind
# Ripple20, AMNESIA:33, URGENT/11, the Linux SACK panic). Fragments (teardrop, overlaps, floods) are
# bad_input.sh's, over net_tap: net_af_packet has the kernel defragment before Skiff sees anything.
# After each class: skiff-echo is alive, the counters moved as the class says (each dropped frame counted
# under its reason), sockets/connections/buffers/reassembly/ARP queue are back at the baseline, and a
# legitimate kernel TCP transfer through the echo matches SHA-256 both ways.
# SKIFF_ITEST_BATTERY_CLASSES (space-separated) runs a subset.
. "$(dirname "$0")/lib.sh"
itest_init "$@"
. "$(dirname "$0")/attack_lib.sh"
attack_init

CLASSES=${SKIFF_ITEST_BATTERY_CLASSES:-lengths options mss sack urgent icmp pmtu arp arpflood}
T=$ITEST_TMP
attack_topology X 10.99.22
# A 256-entry neighbour table (the ARP flood must fill it).
printf '[neigh]\ncapacity = 256\n' >"$T/skiff.ini"
attack_start_echo "$T/skiff.ini"
if [ -n "${SKIFF_ITEST_PCAP:-}" ] && command -v tcpdump >/dev/null; then  # debugging: what reached Skiff's link
  mkdir -p "$SKIFF_ITEST_PCAP"
  start_bg "$NS_S" "$T/tcpdump.txt" 600 tcpdump -i "$IF_S" -nn -s 128 -B 65536 -w "$SKIFF_ITEST_PCAP/battery-$$.pcap"
  sleep 0.5
fi
legit_xfer "the start" 2000000

alld() { awk '$1 ~ /\.drop\./ { s += $2 } END { printf "%.0f\n", s }' "$1"; }
for cls in $CLASSES; do
  log "---- class $cls"
  snapshot "$T/b-$cls.txt"
  kpy 90 "$HERE/attack_battery.py" "$cls" "$IF_P" "$SKIFF_MAC" "$PEER_MAC" "$SKIFF_IP" "$PEER_IP" >"$T/$cls.out" 2>&1
  rc=$?
  sed 's/^/    /' "$T/$cls.out"
  check "skiff-echo survived class $cls" echo_alive
  sleep 0.3
  snapshot "$T/a-$cls.txt"
  Bf=$T/b-$cls.txt
  Af=$T/a-$cls.txt
  log "  drops in class $cls: $(awk 'NR == FNR { if ($1 ~ /\.drop\./) b[$1] = $2; next }
    $1 ~ /\.drop\./ && $2 != b[$1] { sub(/^.*\.drop\./, "", $1); printf "%s+%d ", $1, $2 - b[$1] }' "$Bf" "$Af")"
  [ -n "${SKIFF_ITEST_PCAP:-}" ] && cp "$Bf" "$Af" "$SKIFF_ITEST_PCAP/"
  check "class $cls: its own checks passed (exit $rc)" cond "[ $rc -eq 0 ] && grep -q '^DONE $cls bad=0' '$T/$cls.out'"
  while read -r kind name n; do
    case $kind in
      EXPECT) check "$cls: $name moved by $n ($(dsum "$Bf" "$Af" "$name"))" [ "$(dsum "$Bf" "$Af" "$name")" -eq "$n" ] ;;
      EXPECT_MIN) check "$cls: $name moved by at least $n ($(dsum "$Bf" "$Af" "$name"))" \
        [ "$(dsum "$Bf" "$Af" "$name")" -ge "$n" ] ;;
      EXPECT_MAX_ABS) check "$cls: $name at most $n ($(ctr "$Af" "$name"))" [ "$(ctr "$Af" "$name")" -le "$n" ] ;;
      EXPECT_ALL_DROPS) check "$cls: drops over all reasons moved by $name ($(($(alld "$Af") - $(alld "$Bf"))))" \
        [ $(($(alld "$Af") - $(alld "$Bf"))) -eq "$name" ] ;;
    esac
  done < <(grep -E '^EXPECT' "$T/$cls.out")
  mem_back_to_base "class $cls" 10
  legit_xfer "class $cls" 2000000
done
mem_back_to_base "the battery" 10
stop_echo "$T/final.txt"
pass
