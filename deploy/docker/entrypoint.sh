#!/bin/sh
# The containers' entrypoint (compose.yaml): before `serve`, create this node's home if
# it has none yet, then run worker-manager with the arguments given. Idempotent: once
# WM_HOME holds a home (its config.toml), it only runs the command. Any command other
# than `serve` runs as is (`migrate`, `info`, `export`, `import`, ...).
#
# The first node of a chain: `init` with
#   WM_CHAIN_ID       the chain id (e.g. worker-manager-1)
#   WM_ADMIN          the contract admin's secret1… address
#   WM_DATABASE_URL   postgresql+psycopg://user:password@host/db (empty: SQLite in the home)
# Each further node of that chain: `join` when WM_NODE_SEED_FILE is set, with
#   WM_NODE_SEED_FILE secrets/node.seed of a home of the chain (every node needs the same)
#   WM_DATABASE_URL   the chain's database
# The home is written for a container: serve listens on all its interfaces (0.0.0.0).
set -eu

home="${WM_HOME:?WM_HOME must name the node home}"

if [ "${1:-}" = "serve" ] && [ ! -f "$home/config.toml" ]; then
    if [ -n "${WM_NODE_SEED_FILE:-}" ]; then
        echo "worker-manager-entrypoint: no home at $home yet: joining the chain in the database" >&2
        worker-manager join --home "$home" --host 0.0.0.0 \
            --database-url "${WM_DATABASE_URL:?join needs WM_DATABASE_URL, the chain database}" \
            --node-seed-file "$WM_NODE_SEED_FILE"
    else
        echo "worker-manager-entrypoint: no home at $home yet: creating the chain" >&2
        worker-manager init --home "$home" --host 0.0.0.0 \
            --chain-id "${WM_CHAIN_ID:?init needs WM_CHAIN_ID, the chain id}" \
            --admin "${WM_ADMIN:?init needs WM_ADMIN, the admin secret1 address}" \
            --database-url "${WM_DATABASE_URL:-}"
    fi
fi

exec worker-manager "$@"
