#include "daemon/logging.h"

#include <cstdlib>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace guardd {

void setup_logging() {
  auto logger = spdlog::stderr_logger_mt("guardd");
  if (std::getenv("JOURNAL_STREAM") != nullptr)
    logger->set_pattern("%l: %v");
  else
    logger->set_pattern("%Y-%m-%d %H:%M:%S.%e guardd[%P] %l: %v");
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(logger);
}

void set_log_level(const std::string& level) {
  spdlog::set_level(spdlog::level::from_str(level == "warning" ? "warn" : level));
}

}  // namespace guardd
