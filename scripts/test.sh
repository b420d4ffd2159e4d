#!/usr/bin/env bash
# Lint portal_account, test the scripts' preflight (scripts/tests), install
# the addon with demo data in a throwaway database (failing on any
# WARNING/ERROR in the install log), then run its tests with pytest-odoo,
# HTTP server and browser included. The database is dropped at the end.
#   ./scripts/test.sh [pytest args]    e.g. ./scripts/test.sh -k portal -x
#   SKIP_LINT=1          skip the lint gates (quick local loops)
#   TEST_RUNNER          pytest (default), odoo (Odoo's own runner, as OCA's CI
#                        runs addons: -i portal_account --test-enable
#                        --test-tags /portal_account, in a database of its
#                        own) or both
#   ODOO_TEST_LOG_LEVEL  Odoo log level during tests (default warn)
#   PYTHON               interpreter that imports Odoo 18 (default python3)
#   PORT                 HTTP port of the tests' server (default: a free one)
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ADDON_DIR="$REPO_ROOT/portal_account"
TEST_DB="portal_account_test_$$"
# The tests make the payment provider they charge (tests/common.py), as core's
# payment tests do: nothing but the addon is installed.
INSTALL_MODULES="portal_account"
LOG_DIR="$LOCAL_DIR/logs"

check_python
check_odoo
check_postgres
check_chromium
ensure_addon_requirements
info "Installing test tools from requirements-test.txt"
pip_install -r "$REPO_ROOT/requirements-test.txt" ||
    die "could not install requirements-test.txt: run '$PYTHON -m pip install -r requirements-test.txt'."
# The tests' HTTP server (HttpCase, tours) listens on a free port, so that a
# demo server on 8069 or another test run does not collide with it.
write_odoo_conf "http_port = ${PORT:-$("$PYTHON" "$ENV_PY" free-port)}"
mkdir -p "$LOG_DIR"
cd "$REPO_ROOT"

LINT_FAILED=()

# lint_step NAME CMD...: run every gate, remember which failed, report all.
lint_step() {
    local name="$1"
    shift
    info "$name"
    "$@" || LINT_FAILED+=("$name")
}

run_lint() {
    local py_targets=(portal_account) path po_files=()
    for path in bench scripts conftest.py; do
        [[ -e "$path" ]] && py_targets+=("$path")
    done
    lint_step "ruff check" "$PYTHON" -m ruff check --no-fix "${py_targets[@]}"
    lint_step "ruff format --check" \
        "$PYTHON" -m ruff format --check "${py_targets[@]}"
    lint_step "pylint_odoo (.pylintrc-mandatory)" \
        "$PYTHON" -m pylint --rcfile=.pylintrc-mandatory portal_account
    lint_step "oca-checks-odoo-module" \
        "$PYTHON" -m oca_pre_commit_hooks "$ADDON_DIR/__manifest__.py"
    mapfile -t po_files < <(find "$ADDON_DIR/i18n" -maxdepth 1 \
        \( -name '*.po' -o -name '*.pot' \) 2>/dev/null | sort)
    if ((${#po_files[@]})); then
        lint_step "oca-checks-po" \
            "$PYTHON" -c 'import sys; from oca_pre_commit_hooks.cli_po import main; sys.exit(main())' \
            --disable=po-pretty-format "${po_files[@]}"
    fi
}

if [[ "${SKIP_LINT:-0}" == 1 ]]; then
    info "Lint skipped (SKIP_LINT=1)"
else
    run_lint
    if ((${#LINT_FAILED[@]})); then
        die "lint failed: $(IFS=,; echo "${LINT_FAILED[*]}") (see above); SKIP_LINT=1 skips lint for quick local runs."
    fi
fi

# The preflight's own tests (scripts/tests): plain pytest, pytest-odoo (the
# plugin "odoo") off, no database.
info "pytest scripts/tests (the preflight's messages)"
"$PYTHON" -m pytest -p no:odoo -q scripts/tests ||
    die "the preflight tests (scripts/tests) failed (see above)."

cleanup() {
    local rc=$?
    info "Dropping test database $TEST_DB"
    odoo_cmd db -c "$ODOO_CONF" drop "$TEST_DB" >/dev/null 2>&1 || true
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

install_log="$LOG_DIR/install-$TEST_DB.log"
info "Installing $INSTALL_MODULES with demo data into $TEST_DB (log: ${install_log#"$REPO_ROOT"/})"
install_rc=0
odoo_cmd -c "$ODOO_CONF" -d "$TEST_DB" -i "$INSTALL_MODULES" --stop-after-init \
    --log-level=info >"$install_log" 2>&1 || install_rc=$?
problems="$(grep -E ' (WARNING|ERROR|CRITICAL) ' "$install_log" || true)"
if [[ -n "$problems" ]]; then
    echo "$problems" >&2
    die "the install log has $(wc -l <<<"$problems") WARNING/ERROR line(s), shown above."
fi
((install_rc == 0)) || {
    tail -n 40 "$install_log" >&2
    die "installing portal_account failed (exit $install_rc)."
}
read -r state demo <<<"$(module_state "$TEST_DB" portal_account --with-demo)"
[[ "$state" == installed && "$demo" == demo ]] ||
    die "portal_account is '$state' ($demo) in $TEST_DB after install; expected installed with demo data."

# Odoo's own runner installs the addon in a new database and runs its tests
# there; its last line counts them: "N failed, M error(s) of T tests".
run_odoo_runner() {
    local db="${TEST_DB}_runner" log="$LOG_DIR/odoo-runner-$TEST_DB.log" rc=0
    info "Odoo's test runner: -i $INSTALL_MODULES --test-tags /portal_account in $db (log: ${log#"$REPO_ROOT"/})"
    odoo_cmd -c "$ODOO_CONF" -d "$db" -i "$INSTALL_MODULES" --test-enable \
        --test-tags /portal_account --stop-after-init --log-level=test \
        >"$log" 2>&1 || rc=$?
    odoo_cmd db -c "$ODOO_CONF" drop "$db" >/dev/null 2>&1 || true
    local summary
    summary="$(grep -Eo '[0-9]+ failed, [0-9]+ error\(s\) of [0-9]+ tests' "$log" | tail -n 1)"
    grep -E ' (ERROR|CRITICAL) ' "$log" | tail -n 40 >&2 || true
    [[ -n "$summary" ]] || die "Odoo's test runner ran no test (exit $rc); see $log."
    info "Odoo's test runner: $summary"
    [[ "$summary" == "0 failed, 0 error(s) of "* && "$rc" == 0 ]] ||
        die "Odoo's test runner: $summary (exit $rc); see $log."
}

case "${TEST_RUNNER:-pytest}" in
pytest) ;;
odoo)
    run_odoo_runner
    exit 0
    ;;
both) run_odoo_runner ;;
*) die "TEST_RUNNER is '${TEST_RUNNER}': use pytest, odoo or both." ;;
esac

# Without a test path among the arguments, pytest.ini's testpaths
# (portal_account/tests) applies.
info "pytest $*"
pytest_rc=0
"$PYTHON" -m pytest --odoo-database="$TEST_DB" --odoo-config="$ODOO_CONF" \
    --odoo-http --odoo-log-level="${ODOO_TEST_LOG_LEVEL:-warn}" \
    -rfEs "$@" || pytest_rc=$?
case "$pytest_rc" in
0) info "All tests passed" ;;
5) die "pytest collected no test: a run that tests nothing is a failure." ;;
*) die "pytest failed (exit $pytest_rc)." ;;
esac
