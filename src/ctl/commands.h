// The guardctl commands.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/duration.h"

namespace guardd::ctl {

/// Exit codes of check, status, log, hold and release.
enum Exit : int {
  kExitAllowed = 0,      // allowed, or the command succeeded
  kExitRefused = 1,      // refused (a veto, an error outcome, permission denied, no such hold)
  kExitUsage = 2,        // bad command line or a request guardd rejected as invalid
  kExitUnavailable = 3,  // guardd unreachable or unable to decide: treat as refused
};

/// Exit codes of `run` that are its own, chosen apart from what commands usually return.
enum RunExit : int {
  kRunRefused = 120,      // guardd refused: COMMAND not run
  kRunUnavailable = 121,  // guardd unreachable or unable to decide: COMMAND not run
  kRunUsage = 122,        // bad command line or invalid request: COMMAND not run
  kRunCannotExec = 126,   // allowed, but COMMAND could not be executed
  kRunNotFound = 127,     // allowed, but COMMAND was not found
};

/// Everything parsed from the command line.
struct Invocation {
  std::string command;
  std::string socket;
  Micros timeout{0};
  bool json = false;
  std::vector<std::string> positional;
  std::optional<std::string> target;
  std::optional<std::string> reason;
  bool force = false;
  bool dry_run = false;
  std::optional<std::string> since;
  std::optional<std::string> until;
  std::optional<std::string> verdict;
  std::vector<std::string> operations;  // --operation, repeatable
  std::optional<long> limit;
  std::vector<std::string> exec_argv;  // run: the COMMAND after --
};

/// Runs `check OPERATION`.
int check_command(const Invocation& inv);
/// Runs `run OPERATION -- COMMAND...`; execs COMMAND when allowed.
int run_command(const Invocation& inv);
/// Runs `status`.
int status_command(const Invocation& inv);
/// Runs `log`.
int log_command(const Invocation& inv);
/// Runs `hold`.
int hold_command(const Invocation& inv);
/// Runs `release HOLD_ID`.
int release_command(const Invocation& inv);

/// guardctl datadirs: the remembered MySQL/MariaDB datadirs.
int datadirs_command(const Invocation& inv);

/// guardctl retire DATADIR --reason TEXT.
int retire_command(const Invocation& inv);

}  // namespace guardd::ctl
