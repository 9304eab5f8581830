#include "plugins/mysql/client_library.h"

#include <dlfcn.h>

#include <mutex>

#include <fmt/format.h>

namespace guardd::mysql {
namespace {

// Looks `symbol` up in `handle` into `slot`; names the first one absent in `missing`.
template <typename Fn>
void resolve(void* handle, const char* symbol, Fn& slot, std::string& missing) {
  slot = reinterpret_cast<Fn>(dlsym(handle, symbol));
  if (slot == nullptr && missing.empty()) missing = symbol;
}

}  // namespace

Result<std::unique_ptr<const ClientLibrary>> load_client_library(const char* name) {
  // RTLD_LOCAL: its symbols stay out of the global namespace; RTLD_NOW: a broken
  // installation fails here, at a check that reports it, not later in a call.
  void* handle = dlopen(name, RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr)
    return Error{fmt::format("cannot load the MySQL client library {}: {}", name, dlerror())};
  auto lib = std::make_unique<ClientLibrary>();
  std::string missing;
  resolve(handle, "mysql_init", lib->init, missing);
  resolve(handle, "mysql_options", lib->options, missing);
  resolve(handle, "mysql_real_connect", lib->real_connect, missing);
  resolve(handle, "mysql_close", lib->close, missing);
  resolve(handle, "mysql_error", lib->error, missing);
  resolve(handle, "mysql_errno", lib->error_number, missing);
  resolve(handle, "mysql_get_server_info", lib->get_server_info, missing);
  resolve(handle, "mysql_real_query", lib->real_query, missing);
  resolve(handle, "mysql_store_result", lib->store_result, missing);
  resolve(handle, "mysql_field_count", lib->field_count, missing);
  resolve(handle, "mysql_num_fields", lib->num_fields, missing);
  resolve(handle, "mysql_fetch_fields", lib->fetch_fields, missing);
  resolve(handle, "mysql_fetch_row", lib->fetch_row, missing);
  resolve(handle, "mysql_fetch_lengths", lib->fetch_lengths, missing);
  resolve(handle, "mysql_free_result", lib->free_result, missing);
  decltype(&::mysql_server_init) library_init = nullptr;
  resolve(handle, "mysql_server_init", library_init, missing);  // mysql_library_init's name
  if (!missing.empty()) {
    dlclose(handle);
    return Error{fmt::format("the MySQL client library {} has no {}", name, missing)};
  }
  if (library_init(0, nullptr, nullptr) != 0) {
    dlclose(handle);
    return Error{fmt::format("the MySQL client library {} failed to initialise", name)};
  }
  // The handle stays open for the life of the process, like a linked library's.
  return std::unique_ptr<const ClientLibrary>(std::move(lib));
}

Result<const ClientLibrary*> client_library() {
  static std::mutex mutex;
  // Never freed: a worker abandoned in a hung query may still call through it at exit.
  static const ClientLibrary* loaded = nullptr;
  std::lock_guard lock(mutex);
  if (loaded == nullptr) {
    auto lib = load_client_library(kClientLibraryName);
    if (!lib) return Error{lib.error()};
    loaded = lib->release();
  }
  return loaded;
}

}  // namespace guardd::mysql
