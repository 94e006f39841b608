#!/usr/bin/env bash
# Installs what the tests need to run instead of printing SKIP: mkfs.xfs, mkfs.btrfs, bindfs and
# the FUSE tools for tests/faults_fs.rs, strace for tests/tokio_faults.rs (Debian/Ubuntu). Loop devices, overlayfs and the private mount
# namespaces need root with CAP_SYS_ADMIN; without them the tests skip with a reason.
# Best effort: a machine without apt-get (or without network) keeps the skips.
set -uo pipefail
if ! command -v apt-get >/dev/null 2>&1; then
    echo "fs-setup: no apt-get; filesystem tests will SKIP"
    exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
        echo "fs-setup: not root and no sudo; filesystem tests will SKIP"
        exit 0
    fi
fi
export DEBIAN_FRONTEND=noninteractive
if ! { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq xfsprogs btrfs-progs bindfs fuse3 e2fsprogs strace; }; then
    echo "fs-setup: package installation failed; filesystem tests will SKIP"
    exit 0
fi
for tool in mkfs.xfs mkfs.btrfs bindfs fusermount strace; do
    printf 'fs-setup: %-11s %s\n' "$tool" "$(command -v "$tool" || echo missing)"
done
