#!/usr/bin/env bash
# The main job on this machine: bring up the built-in two-server lab, `pulumi up` the `lab`
# stack on it, and prove with iperf3 that MPTCP carries traffic on both links.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# shellcheck source=scripts/node-env.sh
source scripts/node-env.sh
bash test/lab/lab.sh up
bash scripts/pulumi.sh stack select lab 2>/dev/null || bash scripts/pulumi.sh stack init lab
bash scripts/pulumi.sh up --yes --stack lab --skip-preview
node dist/scripts/verify.js --stack lab --seconds "${VERIFY_SECONDS:-5}"
