"""Write portal_account/README.rst from the fragments in portal_account/readme/.

OCA repositories do this with maintainer-tools' oca-gen-addon-readme; this is
a small stand-in for the Markdown subset the fragments use (paragraphs,
lists, *emphasis*, `code`). Run: python3 scripts/gen_readme.py
"""

import os
import re

base = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "portal_account")


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


def frag(name):
    with open(f"{base}/readme/{name}.md", encoding="utf-8") as md:
        return conv(md.read())


title = "Customer Account Portal"
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

{frag("DESCRIPTION")}
**Table of contents**

.. contents::
   :local:

Configuration
=============

{frag("CONFIGURE")}
Usage
=====

{frag("USAGE")}
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

{frag("CONTRIBUTORS")}"""
with open(f"{base}/README.rst", "w", encoding="utf-8") as rst:
    rst.write(doc)
