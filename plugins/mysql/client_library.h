// libmariadb, loaded when a MySQL check first connects rather than when guardd starts.
//
// Why: libmariadb brings libssl and libcrypto with it, ~1.9 MiB of guardd's resident
// memory (libcrypto alone 1.4 MiB), paid by every host even when no mysqld runs
// and no MySQL check ever connects. Loaded on demand, a host without MySQL never maps it.
// The package depends on libmariadb3 explicitly, since dpkg-shlibdeps cannot see a dlopen.
#pragma once

#include <mysql.h>

#include <memory>

#include "guardd/result.h"

namespace guardd::mysql {

/// The libmariadb entry points guardd uses, resolved from the loaded library.
struct ClientLibrary {
  decltype(&::mysql_init) init;
  decltype(&::mysql_options) options;
  decltype(&::mysql_real_connect) real_connect;
  decltype(&::mysql_close) close;
  decltype(&::mysql_error) error;
  decltype(&::mysql_errno) error_number;
  decltype(&::mysql_get_server_info) get_server_info;
  decltype(&::mysql_real_query) real_query;
  decltype(&::mysql_store_result) store_result;
  decltype(&::mysql_field_count) field_count;
  decltype(&::mysql_num_fields) num_fields;
  decltype(&::mysql_fetch_fields) fetch_fields;
  decltype(&::mysql_fetch_row) fetch_row;
  decltype(&::mysql_fetch_lengths) fetch_lengths;
  decltype(&::mysql_free_result) free_result;
};

/// The shared object loaded, as the package's dependency (libmariadb3) provides it.
inline constexpr const char* kClientLibraryName = "libmariadb.so.3";

/// libmariadb, loaded and initialised (mysql_library_init) on the first successful call
/// and kept for the life of the process; thread-safe. A failure names the library and the
/// loader's reason, and the next call tries again (the package may be repaired meanwhile).
Result<const ClientLibrary*> client_library();

/// Loads and initialises the library `name` as above, without sharing or caching it.
Result<std::unique_ptr<const ClientLibrary>> load_client_library(const char* name);

}  // namespace guardd::mysql
