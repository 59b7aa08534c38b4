#pragma once
// Minimal leveled logging to stderr. Never on the per-packet path except behind a rate limit.

#include <cstdarg>

namespace skiff {

enum class LogLevel : int { Error = 0, Warn = 1, Info = 2, Debug = 3 };

void set_log_level(LogLevel l);
LogLevel log_level();
void log_write(LogLevel l, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

}  // namespace skiff

#define SKIFF_LOG(level, ...)                                                     \
  do {                                                                            \
    if (static_cast<int>(::skiff::LogLevel::level) <= static_cast<int>(::skiff::log_level())) \
      ::skiff::log_write(::skiff::LogLevel::level, __VA_ARGS__);                  \
  } while (0)
