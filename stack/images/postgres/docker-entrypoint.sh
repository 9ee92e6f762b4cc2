#!/bin/sh
# Initialise PGDATA on first start, then exec the server (or whatever command was given).
# Only the official image's password-less mode is supported: POSTGRES_HOST_AUTH_METHOD.
set -eu

case "${1:-postgres}" in
    -*) set -- postgres "$@" ;;
esac

if [ "${1:-}" = "postgres" ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
    auth="${POSTGRES_HOST_AUTH_METHOD:-}"
    if [ -z "$auth" ]; then
        echo "error: set POSTGRES_HOST_AUTH_METHOD (this image supports no password setup)" >&2
        exit 1
    fi
    mkdir -p "$PGDATA"
    initdb -D "$PGDATA" -U "${POSTGRES_USER:-postgres}" --auth="$auth" \
        --encoding=UTF8 --locale=C.UTF-8 --no-sync >/dev/null
    # As in the official image: any host may connect, and the server listens on every
    # address unless a `-c listen_addresses=...` argument narrows it.
    echo "host all all all $auth" >> "$PGDATA/pg_hba.conf"
    echo "listen_addresses = '*'" >> "$PGDATA/postgresql.conf"
    echo "PostgreSQL init process complete; ready for start up."
fi

exec "$@"
