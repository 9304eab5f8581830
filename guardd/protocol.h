// Names fixed by the Varlink interface io.guardd.Guard.
#pragma once

#include <cstddef>
#include <string_view>

namespace guardd::protocol {

inline constexpr std::string_view kInterface = "io.guardd.Guard";
inline constexpr std::string_view kDefaultSocket = "/run/guardd/guardd.sock";
inline constexpr std::size_t kMaxMessageBytes = 64 * 1024;

inline constexpr std::string_view kErrPermissionDenied = "io.guardd.Guard.PermissionDenied";
inline constexpr std::string_view kErrInvalidRequest = "io.guardd.Guard.InvalidRequest";
inline constexpr std::string_view kErrAuditUnavailable = "io.guardd.Guard.AuditUnavailable";
inline constexpr std::string_view kErrInternal = "io.guardd.Guard.InternalError";

inline constexpr std::string_view kErrMethodNotFound = "org.varlink.service.MethodNotFound";
inline constexpr std::string_view kErrInterfaceNotFound = "org.varlink.service.InterfaceNotFound";
inline constexpr std::string_view kErrInvalidParameter = "org.varlink.service.InvalidParameter";

}  // namespace guardd::protocol
