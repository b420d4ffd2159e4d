"""Write each addon's README.rst from the fragments in its readme/ folder.

OCA repositories do this with maintainer-tools' oca-gen-addon-readme; this is
a small stand-in for the Markdown subset the fragments use (paragraphs,
lists, *emphasis*, `code`). Run: python3 scripts/gen_readme.py [addon...]
(by default, every addon of the repository).
"""

import ast
import os
import re
import sys

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
ADDONS = ("portal_account", "portal_account_queue")


def conv(md):
    out = []
    for line in md.splitlines():
        line = line.replace("\\>", ">")
        line = re.sub(r"(?<!`)`([^`]+)`(?!`)", r"``\1``", line)
        m = re.match(r"^(\d+)\.\s+(.*)$", line)
        if m:
            line = f"{m.group(1)}. {m.group(2)}"
        elif line.startswith("    "):
            line = "   " + line[4:]
        out.append(line)
    return "\n".join(out).strip() + "\n"


def frag(base, name):
    with open(f"{base}/readme/{name}.md", encoding="utf-8") as md:
        return conv(md.read())


def write_readme(addon):
    base = os.path.join(root, addon)
    with open(f"{base}/__manifest__.py", encoding="utf-8") as manifest:
        title = ast.literal_eval(manifest.read())["name"]
    bar = "=" * len(title)
    doc = f"""{bar}
{title}
{bar}

..
   Built from the fragments in readme/ (DESCRIPTION.md, CONFIGURE.md,
   USAGE.md, CONTRIBUTORS.md) by scripts/gen_readme.py: edit those instead.

|badge1| |badge2|

.. |badge1| image:: https://img.shields.io/badge/maturity-Beta-yellow.png
    :target: https://odoo-community.org/page/development-status
    :alt: Beta
.. |badge2| image:: https://img.shields.io/badge/licence-LGPL--3-blue.png
    :target: http://www.gnu.org/licenses/lgpl-3.0-standalone.html
    :alt: License: LGPL-3

{frag(base, "DESCRIPTION")}
**Table of contents**

.. contents::
   :local:

Configuration
=============

{frag(base, "CONFIGURE")}
Usage
=====

{frag(base, "USAGE")}
Bug Tracker
===========

Bugs are tracked on `GitHub Issues
<https://github.com/portal-account/portal_account/issues>`_. In case of
trouble, please check there if your issue has already been reported.

Credits
=======

Authors
-------

- portal_account contributors

Contributors
------------

{frag(base, "CONTRIBUTORS")}"""
    with open(f"{base}/README.rst", "w", encoding="utf-8") as rst:
        rst.write(doc)


for name in sys.argv[1:] or ADDONS:
    write_readme(name)
