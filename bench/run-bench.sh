#!/usr/bin/env bash
# All benchmarks, each printing its peers side by side.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
"$here/../scripts/install-deps.sh" --test
"$here/runtime-startup.sh"
