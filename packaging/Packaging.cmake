# Installation layout and the Debian packages (CPack DEB): `guardd` and `guardd-shims`.
# Build them with: cmake --build build/default --target package

set(CMAKE_INSTALL_DEFAULT_COMPONENT_NAME guardd)

install(TARGETS guardd DESTINATION ${CMAKE_INSTALL_SBINDIR} COMPONENT guardd)
install(TARGETS guardctl DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT guardd)
install(FILES etc/guardd.conf DESTINATION /etc/guardd COMPONENT guardd)
install(FILES etc/guardd.conf.d/README DESTINATION /etc/guardd/guardd.conf.d COMPONENT guardd)
install(PROGRAMS etc/hooks.d/backup-running etc/hooks.d/users-logged-in
        DESTINATION /etc/guardd/hooks.d COMPONENT guardd)
install(FILES systemd/guardd.service systemd/guardd.socket DESTINATION /lib/systemd/system
        COMPONENT guardd)
install(FILES src/io.guardd.Guard.varlink DESTINATION ${CMAKE_INSTALL_DATADIR}/guardd
        COMPONENT guardd)
install(FILES README.md DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/guardd COMPONENT guardd)
install(FILES packaging/copyright DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/guardd COMPONENT guardd)

# Man pages, compressed as Debian wants them.
set(GUARDD_MAN_PAGES guardd.8 guardctl.8 guardd.conf.5)
foreach(page ${GUARDD_MAN_PAGES})
  add_custom_command(
    OUTPUT ${CMAKE_BINARY_DIR}/man/${page}.gz
    COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/man
    COMMAND gzip -9nc ${CMAKE_SOURCE_DIR}/man/${page} > ${CMAKE_BINARY_DIR}/man/${page}.gz
    DEPENDS ${CMAKE_SOURCE_DIR}/man/${page})
  list(APPEND GUARDD_MAN_GZ ${CMAKE_BINARY_DIR}/man/${page}.gz)
  string(REGEX REPLACE ".*\\.([0-9])$" "\\1" section ${page})
  install(FILES ${CMAKE_BINARY_DIR}/man/${page}.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section}
          COMPONENT guardd)
endforeach()
add_custom_command(
  OUTPUT ${CMAKE_BINARY_DIR}/changelog.gz
  COMMAND gzip -9nc ${CMAKE_SOURCE_DIR}/packaging/changelog > ${CMAKE_BINARY_DIR}/changelog.gz
  DEPENDS ${CMAKE_SOURCE_DIR}/packaging/changelog)
add_custom_target(man_pages ALL DEPENDS ${GUARDD_MAN_GZ} ${CMAKE_BINARY_DIR}/changelog.gz)
install(FILES ${CMAKE_BINARY_DIR}/changelog.gz DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/guardd
        COMPONENT guardd)
install(FILES ${CMAKE_BINARY_DIR}/changelog.gz DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/guardd-shims
        COMPONENT shims)

# The shims: guardd-shim under each tool's name; the real tools are diverted aside by the
# package's preinst. Debian 12's packages register these tools under /sbin.
file(STRINGS packaging/guardd-shims/tools GUARDD_SHIM_TOOLS)
file(MAKE_DIRECTORY ${CMAKE_BINARY_DIR}/shim-links)
install(TARGETS guardd-shim DESTINATION lib/guardd COMPONENT shims)
foreach(tool ${GUARDD_SHIM_TOOLS})
  get_filename_component(name ${tool} NAME)
  get_filename_component(dir ${tool} DIRECTORY)
  file(CREATE_LINK /usr/lib/guardd/guardd-shim ${CMAKE_BINARY_DIR}/shim-links/${name} SYMBOLIC)
  install(FILES ${CMAKE_BINARY_DIR}/shim-links/${name} DESTINATION ${dir} COMPONENT shims)
endforeach()
install(FILES packaging/copyright DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/guardd-shims
        COMPONENT shims)
string(REPLACE ";" " " SHIM_TOOLS "${GUARDD_SHIM_TOOLS}")
foreach(script preinst postrm)
  configure_file(packaging/guardd-shims/${script}.in
                 ${CMAKE_BINARY_DIR}/packaging/guardd-shims/${script} @ONLY
                 FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
                                  WORLD_READ WORLD_EXECUTE)
endforeach()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME guardd)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "guardd maintainers <maintainers@guardd.example.org>")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL guardd shims)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
set(CPACK_DEBIAN_GUARDD_PACKAGE_NAME guardd)
set(CPACK_DEBIAN_GUARDD_PACKAGE_SHLIBDEPS ON)
# libmariadb3 by name: guardd loads it with dlopen (when a MySQL check first connects),
# which dpkg-shlibdeps cannot see.
set(CPACK_DEBIAN_GUARDD_PACKAGE_DEPENDS "adduser, init-system-helpers (>= 1.54~), libmariadb3")
set(CPACK_DEBIAN_GUARDD_PACKAGE_CONTROL_EXTRA
    ${CMAKE_SOURCE_DIR}/packaging/guardd/postinst ${CMAKE_SOURCE_DIR}/packaging/guardd/prerm
    ${CMAKE_SOURCE_DIR}/packaging/guardd/postrm ${CMAKE_SOURCE_DIR}/packaging/guardd/conffiles)
set(CPACK_COMPONENT_GUARDD_DESCRIPTION
    "on-host guard agent that refuses destructive operations\nguardd answers 'may I reboot, power off, reinstall, wipe or decommission this\nhost now?' over a local Varlink socket after asking its checks (admin holds,\nrunning MySQL/MariaDB and its replication role and clients, block devices in\nuse, site hooks), and records every decision in an audit log.")
set(CPACK_DEBIAN_SHIMS_PACKAGE_NAME guardd-shims)
set(CPACK_DEBIAN_SHIMS_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_SHIMS_PACKAGE_DEPENDS "guardd (= ${PROJECT_VERSION})")
set(CPACK_DEBIAN_SHIMS_PACKAGE_CONTROL_EXTRA
    ${CMAKE_BINARY_DIR}/packaging/guardd-shims/preinst ${CMAKE_BINARY_DIR}/packaging/guardd-shims/postrm)
set(CPACK_COMPONENT_SHIMS_DESCRIPTION
    "guardd in front of reboot, shutdown, wipefs and friends\nDiverts reboot, poweroff, halt, shutdown, wipefs, blkdiscard and sgdisk,\nand puts a shim in their place that asks guardd and runs the real tool\nonly when allowed.")
include(CPack)
