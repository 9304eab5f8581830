// Interface descriptions served by GetInterfaceDescription.
#pragma once

#include <string_view>

namespace guardd {

/// src/io.guardd.Guard.varlink, embedded verbatim at build time.
std::string_view guard_interface_description();

/// The standard org.varlink.service interface.
std::string_view service_interface_description();

}  // namespace guardd
