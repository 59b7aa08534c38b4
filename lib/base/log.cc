#include "base/log.hh"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace skiff {

namespace {
LogLevel initial_level() {
  const char* e = getenv("SKIFF_LOG");
  if (!e) return LogLevel::Warn;
  if (!strcmp(e, "debug")) return LogLevel::Debug;
  if (!strcmp(e, "info")) return LogLevel::Info;
  if (!strcmp(e, "error")) return LogLevel::Error;
  return LogLevel::Warn;
}
std::atomic<int> g_level{static_cast<int>(initial_level())};
const char* const kNames[] = {"error", "warn", "info", "debug"};
}  // namespace

void set_log_level(LogLevel l) { g_level.store(static_cast<int>(l), std::memory_order_relaxed); }
LogLevel log_level() { return static_cast<LogLevel>(g_level.load(std::memory_order_relaxed)); }

void log_write(LogLevel l, const char* fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  fprintf(stderr, "skiff[%s]: %s\n", kNames[static_cast<int>(l)], buf);
}

}  // namespace skiff
