#!/usr/bin/env bash
# Installs PostGIS for the local PostgreSQL (Debian 12, PostgreSQL 15) when it is missing,
# then enables the extension in the benchmark database.
# Called by `urbis bench-locate` before it loads data; safe to run again.
#
# Environment: PGHOST (default 127.0.0.1), PGPORT (5432), PGUSER (postgres), PGDATABASE (test).
set -euo pipefail

export PGHOST="${PGHOST:-127.0.0.1}"
export PGPORT="${PGPORT:-5432}"
export PGUSER="${PGUSER:-postgres}"
export PGDATABASE="${PGDATABASE:-test}"

enable() {
    psql -v ON_ERROR_STOP=1 -qAtc 'CREATE EXTENSION IF NOT EXISTS postgis' >/dev/null 2>&1
}

if enable; then
    echo "postgis: already available ($(psql -qAtc 'SELECT postgis_lib_version()'))"
    exit 0
fi

server_major="$(psql -qAtc 'SHOW server_version_num' | cut -c1-2)"
package="postgresql-${server_major}-postgis-3"
echo "postgis: extension missing, installing ${package} with apt-get"

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
    sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${package}" >/dev/null

if enable; then
    echo "postgis: installed ($(psql -qAtc 'SELECT postgis_lib_version()'))"
else
    echo "postgis: CREATE EXTENSION postgis still fails after installing ${package}" >&2
    psql -v ON_ERROR_STOP=1 -c 'CREATE EXTENSION IF NOT EXISTS postgis' >&2 || true
    exit 1
fi
