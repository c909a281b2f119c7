# Finds libdoublecomp's optional codec libraries (zstd, lz4) as the imported
# targets doublecomp::dep_zstd and doublecomp::dep_lz4. Used by the build
# (CMakeLists.txt) and installed next to doublecompConfig.cmake, which uses it
# for the static library's link interface, so both find them the same way:
#   1. pkg-config (libzstd.pc, liblz4.pc), when pkg-config and the .pc exist;
#   2. otherwise a plain header and library search (find_path, find_library),
#      for systems whose packages ship no .pc file;
#   3. in an installed package only: failing both, a bare "-lzstd" / "-llz4",
#      left to the linker's default search path (the shared library does not
#      need them at all; only a static link does).
# dc_find_codec_dep(NAME PCNAME HEADER LIBNAME REQUIRED_FLAG) sets
# DC_DEP_<NAME>_FOUND and DC_DEP_<NAME>_PC (the pkg-config module used, or "")
# and DC_DEP_<NAME>_LIB (the library for a .pc's Libs.private when no .pc).
include_guard(GLOBAL)

function(dc_find_codec_dep name pcname header libname required)
  string(TOUPPER "${name}" up)
  set(tgt doublecomp::dep_${name})
  set(found FALSE)
  set(pc "")
  set(lib "")
  if(TARGET ${tgt})
    get_target_property(pc ${tgt} INTERFACE_DC_PC_MODULE)
    get_target_property(lib ${tgt} INTERFACE_DC_PLAIN_LIB)
    set(found TRUE)
  else()
    find_package(PkgConfig QUIET)
    if(PKG_CONFIG_FOUND)
      pkg_check_modules(_DC_PC_${up} QUIET IMPORTED_TARGET ${pcname})
    endif()
    add_library(${tgt} INTERFACE IMPORTED)
    if(TARGET PkgConfig::_DC_PC_${up})
      set_property(TARGET ${tgt} PROPERTY INTERFACE_LINK_LIBRARIES PkgConfig::_DC_PC_${up})
      set(pc ${pcname})
      set(found TRUE)
    else()
      find_path(DC_${up}_INCLUDE_DIR ${header})
      find_library(DC_${up}_LIBRARY NAMES ${libname})
      if(DC_${up}_INCLUDE_DIR AND DC_${up}_LIBRARY)
        set_property(TARGET ${tgt} PROPERTY INTERFACE_INCLUDE_DIRECTORIES ${DC_${up}_INCLUDE_DIR})
        set_property(TARGET ${tgt} PROPERTY INTERFACE_LINK_LIBRARIES ${DC_${up}_LIBRARY})
        set(found TRUE)
      elseif(NOT required)
        # an installed package: let the linker look for it
        set_property(TARGET ${tgt} PROPERTY INTERFACE_LINK_LIBRARIES ${libname})
        set(found TRUE)
      endif()
      set(lib ${libname})
    endif()
    set_property(TARGET ${tgt} PROPERTY INTERFACE_DC_PC_MODULE "${pc}")
    set_property(TARGET ${tgt} PROPERTY INTERFACE_DC_PLAIN_LIB "${lib}")
  endif()
  if(required AND NOT found)
    message(FATAL_ERROR "${name} not found (neither ${pcname}.pc nor ${header} + lib${libname}); "
                        "install it (Debian: lib${name}-dev) or configure with -DDC_WITH_${up}=OFF")
  endif()
  set(DC_DEP_${up}_FOUND ${found} PARENT_SCOPE)
  set(DC_DEP_${up}_PC "${pc}" PARENT_SCOPE)
  set(DC_DEP_${up}_LIB "${lib}" PARENT_SCOPE)
endfunction()
