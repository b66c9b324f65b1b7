#!/usr/bin/env bash
# Installs the browser tests' npm packages (playwright-core, pinned by
# package-lock.json) into tests/e2e/node_modules when they are missing or
# differ from the lock file. Chromium itself comes from Debian
# (scripts/install-deps.sh); playwright-core never downloads a browser.
set -euo pipefail
cd "$(dirname "$0")"

wanted=$(node -p "require('./package-lock.json').packages['node_modules/playwright-core'].version")
have=$(node -p "try { require('./node_modules/playwright-core/package.json').version } catch { '' }")
if [[ "$have" == "$wanted" ]]; then
  echo "e2e: playwright-core $have is installed"
else
  echo "e2e: installing playwright-core $wanted with npm ci"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
fi

if [[ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]]; then
  echo "e2e: ${CHROMIUM:-/usr/bin/chromium} is missing: run scripts/install-deps.sh (Debian package chromium)" >&2
  exit 1
fi
