// A small RAII wrapper over sqlite3_stmt for binding and reading columns.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>

namespace guardd {

/// How long a statement is kept: used once, or reused for every call (SQLite then keeps
/// it out of its short-lived lookaside memory).
enum class StatementUse { Once, Reused };

/// A prepared statement; check ok() after construction.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql, StatementUse use = StatementUse::Once) {
    rc_ = sqlite3_prepare_v3(
        db, sql, -1, use == StatementUse::Reused ? SQLITE_PREPARE_PERSISTENT : 0, &stmt_, nullptr);
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  /// True when the statement compiled.
  bool ok() const { return rc_ == SQLITE_OK && stmt_ != nullptr; }

  /// Binds parameter `i` (1-based); nullopt binds NULL.
  void bind(int i, int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
  void bind(int i, const std::string& v) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  void bind(int i, const std::optional<std::string>& v) {
    if (v)
      bind(i, *v);
    else
      sqlite3_bind_null(stmt_, i);
  }

  /// Steps once: SQLITE_ROW, SQLITE_DONE or an error code.
  int step() { return sqlite3_step(stmt_); }

  /// Makes a reused statement ready for its next run, with no parameters bound.
  void reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

  /// Column readers for the current row (0-based).
  int64_t integer(int c) const { return sqlite3_column_int64(stmt_, c); }
  std::string text(int c) const {
    auto* p = sqlite3_column_text(stmt_, c);
    return p ? std::string(reinterpret_cast<const char*>(p),
                           static_cast<size_t>(sqlite3_column_bytes(stmt_, c)))
             : std::string();
  }
  std::optional<std::string> optional_text(int c) const {
    if (sqlite3_column_type(stmt_, c) == SQLITE_NULL) return std::nullopt;
    return text(c);
  }

 private:
  sqlite3_stmt* stmt_ = nullptr;
  int rc_ = SQLITE_ERROR;
};

}  // namespace guardd
