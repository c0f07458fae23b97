#!/usr/bin/env bash
# One setup for a fresh Debian 12 machine (CI, the Vagrant box, a developer's VM):
# system packages the suites drive, pnpm, dependencies, and the build. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then echo "setup.sh: run as root (it installs packages)" >&2; exit 1; fi

packages=(
  busybox-static      # the base image's rootfs
  runc crun           # peer runtimes, run beside berth-runtime in the runtime suite
  containerd docker.io podman  # consumers berth-runtime must work under (drop-in suite)
  tini                # the static init berthd binds in for `run --init`
  iptables iproute2 containernetworking-plugins  # CNI bridge networking for berthd
  docker-registry skopeo umoci  # a local registry and third-party image tools
  libseccomp2 libseccomp-dev gcc libc6-dev make  # seccomp and the runtime's C helper
  jq hyperfine util-linux procps psmisc git ca-certificates curl xz-utils zstd
  zsh                 # the berth CLI's zsh completion is tested in zsh itself
  python3             # tests send fds over SCM_RIGHTS from a python3 peer
)
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
# Debian starts the registry as a service; the tests start their own on other ports.
# The same for dockerd and containerd: the suites start their own on private dirs.
if command -v systemctl >/dev/null 2>&1; then
  for svc in docker-registry docker.socket docker containerd; do systemctl disable --now "$svc" >/dev/null 2>&1 || true; done
fi

# Node >= 20. Debian 12's own nodejs is 18, so a box without a new enough node (the
# Vagrant VM) gets Node 20 through `n`, which fetches the official build.
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
  npm i -g n >/dev/null && n 20 >/dev/null
  hash -r
fi
if ! command -v pnpm >/dev/null 2>&1 || ! pnpm --version | grep -q '^10\.'; then
  npm i -g pnpm@10 >/dev/null
fi
pnpm install --frozen-lockfile
pnpm build
