#!/usr/bin/env bash
# Set up callbot from scratch: Debian packages, a virtual environment in .venv/,
# the speech models. Safe to re-run (each step is skipped when already done).
#   scripts/setup.sh          what `callbot serve` needs (records in SQLite)
#   scripts/setup.sh --test   plus what the test suite needs (pytest, Chromium, PostgreSQL,
#                             the postgres and loadtest extras)
set -euo pipefail
cd "$(dirname "$0")/.."

with_tests=0
[[ "${1:-}" == "--test" ]] && with_tests=1

# espeak-ng: last-resort voice (never silence); Asterisk's French and English
# sound files: real recorded speech for the simulator, tests and load tests.
# Tests also need Chromium (browser pages), PostgreSQL (the records store) and Kamailio
# (`kamailio -c` checks the dispatcher example of deploy/kamailio).
debs=(espeak-ng asterisk-core-sounds-fr-wav asterisk-core-sounds-fr asterisk-core-sounds-en-wav)
(( with_tests )) && debs+=(chromium postgresql kamailio)
missing=()
for deb in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$deb" 2>/dev/null | grep -q "install ok installed" || missing+=("$deb")
done
if (( ${#missing[@]} )); then
  echo "==> installing Debian packages: ${missing[*]}"
  sudo=""; [[ $(id -u) -ne 0 ]] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

python=${PYTHON:-python3}
if [[ ! -x .venv/bin/python ]]; then
  echo "==> creating .venv"
  "$python" -m venv .venv
fi
extras="models"
(( with_tests )) && extras="models,postgres,loadtest,test"
echo "==> installing callbot[$extras] into .venv"
.venv/bin/pip install -q --disable-pip-version-check -e ".[$extras]"

echo "==> provisioning models"
.venv/bin/callbot models pull
.venv/bin/callbot voices pull en_US-joe-medium
# The default (French) dialplan's voice: from the hub when it answers, sha256-checked.
# Optional: without it French is spoken by espeak-ng (callbot warns at start-up).
if ! .venv/bin/callbot voices pull fr_FR-siwis-medium 2>/dev/null; then
  echo "==> fr_FR-siwis-medium not installed (model hub unreachable): French dialplans"
  echo "    will speak with espeak-ng. Later: .venv/bin/callbot voices pull fr_FR-siwis-medium"
fi
echo "==> ready: .venv/bin/callbot serve"
