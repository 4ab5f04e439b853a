# SPDX-License-Identifier: ISC
"""sysq_client.py - the names the interop tests imported from here before
the sysq package (python/sysq) took its place; kept for tests written
against it.  New tests: from private_daemon import Daemon; import sysq."""
from private_daemon import Daemon  # noqa: F401  (puts python/ on sys.path)
from sysq import Client, RemoteError  # noqa: F401
