#!/usr/bin/env bash
# Installs whatever Parley needs from Debian 12 that is not there yet.
# Idempotent; when everything is present it only runs dpkg queries.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  libboost1.81-dev libssl-dev libxml2-dev libcurl4-openssl-dev nlohmann-json3-dev
  libpq-dev libsqlite3-dev doctest-dev libtomlplusplus-dev libspdlog-dev libidn-dev libgmime-3.0-dev
  clang-14 libfuzzer-14-dev libclang-rt-14-dev
  openssl python3-slixmpp python3-aiohttp
)
# Test-only peers are pulled in by the test command (PARLEY_WITH_TEST_PEERS=1).
if [[ "${PARLEY_WITH_TEST_PEERS:-0}" == 1 ]]; then
  # Postfix (the MTA of the email tests), swaks and aiosmtpd (a mailbox the tests read).
  packages+=(postgresql kannel kannel-extras postfix swaks python3-aiosmtpd libnet-ssleay-perl libio-socket-ssl-perl)
  # Node.js and npm run the SMPP test peer (tests/e2e/smpp_peer); a Node.js from elsewhere
  # that is already on the PATH will do.
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    packages+=(nodejs npm)
  fi
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
# Postfix asks how to configure the system instance: not at all (the tests run their own).
echo "postfix postfix/main_mailer_type select No configuration" | "${sudo_cmd[@]}" debconf-set-selections
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
