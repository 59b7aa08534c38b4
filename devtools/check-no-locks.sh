#!/usr/bin/env bash
# No locks on the data path: the stack's code (lib/, drivers/) may not use a mutex, spinlock, rwlock,
# condition variable or semaphore, and the built library may not call one. Shards share nothing mutable;
# whatever crosses between them goes through lock-free rte_rings (stack/shard.hh).
#
#   devtools/check-no-locks.sh [LIBSKIFF.a]
# Exits 1 and names every hit. Run by `meson test` (suite unit, test "no_locks") with the built library.
set -uo pipefail
root="${SKIFF_CHECK_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}"  # (override: the self-test)
lib=${1:-}
status=0

pattern='std::(recursive_|timed_|shared_)?mutex|std::(lock_guard|unique_lock|scoped_lock|shared_lock)|std::condition_variable|std::(counting|binary)_semaphore|pthread_(mutex|spin|rwlock|cond)_|rte_(spinlock|rwlock|mcslock|ticketlock|pflock|seqlock)_|sem_(wait|post|timedwait)\b'
if hits=$(grep -rnE "$pattern" "$root/lib" "$root/drivers" --include='*.cc' --include='*.hh' --include='*.h' --include='*.c'); then
  echo "check-no-locks: lock primitives in the stack's sources:" >&2
  echo "$hits" >&2
  status=1
fi

if [ -n "$lib" ]; then
  if [ ! -f "$lib" ]; then
    echo "check-no-locks: $lib: no such library" >&2
    exit 2
  fi
  # Calls into lock implementations (function-local static initialisation guards excepted: they lock once).
  if syms=$(nm -u "$lib" 2>/dev/null | grep -E ' U (pthread_(mutex|spin|rwlock)_(lock|trylock|timedlock|rdlock|wrlock)|pthread_cond_(wait|timedwait)|sem_(wait|timedwait)|rte_(mcslock|ticketlock|pflock)_)' | sort -u); then
    echo "check-no-locks: $lib calls lock functions:" >&2
    echo "$syms" >&2
    status=1
  fi
  # (DPDK's header-only locks, rte_spinlock_* and rte_rwlock_*, leave no symbol: the source scan finds them.)
fi

[ "$status" -eq 0 ] && echo "check-no-locks: no locks in lib/ and drivers/${lib:+ nor in $(basename "$lib")}"
exit "$status"
