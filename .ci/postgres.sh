#!/usr/bin/env bash
# A PostgreSQL for the shared-tracking test: Debian's server on 127.0.0.1:5432 with a role
# `goldilocks` (password `goldilocks`, may create databases). The test makes and drops its own
# databases. Idempotent; run as root or with sudo.
set -euo pipefail
SUDO=$([ "$(id -u)" = 0 ] && echo "" || echo sudo)
AS_POSTGRES=$([ "$(id -u)" = 0 ] && echo "runuser -u postgres --" || echo "sudo -u postgres")
if ! command -v pg_ctlcluster >/dev/null; then
    $SUDO apt-get install -y -q postgresql >/dev/null \
        || { $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q postgresql >/dev/null; }
fi
version=$(ls /usr/lib/postgresql | sort -n | tail -1)
if ! pg_lsclusters -h | grep -q "^$version main"; then
    $SUDO pg_createcluster "$version" main >/dev/null
fi
$SUDO pg_ctlcluster "$version" main start >/dev/null 2>&1 || true
$AS_POSTGRES psql -q -v ON_ERROR_STOP=1 -c "DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'goldilocks') THEN
    CREATE ROLE goldilocks LOGIN PASSWORD 'goldilocks' CREATEDB;
  END IF; END \$\$;"
