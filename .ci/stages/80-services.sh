#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# CI stage 80: the examples against real services (docs/examples.md).
# Installs libcurl, libpq, the PostgreSQL server and python3, builds in
# build-ci-services, checks that CMake found them all (so the stage cannot
# pass by skipping), and runs the CTest tests labelled "services": the
# libcurl client against a scripted local HTTP server, and the libpq
# client against a PostgreSQL server started and restarted on loopback.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

dir=build-ci-services
bash .ci/install-deps libcurl4-openssl-dev libpq-dev postgresql python3
rm -rf "$dir"
cmake -S . -B "$dir"
cmake --build "$dir" -j2

registered=$(ctest --test-dir "$dir" -N -L services | sed -n 's/^Total Tests: //p')
if [[ $registered != 2 ]]; then
    echo "80-services: expected 2 tests labelled services, found" \
        "${registered:-none}: a dependency was not detected" >&2
    exit 1
fi
ctest --test-dir "$dir" -L services --output-on-failure
