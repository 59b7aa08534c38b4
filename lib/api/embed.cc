#include <cstring>
#include <string>
#include <vector>

#include "api/skiff_embed.h"
#include "runtime/runtime.hh"

extern "C" {

int skiff_embed_run(int argc, char** argv, const char* app, int (*hook)(void*), void* arg) {
  int code = 0;
  auto rt = skiff::Runtime::init(argc, argv, app ? app : "skiff", &code);
  if (!rt) return code;
  if (!rt->build()) return 1;
  int rc = 0;
  rt->run([&](skiff::Shard&) {
    if (hook && hook(arg) != 0) {
      rc = 1;
      skiff::Runtime::request_stop();
    }
  });
  return rc;
}

void skiff_embed_stop(void) { skiff::request_stop(); }

const char* skiff_embed_app_arg(int argc, char** argv, int i) {
  std::vector<std::string> rest;
  int first = argc;
  for (int k = 1; k < argc; ++k)
    if (strcmp(argv[k], "--") == 0) {
      first = k + 1;
      break;
    }
  for (int k = first; k < argc; ++k) rest.emplace_back(argv[k]);
  const auto parsed = skiff::parse_stack_options(rest);
  if (i < 0 || static_cast<size_t>(i) >= parsed.app_args.size()) return nullptr;
  // Find the same string in argv so the pointer stays valid.
  const std::string& want = parsed.app_args[static_cast<size_t>(i)];
  for (int k = first; k < argc; ++k)
    if (want == argv[k]) return argv[k];
  return nullptr;
}

}  // extern "C"
