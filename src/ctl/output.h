// Human-readable output of guardctl; --json prints guardd's replies as they are.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

namespace guardd::ctl {

/// A Check reply: the verdict line, then one line per check (name, outcome, reason).
void print_check(std::FILE* out, const nlohmann::json& decision, bool allowed);

/// ListDecisions: one line per decision.
void print_log(std::FILE* out, const nlohmann::json& decisions);

/// GetStatus: version, audit health, checks, holds.
void print_status(std::FILE* out, const nlohmann::json& status);

/// One hold on one line.
std::string describe_hold(const nlohmann::json& hold);

/// "/srv/mysql: mariadbd, primary with 2 replica(s), socket ..., last seen ...".
std::string describe_datadir(const nlohmann::json& datadir);

}  // namespace guardd::ctl
