#!/usr/bin/env bash
# All benchmarks, each printing its peers side by side: `make bench`, or `make bench BENCH=image-pull`.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
"$here/../scripts/install-deps.sh" --test
for b in ${BENCH:-runtime-startup image-pull image-build docker-run vm-boot}; do
    "$here/$b.sh"
done
