#pragma once
// Runtime: what every Skiff app does at start and stop. Initialise EAL, parse the shared stack options,
// open every ethdev port with one queue per lcore, build the stack (one shard per lcore), run the shards'
// poll loops on their lcores until a signal, then stop cleanly.

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ethdev/ethdev_port.hh"
#include "runtime/options.hh"
#include "stack/stack.hh"

namespace skiff {

// Called on a shard's own lcore after every poll iteration (apps put their per-shard work here).
using PollHook = std::function<void(Shard&)>;

class Runtime {
 public:
  // EAL arguments up to "--", stack and app options after. On failure prints one line to stderr, sets
  // *exit_code (2 for bad options, 1 for other failures) and returns nullptr.
  static std::unique_ptr<Runtime> init(int argc, char** argv, const std::string& app, int* exit_code);
  ~Runtime();

  const std::vector<std::string>& app_args() const { return opts_.app_args; }
  StackConfig& config() { return opts_.cfg; }

  // Opens the ports and builds the stack. Prints a one-line error and returns false on failure.
  bool build();
  Stack& stack() { return *stack_; }
  EthdevPort& port(unsigned i) { return *ports_[i]; }
  unsigned port_count() const { return static_cast<unsigned>(ports_.size()); }

  // Runs every shard on its lcore until request_stop() (or SIGINT/SIGTERM).
  void run(const PollHook& hook = {});

  static void request_stop();
  static bool stop_requested();
  // Installs SIGINT/SIGTERM handlers that request a stop.
  static void install_signal_handlers();

 private:
  Runtime() = default;
  std::string app_;
  ParsedOptions opts_;
  std::vector<std::unique_ptr<EthdevPort>> ports_;
  std::unique_ptr<Stack> stack_;
  bool eal_ok_ = false;
};

// Initialises EAL from an argument list (program name first); returns false with a logged reason.
bool eal_init(const std::vector<std::string>& args);

// The poll loop for the shards of one lcore; returns when a stop is requested.
void poll_loop(const std::vector<Shard*>& shards, const PollHook& hook, Duration idle_sleep);

}  // namespace skiff
