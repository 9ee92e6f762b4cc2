#!/usr/bin/env bash
# Build, without any container registry, the images the Docker backend needs:
#
#   concert-chaos/debian     Debian bookworm made with debootstrap (the base of the rest)
#   concert-chaos/python     Debian's python3 (3.11) with python and pip on PATH
#   concert-chaos/postgres   Debian's PostgreSQL, behaving like the official image
#   concert-chaos/toxiproxy  the harness's Toxiproxy-compatible proxy, from a wheel
#   concert-chaos/booking    stack/booking/Dockerfile on the Python image above
#
# Each tag ends with a hash of the image's inputs, so an image that already exists is
# reused and a changed input builds a new one. Python packages come from a wheelhouse
# made on the host with `pip wheel` (pip inside containers cannot verify TLS here),
# cached under $CACHE_DIR. Usage:
#
#   stack/images/build.sh [ENV_FILE]
#
# writes `export HARNESS_IMAGE_POSTGRES=...` (and _TOXIPROXY, _BOOKING) to ENV_FILE
# (default: stdout) for `source`.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
IMAGES="$ROOT/stack/images"
BOOKING="$ROOT/stack/booking"
CACHE_DIR="${CONCERT_CHAOS_CACHE:-/var/cache/concert-chaos-harness}"
# The wheelhouse is made by the host's pip for the images' Python: both must be 3.11.
PYTHON="${PYTHON:-$(command -v python3.11 || echo python3)}"
SUITE=bookworm
ENV_FILE="${1:-/dev/stdout}"

export DOCKER_BUILDKIT=0  # the classic builder: no buildx plugin needed, works offline

say() { echo "== images: $*" >&2; }

# A short hash of files and strings: what an image is made of.
inputs_hash() {
    local item
    for item in "$@"; do
        if [ -d "$item" ]; then
            (cd "$item" && find . -type f ! -path '*/__pycache__/*' ! -name '*.pyc' -print0 \
                | LC_ALL=C sort -z | xargs -0 sha256sum)
        elif [ -f "$item" ]; then
            sha256sum < "$item"
        else
            echo "$item"
        fi
    done | sha256sum | cut -c1-12
}

have_image() { docker image inspect "$1" >/dev/null 2>&1; }

# The mirror the machine's own apt uses for Debian (deb822 or one-line sources).
debian_mirror() {
    local uri
    uri=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' \
        | grep -v -- '-security' | head -n1 || true)
    if [ -z "$uri" ]; then
        uri=$(grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
            | awk '{print $2}' | grep -v -- '-security' | head -n1 || true)
    fi
    echo "${uri:-http://deb.debian.org/debian}"
}

build_base() {
    local tag="concert-chaos/debian:$SUITE-$(inputs_hash "$SUITE minbase policy-rc.d v1")"
    if have_image "$tag"; then say "reusing $tag"; echo "$tag"; return; fi
    command -v debootstrap >/dev/null || apt-get install -y -q debootstrap >&2
    local dir mirror
    dir=$(mktemp -d /var/tmp/concert-chaos-rootfs.XXXXXX)
    mirror=$(debian_mirror)
    say "debootstrap $SUITE from $mirror"
    debootstrap --variant=minbase "$SUITE" "$dir" "$mirror" >&2
    # As in Debian's official images: services are never started by package installs.
    printf '#!/bin/sh\nexit 101\n' > "$dir/usr/sbin/policy-rc.d"
    chmod +x "$dir/usr/sbin/policy-rc.d"
    rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
    tar -C "$dir" -c . | docker import - "$tag" >&2
    rm -rf "$dir"
    echo "$tag"
}

# docker build TAG BASE CONTEXT_TAR_COMMAND...: the context comes as a tar on stdin.
build_from_tar() {
    local tag="$1" base="$2"
    shift 2
    say "building $tag"
    "$@" | docker build --network host -q -t "$tag" --build-arg "BASE_IMAGE=$base" - >&2
}

build_dir_image() {  # NAME BASE: stack/images/NAME as the context
    local name="$1" base="$2"
    local tag="concert-chaos/$name:$(inputs_hash "$IMAGES/$name" "$base")"
    if have_image "$tag"; then say "reusing $tag"; else
        build_from_tar "$tag" "$base" tar -C "$IMAGES/$name" -c .
    fi
    echo "$tag"
}

# Wheels for the booking service and the proxy image, made once per requirements.
wheelhouse() {
    local dir="$CACHE_DIR/wheels-$(inputs_hash "$BOOKING/requirements.txt" "aiohttp uvloop")"
    if [ ! -f "$dir/.complete" ]; then
        say "pip wheel into $dir"
        rm -rf "$dir" && mkdir -p "$dir/wheelhouse"
        "$PYTHON" -m pip wheel -q -w "$dir/wheelhouse" -r "$BOOKING/requirements.txt" \
            aiohttp uvloop >&2
        touch "$dir/.complete"
    fi
    echo "$dir"
}

build_toxiproxy() {  # PYTHON_TAG WHEELS_DIR
    local base="$1" wheels="$2"
    local tag="concert-chaos/toxiproxy:$(inputs_hash "$IMAGES/toxiproxy" "$ROOT/harness/proxy" \
        "$ROOT/harness/__init__.py" "$ROOT/pyproject.toml" "$base" "$wheels")"
    if have_image "$tag"; then say "reusing $tag"; echo "$tag"; return; fi
    local tmp
    tmp=$(mktemp -d)
    cp -r "$wheels/wheelhouse" "$tmp/wheelhouse"
    "$PYTHON" -m pip wheel -q --no-deps -w "$tmp/wheelhouse" "$ROOT" >&2
    build_from_tar "$tag" "$base" tar -C "$IMAGES/toxiproxy" -c Dockerfile -C "$tmp" wheelhouse
    rm -rf "$tmp"
    echo "$tag"
}

build_booking() {  # PYTHON_TAG WHEELS_DIR
    local base="$1" wheels="$2"
    local tag="concert-chaos/booking:$(inputs_hash "$BOOKING/Dockerfile" \
        "$BOOKING/requirements.txt" "$BOOKING/booking" "$base" "$wheels")"
    if have_image "$tag"; then say "reusing $tag"; echo "$tag"; return; fi
    build_from_tar "$tag" "$base" tar -C "$BOOKING" --exclude=__pycache__ \
        -c Dockerfile requirements.txt booking -C "$wheels" wheelhouse
    echo "$tag"
}

main() {
    local started=$SECONDS base python postgres wheels toxiproxy booking
    docker info >/dev/null
    if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
        echo "build.sh: $PYTHON is not Python 3.11, the images' Python (Debian bookworm);" \
            "set PYTHON to a 3.11 interpreter" >&2
        exit 1
    fi
    mkdir -p "$CACHE_DIR"
    local out wheels_pid python_pid
    out=$(mktemp -d)
    # Independent steps overlap: most of a cold build waits on the network.
    wheelhouse > "$out/wheels" &
    wheels_pid=$!
    base=$(build_base)
    build_dir_image python "$base" > "$out/python" &
    python_pid=$!
    postgres=$(build_dir_image postgres "$base")
    wait "$python_pid"
    wait "$wheels_pid"
    python=$(cat "$out/python")
    wheels=$(cat "$out/wheels")
    rm -rf "$out"
    toxiproxy=$(build_toxiproxy "$python" "$wheels")
    booking=$(build_booking "$python" "$wheels")
    {
        echo "export HARNESS_IMAGE_POSTGRES=$postgres"
        echo "export HARNESS_IMAGE_TOXIPROXY=$toxiproxy"
        echo "export HARNESS_IMAGE_BOOKING=$booking"
    } > "$ENV_FILE"
    say "ready in $((SECONDS - started))s: $postgres $toxiproxy $booking"
}

main
