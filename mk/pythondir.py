# SPDX-License-Identifier: ISC
"""mk/pythondir.py PREFIX - where `make install` puts the Python package
sysq for PREFIX, as this Python sees it: Debian's python3 searches
/usr/lib/python3/dist-packages (scheme deb_system) for /usr and
/usr/local/lib/python3.X/dist-packages (posix_local) for /usr/local; any
other Python or prefix gets posix_prefix (PREFIX/lib/python3.X/site-packages)."""
import sys
import sysconfig

prefix = sys.argv[1].rstrip("/") or "/"
schemes = sysconfig.get_scheme_names()
if prefix == "/usr" and "deb_system" in schemes:
    scheme, base = "deb_system", prefix
elif prefix == "/usr/local" and "posix_local" in schemes:
    scheme, base = "posix_local", "/usr"
else:
    scheme, base = "posix_prefix", prefix
print(sysconfig.get_path("purelib", scheme, vars={"base": base, "platbase": base}))
