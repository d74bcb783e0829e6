#!/usr/bin/env bash
# Starts a local Urbis cluster: N `urbis serve` nodes on this machine's PostgreSQL and NATS
# (JetStream), with nginx (Debian's package) in front as the load balancer.
#
#   ops/cluster/start.sh N            start N nodes (default 2) and nginx
#   ops/cluster/start.sh stop         stop what the last start left running
#
# Environment (all optional):
#   URBIS_BIN        the binary (default: target/release/urbis, else target/debug/urbis)
#   URBIS_DB         PostgreSQL URL (default postgres://postgres@127.0.0.1:5432/urbis_cluster;
#                    the database is created when missing)
#   URBIS_NATS_URL   NATS with JetStream (default nats://127.0.0.1:4222)
#   URBIS_CITY       the city's short name in subjects (default city)
#   CLUSTER_DIR      where logs, pid files and nginx's configuration go (default /tmp/urbis-cluster)
#   CLUSTER_PORT     nginx's port (default 8080); node k listens on CLUSTER_PORT + k
#   URBIS_ADMIN_PASSWORD  the admin's password on an empty database (default: generated, printed)
# Prints `cluster ready on http://127.0.0.1:PORT` once nginx and every node answer /readyz.
set -euo pipefail
cd "$(dirname "$0")/../.."

dir="${CLUSTER_DIR:-/tmp/urbis-cluster}"
port="${CLUSTER_PORT:-8080}"

stop_all() {
  if [ -f "$dir/nginx.pid" ]; then
    kill "$(cat "$dir/nginx.pid")" 2>/dev/null || true
    rm -f "$dir/nginx.pid"
  fi
  for pidfile in "$dir"/node*.pid; do
    [ -e "$pidfile" ] || continue
    kill "$(cat "$pidfile")" 2>/dev/null || true
    rm -f "$pidfile"
  done
}

if [ "${1:-}" = "stop" ]; then
  stop_all
  echo "cluster stopped"
  exit 0
fi

n="${1:-2}"
if ! [[ "$n" =~ ^[1-9][0-9]?$ ]]; then
  echo "usage: $0 N (1-99) | stop" >&2
  exit 2
fi

bin="${URBIS_BIN:-}"
if [ -z "$bin" ]; then
  target="${CARGO_TARGET_DIR:-$PWD/target}"
  for candidate in "$target/release/urbis" "$target/debug/urbis"; do
    if [ -x "$candidate" ]; then bin="$candidate"; break; fi
  done
fi
if [ -z "$bin" ] || [ ! -x "$bin" ]; then
  echo "no urbis binary: build one (cargo build --release -p urbis-cli) or set URBIS_BIN" >&2
  exit 1
fi

# nginx from Debian's package, installed the way .ci/run installs mosquitto.
nginx_bin="$(command -v nginx || true)"
if [ -z "$nginx_bin" ] && [ -x /usr/sbin/nginx ]; then nginx_bin=/usr/sbin/nginx; fi
if [ -z "$nginx_bin" ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends nginx \
    || { apt-get update && apt-get install -y --no-install-recommends nginx; }
  nginx_bin="$(command -v nginx || echo /usr/sbin/nginx)"
fi

db="${URBIS_DB:-postgres://postgres@127.0.0.1:5432/urbis_cluster}"
nats="${URBIS_NATS_URL:-nats://127.0.0.1:4222}"
city="${URBIS_CITY:-city}"
password="${URBIS_ADMIN_PASSWORD:-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')}"

mkdir -p "$dir"
stop_all

# The database, created when missing (the nodes migrate it).
dbname="${db##*/}"
server="${db%/*}"
if command -v psql >/dev/null 2>&1; then
  if ! psql "$server/postgres" -tAc "SELECT 1 FROM pg_database WHERE datname = '$dbname'" | grep -q 1; then
    psql "$server/postgres" -qc "CREATE DATABASE \"$dbname\"" >/dev/null
  fi
fi

wait_ready() {
  local url="$1"
  for _ in $(seq 1 150); do
    if curl -fsS -o /dev/null "$url/readyz" 2>/dev/null; then return 0; fi
    sleep 0.2
  done
  echo "no answer from $url/readyz" >&2
  return 1
}

start_node() {
  local k="$1"
  local node_port=$((port + k))
  URBIS_ADMIN_PASSWORD="$password" "$bin" serve \
    --db "$db" --listen "127.0.0.1:$node_port" \
    --nats-url "$nats" --node-id "node$k" --city "$city" \
    >"$dir/node$k.out" 2>"$dir/node$k.log" &
  echo $! >"$dir/node$k.pid"
}

# The first node alone, so that only one creates the admin on an empty database.
start_node 1
wait_ready "http://127.0.0.1:$((port + 1))"
for k in $(seq 2 "$n"); do start_node "$k"; done
for k in $(seq 2 "$n"); do wait_ready "http://127.0.0.1:$((port + k))"; done

upstreams=""
for k in $(seq 1 "$n"); do
  upstreams="$upstreams        server 127.0.0.1:$((port + k)) max_fails=1 fail_timeout=2s;
"
done
cat >"$dir/nginx.conf" <<CONF
# Written by ops/cluster/start.sh: nginx in front of $n Urbis nodes.
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/nginx-error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    # Nothing is buffered to disk (the workers may not write into this directory).
    client_body_buffer_size 6m;
    proxy_max_temp_file_size 0;
    client_body_temp_path $dir/nginx-body;
    proxy_temp_path $dir/nginx-proxy;
    fastcgi_temp_path $dir/nginx-fastcgi;
    uwsgi_temp_path $dir/nginx-uwsgi;
    scgi_temp_path $dir/nginx-scgi;
    upstream urbis {
        least_conn;
$upstreams        keepalive 64;
    }
    server {
        listen 127.0.0.1:$port;
        client_max_body_size 6m;
        # Metrics are for the scraper beside each node, never through the balancer.
        location = /metrics { return 404; }
        # The live feed: no buffering, long reads.
        location = /api/v1/events {
            proxy_pass http://urbis;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
            proxy_read_timeout 1h;
        }
        location / {
            proxy_pass http://urbis;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header X-Forwarded-For \$remote_addr;
            # A node that died: GETs go on to the next node; nginx never repeats a POST, which
            # clients retry with the same Idempotency-Key.
            proxy_next_upstream error timeout http_502 http_503;
        }
    }
}
CONF
"$nginx_bin" -c "$dir/nginx.conf" -p "$dir"
wait_ready "http://127.0.0.1:$port"
if [ -z "${URBIS_ADMIN_PASSWORD:-}" ]; then
  echo "admin password (on a new database): $password"
fi
echo "cluster ready on http://127.0.0.1:$port ($n nodes, logs in $dir)"
