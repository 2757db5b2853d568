# Sourced by the README's commands: installs what is missing on a Debian-like machine, or stops with a message
# that says exactly what to install.
set -euo pipefail

die() { echo "setup: $*" >&2; exit 1; }

command -v cargo >/dev/null 2>&1 && command -v rustup >/dev/null 2>&1 \
  || die "Rust is not installed. Install rustup (https://rustup.rs), open a new shell, and run this again."

# rust-toolchain.toml names the channel; make sure it and the wasm32 target are there.
if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  echo "setup: adding the wasm32-unknown-unknown target (manuscripts compile to it)" >&2
  rustup target add wasm32-unknown-unknown >/dev/null \
    || die "could not add the wasm32 target: run 'rustup target add wasm32-unknown-unknown'"
fi
for component in rustfmt clippy; do
  if ! rustup component list --installed 2>/dev/null | grep -q "^$component"; then
    rustup component add "$component" >/dev/null 2>&1 || echo "setup: warning: could not add $component" >&2
  fi
done

# RocksDB's Rust bindings are generated with libclang, and its C++ is compiled with a C++ compiler.
need_pkgs=()
command -v clang >/dev/null 2>&1 || need_pkgs+=(clang)
# The bindings' build (clang-sys) loads an unversioned libclang.so or libclang-<version>.so, which only the -dev
# package installs: libclang1-N's libclang.so.1, or libclang-cpp (often there already, with LLVM), do not count.
has_libclang() {
  [ -n "${LIBCLANG_PATH:-}" ] && return 0
  local f
  for f in /usr/lib/llvm-*/lib/libclang.so /usr/lib/llvm-*/lib/libclang-[0-9]*.so \
    /usr/lib/*-linux-gnu/libclang.so /usr/lib/*-linux-gnu/libclang-[0-9]*.so /usr/local/lib/libclang.so; do
    [ -e "$f" ] && return 0
  done
  return 1
}
has_libclang || need_pkgs+=(libclang-dev)
command -v c++ >/dev/null 2>&1 || need_pkgs+=(g++)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "setup: installing ${need_pkgs[*]} (needed to build RocksDB)" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_pkgs[@]}" >/dev/null) \
      || die "apt-get could not install ${need_pkgs[*]}: install them by hand and run this again"
  elif command -v apt-get >/dev/null 2>&1 && command -v sudo >/dev/null 2>&1; then
    echo "setup: installing ${need_pkgs[*]} with sudo (needed to build RocksDB)" >&2
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_pkgs[@]}" >/dev/null \
      || die "could not install ${need_pkgs[*]}: run 'sudo apt-get install ${need_pkgs[*]}'"
  else
    die "missing ${need_pkgs[*]}: install clang and libclang (Debian: 'apt-get install clang libclang-dev') and run this again"
  fi
fi

# Node.js and npm run examples/ethereum: the hardhat node the Ethereum tests start, and the generator of the example
# archive. Debian 12's nodejs (18) works; hardhat prints a warning below 20.
need_node=()
command -v node >/dev/null 2>&1 || need_node+=(nodejs)
command -v npm >/dev/null 2>&1 || need_node+=(npm)
if [ ${#need_node[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "setup: installing ${need_node[*]} (the Ethereum examples and tests run hardhat)" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_node[@]}" >/dev/null) \
      || die "apt-get could not install ${need_node[*]}: install Node.js 18 or newer with npm and run this again"
  else
    die "missing ${need_node[*]}: run 'sudo apt-get install -y nodejs npm' (or install Node.js 18 or newer with npm) and run this again"
  fi
fi
node_major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$node_major" -ge 18 ] \
  || die "Node.js $(node --version) is too old for hardhat: install Node.js 18 or newer and run this again"

# The PostgreSQL sink's tests start a real server from Debian's package (initdb, pg_ctl and postgres under
# /usr/lib/postgresql/<version>/bin) in a temporary directory.
has_postgres() {
  local d
  for d in "$(pg_config --bindir 2>/dev/null)" /usr/lib/postgresql/*/bin; do
    [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ] && return 0
  done
  return 1
}
if ! has_postgres; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "setup: installing postgresql (the sink tests run a PostgreSQL server)" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) \
      || die "apt-get could not install postgresql: run 'apt-get install postgresql' and run this again"
  else
    die "missing the PostgreSQL server: run 'sudo apt-get install -y postgresql' and run this again"
  fi
fi

# npm writes node_modules/.package-lock.json on every install: older than the lock file means the lock changed.
eth_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/examples/ethereum"
if [ ! -f "$eth_dir/node_modules/.package-lock.json" ] \
  || [ "$eth_dir/package-lock.json" -nt "$eth_dir/node_modules/.package-lock.json" ]; then
  echo "setup: installing examples/ethereum's npm packages (npm ci)" >&2
  (cd "$eth_dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) \
    || die "npm ci failed in examples/ethereum: run 'cd examples/ethereum && npm ci' to see why, then run this again"
fi
