# Shared by scripts/up and scripts/test. Sourced, not run.

say() { printf '==> %s\n' "$*"; }

die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

require_root() {
  [ "$(id -u)" -eq 0 ] || die "run as root (it installs Debian packages and, later, runs containers)"
}

# What the cluster and its build need from Debian, as the issues bring them:
# containerd, runc, the CNI plugins and iptables run pods; busybox-static is the test images'
# content; docker-registry (with apache2-utils' htpasswd) is the local registry the pull tests
# use; etcd-server is the external store (tests and HA);
# protobuf-compiler builds the etcd client's gRPC code; python3-venv holds the Python client
# for its end-to-end tests.
PACKAGES=(
  ca-certificates build-essential pkg-config protobuf-compiler python3 python3-venv
  containerd runc containernetworking-plugins iptables busybox-static etcd-server
  docker-registry apache2-utils
)

install_packages() {
  local missing=() p
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    say "Debian packages already installed (${PACKAGES[*]})"
    return
  fi
  say "installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  # Gantry starts its own etcd where it needs one; a distribution service left running
  # would only hold port 2379 and memory.
  if [[ " ${missing[*]} " == *" etcd-server "* ]] && command -v systemctl >/dev/null \
      && systemctl is-active --quiet etcd 2>/dev/null; then
    say "stopping the etcd service Debian started (Gantry runs its own)"
    systemctl disable --now etcd >/dev/null 2>&1 || true
  fi
}

require_cargo() {
  command -v cargo >/dev/null \
    || die "cargo not found: install Rust with rustup (the toolchain is pinned in rust-toolchain.toml)"
  say "using $(cargo --version)"
}
