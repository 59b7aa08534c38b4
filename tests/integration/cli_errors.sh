#!/usr/bin/env bash
# Bad stack options: both apps must refuse them before EAL initialisation, with exit code 2 and exactly one
# line on stderr naming the option; skiff-echo's own options (--port, --tcp-defer-accept, --tcp-fastopen) the
# same way, once EAL is up. No device, no privileges needed.
. "$(dirname "$0")/lib.sh"
itest_init "$@"

CONF_BAD="$ITEST_TMP/bad.ini"
printf '[ipv4]\nreass-timeout-ms = 5\n' >"$CONF_BAD"          # below the 100 ms minimum
CONF_SECTION="$ITEST_TMP/section.ini"
printf '[nonsense]\nkey = 1\n' >"$CONF_SECTION"

# expect_error APP OPTION-NAME APP-ARGS...: APP (skiff-echo or skiff-ping) with valid EAL arguments and
# APP-ARGS after "--" exits 2, prints one stderr line that names OPTION-NAME, nothing on stdout, and never
# reaches EAL initialisation (its runtime directory does not appear).
n_cases=0
expect_error() {
  local app=$1 opt=$2 bin
  shift 2
  [ "$app" = skiff-echo ] && bin=$SKIFF_ECHO || bin=$SKIFF_PING
  n_cases=$((n_cases + 1))
  eal_args 0 "c$n_cases"
  local prefix=$EAL_PREFIX out="$ITEST_TMP/c$n_cases.out" err="$ITEST_TMP/c$n_cases.err" rc
  timeout 20 "$bin" "${EAL_ARGS[@]}" -- "$@" >"$out" 2>"$err"
  rc=$?
  local lines
  lines=$(wc -l <"$err")
  log "$app -- $*: exit $rc, stderr: $(head -c 300 "$err" | tr '\n' '|')"
  [ "$rc" -eq 2 ] || fail "$app -- $*: exit status $rc, expected 2"
  [ "$lines" -eq 1 ] || fail "$app -- $*: $lines lines on stderr, expected exactly 1"
  grep -q -- "$opt" "$err" || fail "$app -- $*: the stderr line does not name $opt"
  grep -q "^$app: " "$err" || fail "$app -- $*: the stderr line does not start with '$app: '"
  [ ! -s "$out" ] || fail "$app -- $*: unexpected stdout: $(head -c 200 "$out")"
  if [ "${APP_OPTION:-0}" = 1 ]; then
    rm -rf "/var/run/dpdk/$prefix"  # an app's own option is read once the runtime is up
  else
    [ ! -e "/var/run/dpdk/$prefix" ] || fail "$app -- $*: EAL was initialised (/var/run/dpdk/$prefix exists) before the error"
  fi
}

for app in skiff-echo skiff-ping; do
  dest=()
  [ "$app" = skiff-ping ] && dest=(10.0.0.9)
  expect_error "$app" --ip --ip 300.1.1.1/24 "${dest[@]}"
  expect_error "$app" --ip --ip 10.0.0.1 "${dest[@]}"
  expect_error "$app" --ip --ip 10.0.0.1/33 "${dest[@]}"
  expect_error "$app" --ip --ip 224.0.0.1/24 "${dest[@]}"
  expect_error "$app" --mtu --ip 10.0.0.1/24 --mtu 10 "${dest[@]}"
  expect_error "$app" --mtu --ip 10.0.0.1/24 --mtu 1500x "${dest[@]}"
  expect_error "$app" --gw --ip 10.0.0.1/24 --gw 10.1.1.1 "${dest[@]}"
  expect_error "$app" --gw --gw 10.0.0.254 "${dest[@]}"
  expect_error "$app" --config --ip 10.0.0.1/24 --config /nonexistent "${dest[@]}"
  expect_error "$app" --config --ip 10.0.0.1/24 --config "$CONF_BAD" "${dest[@]}"
  expect_error "$app" --config --ip 10.0.0.1/24 --config "$CONF_SECTION" "${dest[@]}"
  expect_error "$app" --pool-size --ip 10.0.0.1/24 --pool-size 5 "${dest[@]}"
  expect_error "$app" --idle-sleep --ip 10.0.0.1/24 --idle-sleep -1 "${dest[@]}"
  expect_error "$app" --mac --ip 10.0.0.1/24 --mac 01:00:5e:00:00:01 "${dest[@]}"
  expect_error "$app" --link-wait --ip 10.0.0.1/24 --link-wait "${dest[@]}"
done
# skiff-echo's own options: the same one line and exit 2 (read after EAL initialisation, so without that
# check, and only as root, where EAL starts).
if [ "$(id -u)" -eq 0 ]; then
  APP_OPTION=1 expect_error skiff-echo --tcp-defer-accept --ip 10.0.0.1/24 --tcp-defer-accept 5x
  APP_OPTION=1 expect_error skiff-echo --tcp-defer-accept --ip 10.0.0.1/24 --tcp-defer-accept -1
  APP_OPTION=1 expect_error skiff-echo --tcp-fastopen --ip 10.0.0.1/24 --tcp-fastopen 70000
  APP_OPTION=1 expect_error skiff-echo --tcp-fastopen-no-cookie --ip 10.0.0.1/24 --tcp-fastopen-no-cookie
  APP_OPTION=1 expect_error skiff-echo --port --ip 10.0.0.1/24 --port 70000
fi
log "$n_cases cases"

# Control for the "EAL was not initialised" check: valid options and no device get past option parsing,
# initialise EAL (the runtime directory appears) and then fail for want of a port (exit 1).
if [ "$(id -u)" -eq 0 ]; then
  eal_args 0 control
  timeout 30 "$SKIFF_ECHO" "${EAL_ARGS[@]}" -- --ip 10.0.0.1/24 >"$ITEST_TMP/control.out" 2>"$ITEST_TMP/control.err"
  rc=$?
  log "control: skiff-echo with valid options and no device: exit $rc, stderr: $(tail -n 1 "$ITEST_TMP/control.err")"
  check "control: exit 1 (no ports)" [ "$rc" -eq 1 ]
  check "control: its complaint names the missing device" grep -q 'no ports' "$ITEST_TMP/control.err"
  check "control: EAL initialised (/var/run/dpdk/$EAL_PREFIX exists)" [ -e "/var/run/dpdk/$EAL_PREFIX" ]
fi
pass
