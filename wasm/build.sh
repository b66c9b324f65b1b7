#!/usr/bin/env bash
# Builds protocol/ to WebAssembly for the browser client.
#
#   wasm/build.sh     (make wasm runs it)
#
# Output, all under build/ (git-ignored); the server serves build/wasm/ at /wasm/:
#   build/wasm/parley_protocol.js    Emscripten's ES module factory (the glue)
#   build/wasm/parley_protocol.wasm  the protocol library, lz4 and zlib's crc32
#   build/wasm/parley.js             copy of wasm/parley.js, the API to import
#
# STEPS
# 1. lz4 and zlib sources come from Debian's source packages, fetched once with
#    `apt-get source` through a private sources list, lists directory and cache
#    under build/wasm-deps/apt/, so the system's apt configuration is never read
#    for sources or changed. The versions are those of the installed -dev
#    packages, so the native and wasm builds compile the same library code.
#    Emscripten's ports (-sUSE_ZLIB...) are not used: they download from
#    outside Debian's archive.
# 2. Their .c files are compiled with emcc into static archives.
# 3. protocol/*.cpp (the list in protocol/CMakeLists.txt) and wasm/bindings.cpp
#    are compiled with em++ and linked into the module.
#
# Every step is skipped when its outputs are newer than its inputs (compiler
# dependency files track headers) and the flags have not changed, so a second
# run does nothing. Only step 1 needs the network, and only Debian's archive.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=$root/build/wasm
work=$root/build/wasm-deps
export NODE_PATH=/usr/share/nodejs   # Debian's emcc runs acorn from here

say() { echo "wasm: $*" >&2; }
die() { say "error: $*"; exit 1; }

# ---- flags -------------------------------------------------------------------
# -O3 rather than -Oz: -Oz made encoding and decoding 3 to 10 times slower
# (lz4, the CRC and the codec suffer most) for 5 KB less gzip, and the whole
# download stays far below its 150 KB budget (docs/benchmarks.md). No exception support:
# the protocol reports errors as values (cereal's few `throw`s are in
# templates Parley never instantiates). RTTI stays on: cereal uses typeid.
opt=(-O3)
c_flags=("${opt[@]}" -DNDEBUG)
cxx_flags=("${opt[@]}" -std=c++20 -DNDEBUG -fno-exceptions
           -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion)
link_flags=("${opt[@]}" -fno-exceptions --bind
            # An ES module factory for pages and workers. Node runs it too when
            # given the .wasm bytes (parley.js reads them there): Emscripten
            # 3.1.6's own node support is CommonJS-only and breaks in an ES module.
            -sMODULARIZE=1 -sEXPORT_ES6=1 -sEXPORT_NAME=create_parley_protocol
            -sENVIRONMENT=web,worker
            # No files, no eval (it runs under a strict CSP), no longjmp; the
            # browsers that run this module all have TextDecoder.
            -sFILESYSTEM=0 -sDYNAMIC_EXECUTION=0 -sSUPPORT_LONGJMP=0 -sTEXTDECODER=2
            -sMALLOC=emmalloc
            # The largest packet is 1 MiB and decoding it needs a few copies;
            # the heap may grow up to 64 MiB and never further, so hostile
            # input cannot take the tab's memory with it.
            -sINITIAL_MEMORY=4MB -sALLOW_MEMORY_GROWTH=1 -sMAXIMUM_MEMORY=64MB
            -sTOTAL_STACK=256KB
            -sEXPORTED_FUNCTIONS=[] -sEXPORTED_RUNTIME_METHODS=[stackSave,stackRestore]
            -sINCOMING_MODULE_JS_API=[wasmBinary,locateFile,instantiateWasm,print,printErr])

# ---- incremental helpers -------------------------------------------------------

# True when `target` is missing or older than any of the other files.
stale() {
    local target=$1 dep
    shift
    [[ -e $target ]] || return 0
    for dep in "$@"; do [[ $dep -nt $target ]] && return 0; done
    return 1
}

# The files a compiler dependency file (-MMD) lists, one per line.
deps_of() {
    [[ -e $1 ]] && sed -e 's/^[^:]*://' -e 's/\\$//' "$1" | tr -s ' \t' '\n' | sed '/^$/d'
}

# Compiles one source unless its object is newer than it and every header it used.
compile() {
    local compiler=$1 src=$2 obj=$3
    shift 3
    if stale "$obj" "$src" $(deps_of "$obj.d") "$work/flags"; then
        say "compiling ${src#"$root"/}"
        mkdir -p "$(dirname "$obj")"
        "$compiler" "$@" -MMD -MF "$obj.d" -c "$src" -o "$obj"
    fi
}

# Rebuilds everything when the flags change, as a change of compiler options would.
record_flags() {
    mkdir -p "$work"
    local now
    now=$(printf '%s\n' "${c_flags[*]}" "${cxx_flags[*]}" "${link_flags[*]}" "$(emcc --version | head -1)")
    if [[ ! -e $work/flags || $(cat "$work/flags") != "$now" ]]; then
        printf '%s\n' "$now" > "$work/flags"
    fi
}

# ---- step 1: sources -----------------------------------------------------------

# The URI this machine's apt uses for Debian bookworm (one-line or deb822
# sources), so the fetch goes through the same mirror or proxy as apt does.
system_mirror() {
    local file line
    for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [[ -r $file ]] || continue
        while read -r line; do
            line=$(sed -E -e 's/#.*//' -e 's/\[[^]]*\]//' <<<"$line")
            read -r -a words <<<"$line"
            if [[ ${words[0]:-} == deb && ${words[2]:-} == bookworm ]]; then
                echo "${words[1]}"
                return
            fi
        done <"$file"
    done
    for file in /etc/apt/sources.list.d/*.sources; do
        [[ -r $file ]] || continue
        # deb822: blank-line separated stanzas of "Key: value" lines.
        awk 'BEGIN { RS = ""; FS = "\n" }
             {
               uri = ""; ok = 0
               for (i = 1; i <= NF; i++) {
                 if ($i ~ /^URIs:/) { split($i, w, /[ \t]+/); uri = w[2] }
                 if ($i ~ /^Suites:/ && $i ~ /[ \t]bookworm([ \t]|$)/) ok = 1
               }
               if (ok && uri != "") { print uri; exit }
             }' "$file"
    done | head -1
}

# Fetches and unpacks one source package into $work/src/<package>/ unless it
# is already there.
fetch_source() {
    local package=$1 dev_package=$2 version pin=()
    [[ -e $work/src/$package/.complete ]] && return
    command -v apt-get >/dev/null || die "apt-get not found: lz4 and zlib come from Debian source packages"
    version=$(dpkg-query -W -f='${source:Version}' "$dev_package" 2>/dev/null || true)
    [[ -n $version ]] && pin=("=$version")

    local apt_dir=$work/apt
    local mirror=${PARLEY_DEBIAN_MIRROR:-$(system_mirror)}
    mirror=${mirror:-http://deb.debian.org/debian}
    local keyring=/usr/share/keyrings/debian-archive-keyring.gpg
    mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
    if [[ -r $keyring ]]; then
        echo "deb-src [signed-by=$keyring] $mirror bookworm main" >"$apt_dir/sources.list"
    else
        echo "deb-src $mirror bookworm main" >"$apt_dir/sources.list"
    fi
    local apt=(apt-get -q
               -o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=-
               -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
               # The download directory is ours, not the _apt user's; say so
               # instead of letting apt warn about it.
               -o APT::Sandbox::User=root)
    if [[ ! -e $apt_dir/lists/.updated ]]; then
        say "fetching the Debian source index from $mirror"
        "${apt[@]}" update >&2 || die "apt-get update with the private sources list failed"
        touch "$apt_dir/lists/.updated"
    fi

    say "fetching Debian source package $package${pin[*]}"
    local tmp=$work/src/.$package.tmp
    rm -rf "$tmp" && mkdir -p "$tmp"
    if ! (cd "$tmp" && "${apt[@]}" source --only-source "$package${pin[*]}" >&2); then
        # The installed version may have left the archive; any bookworm
        # version of these libraries speaks the same formats.
        say "version ${version:-?} of $package is not in the archive; taking the current one"
        rm -rf "$tmp" && mkdir -p "$tmp"
        (cd "$tmp" && "${apt[@]}" source --only-source "$package" >&2) || die "apt-get source $package failed"
    fi
    local tree
    tree=$(find "$tmp" -mindepth 1 -maxdepth 1 -type d | head -1)
    [[ -n $tree ]] || die "apt-get source $package unpacked nothing"
    rm -rf "${work:?}/src/$package"
    mv "$tree" "$work/src/$package"
    rm -rf "$tmp"
    touch "$work/src/$package/.complete"
}

# ---- step 2: lz4 and zlib ------------------------------------------------------

# Compiles the given .c files of one library and archives them.
build_c_library() {
    local name=$1 dir=$2
    shift 2
    local objs=() f
    for f in "$@"; do
        local obj=$work/obj/$name/$(basename "$f" .c).o
        compile emcc "$dir/$f" "$obj" "${c_flags[@]}" -I"$dir"
        objs+=("$obj")
    done
    if stale "$work/lib$name.a" "${objs[@]}"; then
        rm -f "$work/lib$name.a"
        emar rcs "$work/lib$name.a" "${objs[@]}"
    fi
}

# ---- step 3: the module --------------------------------------------------------

protocol_sources() {
    # protocol/CMakeLists.txt is the one list of the library's sources.
    sed -n 's/^[[:space:]]*SRCS[[:space:]]\+//p' "$root/protocol/CMakeLists.txt" | tr -s ' ' '\n' | sed '/^$/d'
}

build_module() {
    local lz4=$work/src/lz4/lib zlib=$work/src/zlib
    # cereal is header-only and installed in /usr/include; point at it alone,
    # since -I/usr/include would put glibc's headers before Emscripten's.
    mkdir -p "$work/include"
    ln -sfn /usr/include/cereal "$work/include/cereal"
    local includes=(-I"$root" -isystem "$work/include" -isystem "$lz4" -isystem "$zlib")

    local objs=() src
    local sources
    sources=$(protocol_sources)
    [[ -n $sources ]] || die "no SRCS line in protocol/CMakeLists.txt"
    for src in $sources; do
        compile em++ "$root/protocol/$src" "$work/obj/protocol/${src%.cpp}.o" "${cxx_flags[@]}" "${includes[@]}"
        objs+=("$work/obj/protocol/${src%.cpp}.o")
    done
    compile em++ "$root/wasm/bindings.cpp" "$work/obj/wasm/bindings.o" "${cxx_flags[@]}" "${includes[@]}"
    objs+=("$work/obj/wasm/bindings.o")

    mkdir -p "$out"
    if stale "$out/parley_protocol.wasm" "${objs[@]}" "$work/liblz4.a" "$work/libz.a" "$work/flags" ||
        stale "$out/parley_protocol.js" "$out/parley_protocol.wasm"; then
        say "linking build/wasm/parley_protocol.{js,wasm}"
        # Linked beside the output and moved into place, so a server or test
        # reading build/wasm/ meanwhile never sees half a module.
        rm -rf "$work/link" && mkdir -p "$work/link"
        em++ "${link_flags[@]}" "${objs[@]}" "$work/liblz4.a" "$work/libz.a" -o "$work/link/parley_protocol.js"
        mv "$work/link/parley_protocol.wasm" "$out/parley_protocol.wasm"
        mv "$work/link/parley_protocol.js" "$out/parley_protocol.js"
    fi
    if stale "$out/parley.js" "$root/wasm/parley.js"; then
        cp "$root/wasm/parley.js" "$out/.parley.js" && mv "$out/.parley.js" "$out/parley.js"
    fi
}

report_sizes() {
    local f
    for f in parley_protocol.wasm parley_protocol.js parley.js; do
        say "$(printf '%-22s %7d bytes, %6d gzipped' "$f" "$(wc -c <"$out/$f")" "$(gzip -9 -c "$out/$f" | wc -c)")"
    done
}

main() {
    command -v emcc >/dev/null || die "emcc not found: run scripts/install-deps.sh"
    record_flags
    fetch_source lz4 liblz4-dev
    fetch_source zlib zlib1g-dev
    # The private package lists are only needed to fetch; drop their 20 MB.
    rm -rf "$work/apt"

    build_c_library lz4 "$work/src/lz4/lib" lz4.c lz4hc.c lz4frame.c xxhash.c
    # The compression core of zlib (the gz* files do file I/O and are not needed).
    build_c_library z "$work/src/zlib" adler32.c compress.c crc32.c deflate.c infback.c inffast.c \
        inflate.c inftrees.c trees.c uncompr.c zutil.c
    build_module
    [[ ${1:-} == --quiet ]] || report_sizes
}

main "$@"
