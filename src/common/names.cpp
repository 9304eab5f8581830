// String forms of the enums in guardd/decision.h and operation-name syntax.
#include <cctype>

#include "guardd/decision.h"
#include "guardd/operations.h"

namespace guardd {

std::string_view to_string(Outcome outcome) {
  switch (outcome) {
    case Outcome::Pass:
      return "pass";
    case Outcome::Veto:
      return "veto";
    case Outcome::Error:
      return "error";
  }
  return "error";
}

std::string_view to_string(Verdict verdict) {
  switch (verdict) {
    case Verdict::Allowed:
      return "allowed";
    case Verdict::Refused:
      return "refused";
    case Verdict::Forced:
      return "forced";
    case Verdict::Denied:
      return "denied";
    case Verdict::Invalid:
      return "invalid";
  }
  return "refused";
}

std::optional<Verdict> parse_verdict(std::string_view name) {
  for (Verdict v :
       {Verdict::Allowed, Verdict::Refused, Verdict::Forced, Verdict::Denied, Verdict::Invalid})
    if (to_string(v) == name) return v;
  return std::nullopt;
}

bool is_valid_operation_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  auto ok_first = [](char c) {
    return std::islower(static_cast<unsigned char>(c)) ||
           std::isdigit(static_cast<unsigned char>(c));
  };
  if (!ok_first(name[0])) return false;
  for (char c : name)
    if (!ok_first(c) && c != '-' && c != '_') return false;
  return true;
}

}  // namespace guardd
