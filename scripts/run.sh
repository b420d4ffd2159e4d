#!/usr/bin/env bash
# Start Odoo 18 with portal_account and its demo data on http://localhost:$PORT.
#   PORTAL_ACCOUNT_DB  database name (default portal_account_demo); created
#                      with demo data when missing, updated when it exists
#   PORT               HTTP port (default 8069)
#   HTTP_INTERFACE     address to listen on (default 127.0.0.1)
#   PYTHON             interpreter that imports Odoo 18 (default python3)
# Extra arguments are passed to the Odoo server.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DB="${PORTAL_ACCOUNT_DB:-portal_account_demo}"
PORT="${PORT:-8069}"
HTTP_INTERFACE="${HTTP_INTERFACE:-127.0.0.1}"

preflight

read -r state demo <<<"$(module_state "$DB" portal_account --with-demo)"
case "$state" in
installed | "to upgrade")
    info "Updating portal_account in existing database '$DB'"
    odoo_cmd -c "$ODOO_CONF" -d "$DB" -u portal_account --stop-after-init ||
        die "updating portal_account in '$DB' failed (see the log above)."
    ;;
*)
    # payment_demo: Odoo's demo payment provider, so that the demo customer's
    # cards can be charged and new ones added (the addon does not depend on it).
    info "Installing portal_account (and payment_demo) with demo data into database '$DB'"
    odoo_cmd -c "$ODOO_CONF" -d "$DB" -i portal_account,payment_demo --stop-after-init ||
        die "installing portal_account in '$DB' failed (see the log above)."
    read -r state demo <<<"$(module_state "$DB" portal_account --with-demo)"
    [[ "$state" == installed ]] ||
        die "portal_account is '$state' in '$DB' after install (see the log above)."
    ;;
esac
if [[ "$demo" != demo ]]; then
    echo "WARNING: '$DB' was created without demo data; the logins below may not exist." \
        "Use another PORTAL_ACCOUNT_DB to get a fresh demo database." >&2
fi

cat <<MSG

  portal_account is running on http://localhost:$PORT (database '$DB')
    Backend (administrator):  admin / admin         http://localhost:$PORT/odoo
    Portal customer:          portal / portal       http://localhost:$PORT/my
  Stop with Ctrl+C.

MSG
exec "$PYTHON" -m odoo -c "$ODOO_CONF" -d "$DB" --db-filter "^${DB}\$" \
    --http-interface "$HTTP_INTERFACE" --http-port "$PORT" "$@"
