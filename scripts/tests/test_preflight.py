"""The preflight of scripts/run.sh and scripts/test.sh (scripts/lib.sh) names
each problem it finds and the fix for it.

Plain pytest: no database, no Odoo. Each test builds the broken machine it is
about (a Python without Odoo, an editable Odoo hidden by a plain ``odoo/``
folder, PostgreSQL on a closed port, a PATH without Chromium) and runs the
check as run.sh does, ``source scripts/lib.sh; check_...`` in bash.
"""

import os
import pathlib
import shlex
import shutil
import socket
import subprocess
import sys
import venv

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
LIB_SH = REPO / "scripts" / "lib.sh"
BASH = shutil.which("bash")
WHEEL = "odoo-addon-helpdesk_mgmt"
WHEEL_DIST_INFO = "odoo_addon_helpdesk_mgmt-18.0.1.19.5.dist-info"

# What setuptools writes for `pip install -e odoo18` (reduced to the part that
# matters): a finder appended to sys.meta_path, so consulted after every
# folder of sys.path, installed by a .pth file of site-packages.
EDITABLE_FINDER = """\
import sys
from importlib.util import spec_from_file_location

MAPPING = {{"odoo": {odoo_dir!r}}}


class _EditableFinder:
    @classmethod
    def find_spec(cls, fullname, path=None, target=None):
        if fullname in MAPPING:
            return spec_from_file_location(fullname, MAPPING[fullname] + "/__init__.py")
        return None


def install():
    if _EditableFinder not in sys.meta_path:
        sys.meta_path.append(_EditableFinder)
"""


def run(command, **env):
    """Run ``command`` in bash after sourcing lib.sh, with ``env`` added."""
    full_env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTHON", "PG"))
    }
    full_env.update(env)
    return subprocess.run(
        [BASH, "-c", f"source {shlex.quote(str(LIB_SH))}; {command}"],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def assert_dies_with(result, message):
    assert result.returncode == 1, result
    assert result.stderr == f"ERROR: {message}\n"


class BarePython:
    """A virtual environment with nothing installed, not even pip."""

    def __init__(self, root):
        venv.EnvBuilder(with_pip=False, symlinks=True).create(root)
        self.python = str(root / "bin" / "python")
        purelib = "import sysconfig; print(sysconfig.get_path('purelib'))"
        self.site_packages = pathlib.Path(
            subprocess.check_output([self.python, "-c", purelib], text=True).strip()
        )

    def install_editable_odoo(self, source, version="18.0", server_imports=""):
        """A stand-in Odoo in ``source``, installed the way `pip install -e` does."""
        odoo_dir = source / "odoo"
        (odoo_dir / "service").mkdir(parents=True)
        (odoo_dir / "__init__.py").write_text("SUPERUSER_ID = 1\n")
        major, minor = version.split(".")
        (odoo_dir / "release.py").write_text(
            f"version_info = ({major}, {minor}, 0, 'final', 0, '')\n"
            f"version = {version!r}\n"
        )
        (odoo_dir / "service" / "__init__.py").write_text("")
        (odoo_dir / "service" / "server.py").write_text(server_imports)
        finder = "__editable___odoo_18_0_finder"
        (self.site_packages / f"{finder}.py").write_text(
            EDITABLE_FINDER.format(odoo_dir=str(odoo_dir))
        )
        (self.site_packages / "__editable__.odoo-18.0.pth").write_text(
            f"import {finder}; {finder}.install()\n"
        )

    def install_oca_wheel_files(self, with_metadata=True):
        """What `pip install odoo-addon-helpdesk_mgmt` puts in site-packages: an
        ``odoo/addons/helpdesk_mgmt/`` folder (no ``odoo/__init__.py``) and, unless
        it was uninstalled since, the dist-info that owns those files."""
        addon = self.site_packages / "odoo" / "addons" / "helpdesk_mgmt"
        addon.mkdir(parents=True)
        (addon / "__init__.py").write_text("")
        (addon / "__manifest__.py").write_text("{'name': 'Helpdesk'}\n")
        if with_metadata:
            dist_info = self.site_packages / WHEEL_DIST_INFO
            dist_info.mkdir()
            (dist_info / "METADATA").write_text(
                f"Metadata-Version: 2.1\nName: {WHEEL}\nVersion: 18.0.1.19.5\n"
            )
            (dist_info / "INSTALLER").write_text("pip\n")
            (dist_info / "RECORD").write_text(
                "odoo/addons/helpdesk_mgmt/__init__.py,,\n"
                "odoo/addons/helpdesk_mgmt/__manifest__.py,,\n"
                f"{dist_info.name}/METADATA,,\n"
                f"{dist_info.name}/INSTALLER,,\n"
                f"{dist_info.name}/RECORD,,\n"
            )


@pytest.fixture
def bare(tmp_path):
    return BarePython(tmp_path / "venv")


def shadow_message(python, folder, fix):
    return (
        f"Odoo is installed but hidden from {python}: {folder} hides Odoo{fix}. "
        "An OCA addon wheel installed with pip next to an Odoo installed with "
        "'pip install -e' does this ('import odoo' then finds an empty folder). "
    )


def test_python_not_found():
    result = run("check_python", PYTHON="/nonexistent/python3")
    assert_dies_with(
        result,
        "'/nonexistent/python3' not found: install Python 3.10-3.12, "
        "or set PYTHON=/path/to/python3.",
    )


def test_editable_odoo_passes(bare, tmp_path):
    """The stand-in editable Odoo is importable: the failures below come from
    what each test breaks, not from the stand-in."""
    bare.install_editable_odoo(tmp_path / "odoo18")
    result = run("check_odoo", PYTHON=bare.python)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_odoo_missing(bare):
    result = run("check_odoo", PYTHON=bare.python)
    assert_dies_with(
        result,
        f"Odoo 18.0 is not importable by {bare.python} "
        "(cannot import odoo (No module named 'odoo')): install Odoo 18.0 from "
        "Odoo's official source (github.com/odoo/odoo branch 18.0) with "
        "'pip install -e <odoo-18.0-source>' (see README, Getting Odoo 18.0), "
        "set PYTHON to the interpreter that has it, or use 'docker compose up'.",
    )


def test_odoo_other_version(bare, tmp_path):
    bare.install_editable_odoo(tmp_path / "odoo17", version="17.0")
    result = run("check_odoo", PYTHON=bare.python)
    assert result.returncode == 1
    assert result.stderr.startswith(
        f"ERROR: Odoo 18.0 is not importable by {bare.python} "
        "(found Odoo 17.0, not 18.0): install Odoo 18.0 from "
    )


def test_odoo_shadowed_by_oca_wheel(bare, tmp_path):
    bare.install_editable_odoo(tmp_path / "odoo18")
    bare.install_oca_wheel_files()
    folder = bare.site_packages / "odoo"
    result = run("check_odoo", PYTHON=bare.python)
    assert_dies_with(
        result,
        shadow_message(bare.python, folder, f" (installed there by {WHEEL})")
        + f"Fix: run '{bare.python} -m pip uninstall -y {WHEEL}' and then delete "
        f"{folder} (pip leaves the empty folders); these scripts install OCA "
        "addons into .local/addons, where they cannot hide Odoo.",
    )
    assert "dependencies" not in result.stderr


def test_odoo_shadowed_by_leftover_folder(bare, tmp_path):
    """The wheel was uninstalled, but its folders were left behind."""
    bare.install_editable_odoo(tmp_path / "odoo18")
    bare.install_oca_wheel_files(with_metadata=False)
    folder = bare.site_packages / "odoo"
    result = run("check_odoo", PYTHON=bare.python)
    assert_dies_with(
        result,
        shadow_message(bare.python, folder, "")
        + f"Fix: delete {folder} (it holds no __init__.py, only leftovers).",
    )
    assert "dependencies" not in result.stderr


def test_shadow_fix_named_works(bare, tmp_path):
    """Doing what the message says (pip uninstall, then delete the folder)
    gives the editable Odoo back."""
    bare.install_editable_odoo(tmp_path / "odoo18")
    bare.install_oca_wheel_files()
    # The bare environment has no pip of its own: this pip acts on it.
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", bare.python]
        + ["uninstall", "--yes", "--quiet", WHEEL],
        check=True,
        capture_output=True,
    )
    result = run("check_odoo", PYTHON=bare.python)
    assert result.returncode == 1
    assert f"Fix: delete {bare.site_packages / 'odoo'} " in result.stderr
    shutil.rmtree(bare.site_packages / "odoo")
    result = run("check_odoo", PYTHON=bare.python)
    assert (result.returncode, result.stderr) == (0, "")


def test_run_sh_stops_at_a_shadowed_odoo(bare, tmp_path):
    """run.sh checks Odoo first: it touches neither PostgreSQL nor pip."""
    bare.install_editable_odoo(tmp_path / "odoo18")
    bare.install_oca_wheel_files()
    result = subprocess.run(
        [BASH, str(REPO / "scripts" / "run.sh")],
        env=dict(os.environ, PYTHON=bare.python, PGHOST="127.0.0.1", PGPORT="1"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith(
        f"ERROR: Odoo is installed but hidden from {bare.python}: "
    )
    assert f"pip uninstall -y {WHEEL}" in result.stderr


def test_odoo_dependencies_missing(bare, tmp_path):
    bare.install_editable_odoo(tmp_path / "odoo18", server_imports="import psycopg2\n")
    result = run("check_odoo", PYTHON=bare.python)
    assert_dies_with(
        result,
        f"Odoo 18.0 is importable by {bare.python} but its Python dependencies "
        "are missing (No module named 'psycopg2'): install them with "
        f"'{bare.python} -m pip install -r <odoo-18.0-source>/requirements.txt', "
        "with cbor2 5.6.2 in place of 5.4.2, which no longer builds "
        "(see README, Getting Odoo 18.0).",
    )


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_postgres_unreachable():
    pytest.importorskip("psycopg2")
    port = free_port()
    result = run(
        "check_postgres",
        PYTHON=sys.executable,
        PGHOST="127.0.0.1",
        PGPORT=str(port),
        PGUSER="portal_account_nobody",
    )
    assert result.returncode == 1
    assert result.stderr.startswith(
        f"ERROR: PostgreSQL is not reachable (host=127.0.0.1 port={port} "
        "user=portal_account_nobody: "
    )
    # libpq's own words, which vary with its version
    assert "Connection refused" in result.stderr
    assert result.stderr.endswith(
        "): install and start PostgreSQL (e.g. 'apt-get install postgresql') "
        "with a role for this user that may create databases, or set "
        "PGHOST/PGPORT/PGUSER/PGPASSWORD.\n"
    )


@pytest.fixture
def bin_without_chromium(tmp_path):
    """A PATH with only what lib.sh itself runs."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("dirname",):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    return bin_dir


def test_chromium_missing(bin_without_chromium):
    result = run("check_chromium", PATH=str(bin_without_chromium))
    assert_dies_with(
        result,
        "Chromium is not installed (needed by the browser tests): install it, "
        "e.g. 'apt-get install chromium' (or chromium-browser / google-chrome).",
    )


@pytest.mark.parametrize(
    "name", ["google-chrome", "chromium", "chromium-browser", "google-chrome-stable"]
)
def test_chromium_found(bin_without_chromium, name):
    browser = bin_without_chromium / name
    browser.write_text("#!/bin/sh\n")
    browser.chmod(0o755)
    result = run("check_chromium", PATH=str(bin_without_chromium))
    assert (result.returncode, result.stderr) == (0, "")
