#include "plugins/mysql/replication_position.h"

#include <algorithm>
#include <charconv>
#include <map>

#include <fmt/format.h>

namespace guardd::mysql {
namespace {

template <typename Number>
bool parse_number(std::string_view text, Number& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && !text.empty();
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\n' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

std::string to_text(const Gtid& g) {
  return fmt::format("{}-{}-{}", g.domain, g.server_id, g.seq);
}

// The highest sequence number per domain.
std::map<uint32_t, uint64_t> by_domain(const std::vector<Gtid>& list) {
  std::map<uint32_t, uint64_t> out;
  for (const auto& g : list) out[g.domain] = std::max(out[g.domain], g.seq);
  return out;
}

}  // namespace

std::optional<std::vector<Gtid>> parse_gtid_list(std::string_view text) {
  std::vector<Gtid> out;
  text = trim(text);
  if (text.empty()) return out;
  while (true) {
    const size_t comma = text.find(',');
    std::string_view item = trim(text.substr(0, comma));
    const size_t first = item.find('-');
    const size_t second = first == std::string_view::npos ? first : item.find('-', first + 1);
    if (second == std::string_view::npos) return std::nullopt;
    Gtid g;
    if (!parse_number(item.substr(0, first), g.domain) ||
        !parse_number(item.substr(first + 1, second - first - 1), g.server_id) ||
        !parse_number(item.substr(second + 1), g.seq))
      return std::nullopt;
    out.push_back(g);
    if (comma == std::string_view::npos) return out;
    text.remove_prefix(comma + 1);
  }
}

Receipt received(const SourcePosition& source, const ReplicaPosition& replica) {
  using State = Receipt::State;
  // GTIDs where both sides have them: a domain's sequence numbers only grow, so what the
  // replica lacks is the difference, counted in transactions.
  if (replica.uses_gtid && !source.gtid_binlog_pos.empty()) {
    auto wanted = parse_gtid_list(source.gtid_binlog_pos);
    auto received = parse_gtid_list(replica.gtid_io_pos);
    if (!wanted || !received)
      return {State::Incomparable,
              fmt::format("its received position '{}' cannot be compared with the source's '{}'",
                          replica.gtid_io_pos, source.gtid_binlog_pos)};
    const auto have = by_domain(*received);
    uint64_t missing = 0;
    for (const auto& [domain, seq] : by_domain(*wanted)) {
      auto it = have.find(domain);
      const uint64_t got = it == have.end() ? 0 : it->second;
      if (seq > got) missing += seq - got;
    }
    if (missing == 0) return {};
    return {State::Behind,
            fmt::format("{} transaction(s) not received (received up to {}, the source is at {})",
                        missing, replica.gtid_io_pos.empty() ? "nothing" : replica.gtid_io_pos,
                        source.gtid_binlog_pos)};
  }
  // Otherwise binary log coordinates: the replica reads the source's own files, so its
  // read position and the source's current one name the same file and offset.
  if (!source.file.empty() && source.position >= 0 && !replica.file.empty() &&
      replica.position >= 0) {
    if (std::tie(replica.file, replica.position) >= std::tie(source.file, source.position))
      return {};
    return {State::Behind,
            fmt::format("not received up to the source's position (received up "
                        "to {}:{}, the source is at {}:{})",
                        replica.file, replica.position, source.file, source.position)};
  }
  return {State::Incomparable,
          "its received position cannot be compared with the source's (without GTIDs, reading "
          "the source's SHOW MASTER STATUS needs BINLOG MONITOR on MariaDB, REPLICATION CLIENT "
          "on MySQL)"};
}

std::vector<std::string> errant_transactions(const SourcePosition& source,
                                             const ReplicaPosition& replica, int64_t replica_id) {
  // Only the replica's own writes (its server id): entries from the source or upstream may
  // be newer than the source's state read a moment earlier, which is no divergence.
  auto theirs = parse_gtid_list(source.gtid_binlog_state);
  auto mine = parse_gtid_list(replica.gtid_binlog_state);
  std::vector<std::string> errant;
  if (!theirs || !mine || source.gtid_binlog_state.empty()) return errant;
  for (const auto& g : *mine) {
    if (static_cast<int64_t>(g.server_id) != replica_id) continue;
    const bool source_has = std::any_of(theirs->begin(), theirs->end(), [&](const Gtid& s) {
      return s.domain == g.domain && s.server_id == g.server_id && s.seq >= g.seq;
    });
    if (!source_has) errant.push_back(to_text(g));
  }
  return errant;
}

}  // namespace guardd::mysql
