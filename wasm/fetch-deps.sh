#!/usr/bin/env bash
# Fetches the lz4 and zlib sources the WebAssembly build compiles.
#
#   wasm/fetch-deps.sh DIR     (the wasm preset's configure runs it)
#
# Unpacks Debian's source packages into DIR/lz4/ and DIR/zlib/, which
# wasm/deps.cmake compiles with emcc. The rest of the wasm build is CMake's.
#
# WHERE THE SOURCES COME FROM
# Debian's archive, and nowhere else: `apt-get source` through a private
# sources list, lists directory and cache under DIR/.apt/, so the system's
# apt configuration is never changed (its settings, such as a proxy, still
# apply). The mirror is the one the system's sources name for bookworm (read
# only), so a machine that reaches Debian through a local mirror fetches
# from it; PARLEY_DEBIAN_MIRROR overrides it, deb.debian.org is the last
# resort. The deb-src line names the archive signing keyring, so only
# Debian-signed indices are accepted. Emscripten's ports
# (-sUSE_ZLIB...) are not used: they download from outside Debian's archive.
#
# WHICH VERSIONS
# Those of the installed -dev packages, so the native and wasm builds compile
# the same library code. Each unpacked tree records the version it was asked
# for in its .complete file; while that matches, a run does nothing and needs
# no network.
set -euo pipefail

dir=${1:?usage: wasm/fetch-deps.sh DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

say() { echo "wasm: $*" >&2; }
die() { say "error: $*"; exit 1; }

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

mirror=${PARLEY_DEBIAN_MIRROR:-$(system_mirror)}
mirror=${mirror:-http://deb.debian.org/debian}
apt_dir=$dir/.apt
apt=(apt-get -q
     -o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=-
     -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
     # The download directory is ours, not the _apt user's; say so instead of
     # letting apt warn about it.
     -o APT::Sandbox::User=root)

# Writes the private sources list and fetches its index, once per run.
update_index() {
    [[ -e $apt_dir/lists/.updated ]] && return
    local keyring=/usr/share/keyrings/debian-archive-keyring.gpg
    mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
    if [[ -r $keyring ]]; then
        echo "deb-src [signed-by=$keyring] $mirror bookworm main" >"$apt_dir/sources.list"
    else
        echo "deb-src $mirror bookworm main" >"$apt_dir/sources.list"
    fi
    say "fetching the Debian source index from $mirror"
    "${apt[@]}" update >&2 || die "apt-get update with the private sources list failed"
    touch "$apt_dir/lists/.updated"
}

# Fetches and unpacks one source package into $dir/<package>/ unless the
# version there is the one wanted.
fetch_source() {
    local package=$1 dev_package=$2 version pin=()
    version=$(dpkg-query -W -f='${source:Version}' "$dev_package" 2>/dev/null || true)
    local want=${version:-any}
    [[ -e $dir/$package/.complete && $(cat "$dir/$package/.complete") == "$want" ]] && return
    command -v apt-get >/dev/null || die "apt-get not found: lz4 and zlib come from Debian source packages"
    [[ -n $version ]] && pin=("=$version")
    update_index

    say "fetching Debian source package $package${pin[*]}"
    local tmp=$dir/.$package.tmp
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
    rm -rf "${dir:?}/$package"
    mv "$tree" "$dir/$package"
    rm -rf "$tmp"
    echo "$want" >"$dir/$package/.complete"
}

fetch_source lz4 liblz4-dev
fetch_source zlib zlib1g-dev
# The private package lists are only needed to fetch; drop their 20 MB.
rm -rf "$apt_dir"
