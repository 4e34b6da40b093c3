#!/usr/bin/env bash
# Makes a mediasoup-worker binary for mediasoup 3.12.16 available on this machine.
#
# mediasoup's own postinstall downloads a prebuilt worker from GitHub, which is
# not reachable here. Instead we build the worker from the npm package's own
# sources against Debian bookworm's system libraries (openssl, nlohmann-json,
# libuv, usrsctp, abseil), once per machine, and cache the result:
#
#   ${PARLEY_CACHE_DIR:-$HOME/.cache/parley}/mediasoup-worker-3.12.16-ossl/mediasoup-worker
#
# libsrtp2 is the exception: Debian builds it on NSS, whose cipher and HMAC calls
# take ~3x OpenSSL's instructions per packet (SRTP was 3/4 of the worker's
# work); SRTP runs once for every packet and every consumer. So libsrtp2 is built here too,
# statically and on OpenSSL, as mediasoup's own bundled build does, from Debian's
# source package of the same version (apt's ordinary source download). The
# "-ossl" flavour in the cache dir name makes a machine that holds the older
# NSS-linked build rebuild.
#
# Usage:
#   export MEDIASOUP_WORKER_BIN=$(bash scripts/mediasoup-worker.sh)
#
# The absolute path of the binary is the LAST line of stdout; all progress goes
# to stderr. A warm machine returns immediately (no apt, no npm, no build).
# If MEDIASOUP_WORKER_BIN already points at an executable, it is printed as-is.
set -euo pipefail

readonly MEDIASOUP_VERSION=3.12.16
# Changes whenever the build recipe changes what the binary does (see the header).
readonly FLAVOUR=ossl
# Debian packages the build needs (runtime libraries come with the -dev ones).
readonly APT_DEPS=(
  libssl-dev nlohmann-json3-dev libuv1-dev libusrsctp-dev libabsl-dev
  ninja-build pkg-config python3 python3-venv g++ make
)

log() { printf '[mediasoup-worker] %s\n' "$*" >&2; }
die() { printf '[mediasoup-worker] ERROR: %s\n' "$*" >&2; exit 1; }

# Executable and every shared library it needs resolves.
binary_ok() {
  [[ -f $1 && -x $1 ]] || return 1
  local libs
  libs=$(ldd "$1" 2>/dev/null) || return 1
  ! grep -q 'not found' <<<"$libs"
}

# 0. Caller already has a worker.
if [[ -n ${MEDIASOUP_WORKER_BIN:-} ]]; then
  if [[ -f $MEDIASOUP_WORKER_BIN && -x $MEDIASOUP_WORKER_BIN ]]; then
    case $MEDIASOUP_WORKER_BIN in
      /*) printf '%s\n' "$MEDIASOUP_WORKER_BIN" ;;
      *) printf '%s\n' "$PWD/$MEDIASOUP_WORKER_BIN" ;;
    esac
    exit 0
  fi
  log "MEDIASOUP_WORKER_BIN=$MEDIASOUP_WORKER_BIN is not an executable file; ignoring it"
fi

cache_root=${PARLEY_CACHE_DIR:-${HOME:?HOME is not set; set PARLEY_CACHE_DIR}/.cache/parley}
[[ $cache_root == /* ]] || cache_root=$PWD/$cache_root
readonly cache_dir=$cache_root/mediasoup-worker-$MEDIASOUP_VERSION-$FLAVOUR
readonly bin=$cache_dir/mediasoup-worker

# 1. Fast path: already built on this machine.
if binary_ok "$bin"; then
  printf '%s\n' "$bin"
  exit 0
fi

mkdir -p "$cache_dir" || die "cannot create cache dir $cache_dir"

# 2. One builder at a time; others wait and then reuse its result.
command -v flock >/dev/null || die "flock (util-linux) is required"
exec 9>"$cache_dir/.lock"
if ! flock -n 9; then
  log "another build holds $cache_dir/.lock; waiting for it..."
  flock 9
fi

# 3. System packages (only what is missing; apt-get update at most once).
pkg_installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}
missing=()
for p in "${APT_DEPS[@]}"; do pkg_installed "$p" || missing+=("$p"); done
if ((${#missing[@]})); then
  command -v apt-get >/dev/null || die "missing packages ${missing[*]} and no apt-get"
  sudo=()
  if ((EUID != 0)); then
    command -v sudo >/dev/null || die "missing packages ${missing[*]}; run as root or install them"
    sudo=(sudo)
  fi
  log "installing Debian packages: ${missing[*]}"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 \
    || die "apt-get update failed"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >&2 || die "apt-get install ${missing[*]} failed"
fi

# Another process may have finished the build while we waited, or the binary
# was only missing its runtime libraries.
if binary_ok "$bin"; then
  printf '%s\n' "$bin"
  exit 0
fi
if [[ -e $bin ]]; then
  log "cached $bin is unusable (ldd follows); rebuilding"
  ldd "$bin" >&2 || true
fi

start=$SECONDS

# 4. meson >= 1.1 in a venv inside the cache dir (Debian's 1.0.1 is too old).
venv=$cache_dir/venv
meson=$venv/bin/meson
meson_ok() {
  "$meson" --version >/dev/null 2>&1 \
    && "$venv/bin/python" -c 'import sys
from mesonbuild import coredata as c
v = tuple(int(x) for x in c.version.split(".")[:2])
sys.exit(0 if v >= (1, 1) else 1)' 2>/dev/null
}
if ! meson_ok; then
  log "creating meson venv in $venv"
  rm -rf "$venv"
  python3 -m venv "$venv" >&2 || die "python3 -m venv failed (is python3-venv installed?)"
  # --retries 0: the public index is unreachable here; pip's local indexes serve meson.
  "$venv/bin/pip" install -q --retries 0 'meson>=1.1' >&2 || die "pip install 'meson>=1.1' failed"
  meson_ok || die "meson in $venv is not usable or older than 1.1"
fi
log "using meson $("$meson" --version)"

# 5. Sources from the npm package itself.
work=$(mktemp -d "$cache_dir/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
log "fetching mediasoup@$MEDIASOUP_VERSION sources with npm pack"
(cd "$work" && npm pack --silent "mediasoup@$MEDIASOUP_VERSION" >&2) \
  || die "npm pack mediasoup@$MEDIASOUP_VERSION failed"
tar -xzf "$work/mediasoup-$MEDIASOUP_VERSION.tgz" -C "$work" || die "cannot unpack tarball"
src=$work/package/worker
[[ -f $src/meson.build ]] || die "$src/meson.build not found in the package"

# 5b. libsrtp2 on OpenSSL, static, from Debian's source package. apt reads the
#     deb-src index into a private state dir: the machine's apt setup is untouched.
log "building libsrtp2 on OpenSSL from Debian's source package"
apt_dir=$work/apt
mkdir -p "$apt_dir/parts" "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$work/srtp-src"
. /etc/os-release
cat >"$apt_dir/parts/debian-src.sources" <<EOF
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: ${VERSION_CODENAME:-bookworm}
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
apt_opts=(
  -o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$apt_dir/parts"
  -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
  -o APT::Sandbox::User=root
)
apt-get "${apt_opts[@]}" -qq update >&2 || die "apt-get update of the deb-src index failed"
(cd "$work/srtp-src" && apt-get "${apt_opts[@]}" -qq source --download-only libsrtp2 >&2) \
  || die "apt-get source libsrtp2 failed"
srtp_tar=$(ls "$work"/srtp-src/libsrtp2_*.orig.tar.gz 2>/dev/null | head -1)
[[ -n $srtp_tar ]] || die "no libsrtp2 source tarball in $work/srtp-src"
tar -xzf "$srtp_tar" -C "$work/srtp-src" || die "cannot unpack $srtp_tar"
srtp_dir=$(find "$work/srtp-src" -maxdepth 1 -type d -name 'libsrtp-*' | head -1)
[[ -n $srtp_dir ]] || die "unpacked libsrtp2 source not found"
srtp_prefix=$work/srtp
(cd "$srtp_dir" \
  && CFLAGS='-O2 -fPIC' ./configure --enable-openssl --disable-debug-logging \
    --prefix="$srtp_prefix" >&2 \
  && make -j"$(nproc)" libsrtp2.a >&2 \
  && make install >&2) || die "building libsrtp2 failed (see above)"
grep -q '^#define OPENSSL 1' "$srtp_dir/crypto/include/config.h" \
  || die "libsrtp2 was not configured on OpenSSL"
# Only the static library is installed, so -lsrtp2 links it into the worker; OpenSSL's
# libcrypto, which it calls, the worker links anyway. meson's dependency('libsrtp2') finds
# this build before the system's.
rm -f "$srtp_prefix"/lib/libsrtp2.so*
export PKG_CONFIG_PATH=$srtp_prefix/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}

# 6. Patch the build to use system libraries instead of subprojects, and drop
#    the catch2 test and fuzzer targets. Every edit must match exactly once.
log "patching worker/meson.build for system libraries"
python3 - "$src" <<'PY' || die "patching the mediasoup worker sources failed"
import pathlib, sys

src = pathlib.Path(sys.argv[1])

def edit(rel, old, new, count=1):
    p = src / rel
    text = p.read_text()
    n = text.count(old)
    if n != count:
        sys.exit(f"{rel}: expected {count} occurrence(s) of {old[:60]!r}..., found {n}")
    p.write_text(text.replace(old, new))

def cut(rel, start, end):
    """Replace text from `start` up to (not including) `end` with nothing; `end=None` = EOF."""
    p = src / rel
    text = p.read_text()
    if text.count(start) != 1:
        sys.exit(f"{rel}: expected exactly one {start!r}")
    i = text.index(start)
    j = len(text) if end is None else text.find(end, i)
    if j < 0:
        sys.exit(f"{rel}: {end!r} not found after {start!r}")
    return p, text, i, j

# --- worker/meson.build: subprojects -> dependency() ------------------------
p, text, i, j = cut("meson.build", "openssl_proj = subproject(",
                    "if host_machine.system() == 'windows'\n  wingetopt_proj")
p.write_text(text[:i] + """\
# System libraries (Debian bookworm) instead of wrap subprojects.
openssl_dep = dependency('openssl', version: '>= 1.1.1')
nlohmann_json_dep = dependency('nlohmann_json')
libuv_dep = dependency('libuv')
libsrtp2_dep = dependency('libsrtp2')
usrsctp_dep = dependency('usrsctp')
absl_strings_dep = dependency('absl_strings')
absl_types_dep = [
  dependency('absl_optional'),
  dependency('absl_variant'),
]
absl_container_dep = [
  dependency('absl_flat_hash_map'),
  dependency('absl_flat_hash_set'),
  dependency('absl_btree'),
  dependency('absl_memory'),
]

libwebrtc_include_directories = include_directories('include')
subdir('deps/libwebrtc')

dependencies = [
  absl_container_dep,
  openssl_dep,
  nlohmann_json_dep,
  libuv_dep,
  libsrtp2_dep,
  usrsctp_dep,
  libwebrtc_dep,
]

link_whole = [
  libwebrtc,
]

""" + text[j:])

# --- worker/meson.build: drop catch2 tests and the fuzzer (to EOF) -----------
p, text, i, j = cut("meson.build", "test_sources = [", None)
p.write_text(text[:i])

# --- worker/deps/libwebrtc/meson.build -------------------------------------
p, text, i, j = cut("deps/libwebrtc/meson.build",
                    "abseil_cpp_proj = subproject(", "local_include_directories =")
p.write_text(text[:i] + text[j:])
edit("deps/libwebrtc/meson.build", "openssl_proj.get_variable('openssl_dep')", "openssl_dep")
edit("deps/libwebrtc/meson.build", "nlohmann_json_proj.get_variable('nlohmann_json_dep')", "nlohmann_json_dep")
edit("deps/libwebrtc/meson.build", "libuv_proj.get_variable('libuv_dep')", "libuv_dep")
edit("deps/libwebrtc/meson.build", "abseil_cpp_proj.get_variable('absl_strings_dep')", "absl_strings_dep", 2)
edit("deps/libwebrtc/meson.build", "abseil_cpp_proj.get_variable('absl_types_dep')", "absl_types_dep", 2)

# --- libsrtp2 installs its headers in include/srtp2 -------------------------
edit("include/DepLibSRTP.hpp", "#include <srtp.h>", "#include <srtp2/srtp.h>")
edit("include/RTC/SrtpSession.hpp", "#include <srtp.h>", "#include <srtp2/srtp.h>")

# Nothing may still reach for a subproject (except the Windows-only wingetopt).
for rel in ("meson.build", "deps/libwebrtc/meson.build"):
    t = (src / rel).read_text().replace("subproject(\n    'wingetopt'", "")
    if "subproject(" in t or "_proj." in t.replace("wingetopt_proj.", ""):
        sys.exit(f"{rel}: still references a subproject after patching")
PY

# 7. Build (release). --wrap-mode=nofallback: never fall back to a wrap download.
log "building mediasoup-worker (takes ~4 min on 2 cores)"
"$meson" setup --buildtype=release -Db_ndebug=true --wrap-mode=nofallback \
  "$work/build" "$src" >&2 || die "meson setup failed (see above)"
ninja -C "$work/build" mediasoup-worker >&2 || die "ninja build failed (see above)"

built=$work/build/mediasoup-worker
binary_ok "$built" || { ldd "$built" >&2 || true; die "built binary is not runnable"; }
# The worker must carry the OpenSSL libsrtp2, not load Debian's NSS one.
if ldd "$built" | grep -q libsrtp2; then die "the worker links the shared libsrtp2"; fi

# 8. Atomic install into the cache (same filesystem: rename(2)).
install -m 0755 "$built" "$cache_dir/.mediasoup-worker.tmp.$$"
mv -f "$cache_dir/.mediasoup-worker.tmp.$$" "$bin"
{
  echo "mediasoup $MEDIASOUP_VERSION worker ($FLAVOUR), built $(date -u +%Y-%m-%dT%H:%M:%SZ) in $((SECONDS - start))s"
  echo "libsrtp2 $(basename "$srtp_tar") on OpenSSL, static"
  echo "meson $("$meson" --version); $(uname -srm)"
} >"$cache_dir/BUILD-INFO"
log "built $bin in $((SECONDS - start))s"

printf '%s\n' "$bin"
