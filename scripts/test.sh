#!/usr/bin/env bash
# Lint the addons, test the scripts' preflight (scripts/tests), then for each
# suite install its addon with demo data in a throwaway database (failing on
# any WARNING/ERROR in the install log) and run its tests with pytest-odoo,
# HTTP server and browser included. The databases are dropped at the end.
# Suites: portal_account alone (portal_account/tests: without
# portal_account_queue nothing changes), then portal_account_queue with OCA
# queue_job (portal_account_queue/tests).
#   ./scripts/test.sh [pytest args]    e.g. ./scripts/test.sh -k portal -x
#   Test paths among the arguments select the suites they belong to; the other
#   arguments go to every suite run.
#   TEST_RUNNER          pytest (default), odoo (Odoo's own runner, as OCA's CI
#                        runs addons: -i <addon> --test-enable
#                        --test-tags /<addon>, in a database of its own, for
#                        each suite) or both
#   SKIP_LINT=1          skip the lint gates (quick local loops)
#   ODOO_TEST_LOG_LEVEL  Odoo log level during tests (default warn)
#   PYTHON               interpreter that imports Odoo 18 (default python3)
#   PORT                 HTTP port of the tests' server (default: a free one)
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ADDONS=(portal_account portal_account_queue)
# The tests make the payment provider they charge (tests/common.py), as core's
# payment tests do: nothing but the suite's addon (and what it depends on) is
# installed.
SUITES=(portal_account portal_account_queue)
TEST_DBS=()
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
    local py_targets=("${ADDONS[@]}") path po_files=() manifests=() addon
    for path in bench scripts conftest.py; do
        [[ -e "$path" ]] && py_targets+=("$path")
    done
    for addon in "${ADDONS[@]}"; do
        manifests+=("$REPO_ROOT/$addon/__manifest__.py")
    done
    lint_step "ruff check" "$PYTHON" -m ruff check --no-fix "${py_targets[@]}"
    lint_step "ruff format --check" \
        "$PYTHON" -m ruff format --check "${py_targets[@]}"
    lint_step "pylint_odoo (.pylintrc-mandatory)" \
        "$PYTHON" -m pylint --rcfile=.pylintrc-mandatory "${ADDONS[@]}"
    lint_step "oca-checks-odoo-module" \
        "$PYTHON" -m oca_pre_commit_hooks "${manifests[@]}"
    for addon in "${ADDONS[@]}"; do
        [[ -d "$REPO_ROOT/$addon/i18n" ]] &&
            mapfile -t -O "${#po_files[@]}" po_files < <(find "$REPO_ROOT/$addon/i18n" \
                -maxdepth 1 \( -name '*.po' -o -name '*.pot' \) | sort)
    done
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
    local rc=$? db
    for db in "${TEST_DBS[@]}"; do
        info "Dropping test database $db"
        odoo_cmd db -c "$ODOO_CONF" drop "$db" >/dev/null 2>&1 || true
    done
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# install_addon ADDON DB: a clean install with demo data, its log without
# WARNING or ERROR lines.
install_addon() {
    local addon="$1" db="$2" install_log install_rc=0 problems state demo
    install_log="$LOG_DIR/install-$db.log"
    info "Installing $addon with demo data into $db (log: ${install_log#"$REPO_ROOT"/})"
    TEST_DBS+=("$db")
    odoo_cmd -c "$ODOO_CONF" -d "$db" -i "$addon" --stop-after-init \
        --log-level=info >"$install_log" 2>&1 || install_rc=$?
    problems="$(grep -E ' (WARNING|ERROR|CRITICAL) ' "$install_log" || true)"
    if [[ -n "$problems" ]]; then
        echo "$problems" >&2
        die "the install log has $(wc -l <<<"$problems") WARNING/ERROR line(s), shown above."
    fi
    ((install_rc == 0)) || {
        tail -n 40 "$install_log" >&2
        die "installing $addon failed (exit $install_rc)."
    }
    read -r state demo <<<"$(module_state "$db" "$addon" --with-demo)"
    [[ "$state" == installed && "$demo" == demo ]] ||
        die "$addon is '$state' ($demo) in $db after install; expected installed with demo data."
}

# Importing queue_job makes Odoo's threaded server start a job runner, which
# would run the tests' jobs behind their back: the tests run the jobs
# themselves (portal_account_queue/tests), so the runner is switched off.
export ODOO_QUEUE_JOB_CHANNELS="root:0"

# Odoo's own runner installs the suite's addon in a new database and runs its
# tests there; its last line counts them: "N failed, M error(s) of T tests".
run_odoo_runner() {
    local addon="$1" db="${1}_runner_$$" log="$LOG_DIR/odoo-runner-${1}_$$.log" rc=0
    info "Odoo's test runner: -i $addon --test-tags /$addon in $db (log: ${log#"$REPO_ROOT"/})"
    TEST_DBS+=("$db")
    odoo_cmd -c "$ODOO_CONF" -d "$db" -i "$addon" --test-enable \
        --test-tags "/$addon" --stop-after-init --log-level=test \
        >"$log" 2>&1 || rc=$?
    odoo_cmd db -c "$ODOO_CONF" drop "$db" >/dev/null 2>&1 || true
    local summary
    summary="$(grep -Eo '[0-9]+ failed, [0-9]+ error\(s\) of [0-9]+ tests' "$log" | tail -n 1)"
    grep -E ' (ERROR|CRITICAL) ' "$log" | tail -n 40 >&2 || true
    [[ -n "$summary" ]] || die "Odoo's test runner ran no test of $addon (exit $rc); see $log."
    info "Odoo's test runner ($addon): $summary"
    [[ "$summary" == "0 failed, 0 error(s) of "* && "$rc" == 0 ]] ||
        die "Odoo's test runner ($addon): $summary (exit $rc); see $log."
}

case "${TEST_RUNNER:-pytest}" in
pytest) ;;
odoo | both)
    # portal_account only: the glue's concurrency tests drive queue_job's job
    # runner from threads of their own, which do not finish under Odoo's
    # runner; its suite runs under pytest-odoo.
    run_odoo_runner portal_account
    [[ "$TEST_RUNNER" == odoo ]] && exit 0
    ;;
*) die "TEST_RUNNER is '${TEST_RUNNER}': use pytest, odoo or both." ;;
esac

# Split the arguments: test paths (a file or folder, with or without ::node)
# choose the suites; everything else is passed to each suite's pytest.
PYTEST_OPTS=()
TEST_PATHS=()
for arg in "$@"; do
    if [[ "$arg" != -* && -e "${arg%%::*}" ]]; then
        TEST_PATHS+=("$arg")
    else
        PYTEST_OPTS+=("$arg")
    fi
done

ran_tests=0
for addon in "${SUITES[@]}"; do
    suite_paths=()
    if ((${#TEST_PATHS[@]})); then
        for arg in "${TEST_PATHS[@]}"; do
            [[ "$(realpath "${arg%%::*}")/" == "$REPO_ROOT/$addon/"* ]] &&
                suite_paths+=("$arg")
        done
        ((${#suite_paths[@]})) || continue
    else
        suite_paths=("$addon/tests")
    fi
    test_db="${addon}_test_$$"
    install_addon "$addon" "$test_db"
    info "pytest ($addon) ${PYTEST_OPTS[*]} ${suite_paths[*]}"
    pytest_rc=0
    "$PYTHON" -m pytest --odoo-database="$test_db" --odoo-config="$ODOO_CONF" \
        --odoo-http --odoo-log-level="${ODOO_TEST_LOG_LEVEL:-warn}" \
        -rfEs "${PYTEST_OPTS[@]}" "${suite_paths[@]}" || pytest_rc=$?
    case "$pytest_rc" in
    0) ran_tests=1 ;;
    5) info "no test of $addon selected" ;;
    *) die "pytest ($addon) failed (exit $pytest_rc)." ;;
    esac
    odoo_cmd db -c "$ODOO_CONF" drop "$test_db" >/dev/null 2>&1 || true
done
((ran_tests)) ||
    die "pytest collected no test: a run that tests nothing is a failure."
info "All tests passed"
