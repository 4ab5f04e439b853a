#!/usr/bin/python3
# fuse_hang.py MOUNTPOINT RELEASE_FILE - a FUSE file system whose statfs
# does not return until RELEASE_FILE exists: the honest stand-in for a dead
# NFS server (test_fs.c).  A statfs on it sleeps in the kernel; only this
# process answering, or dying (SIGKILL), lets it go.  Once released, statfs
# answers fixed figures the test checks exactly:
#   f_frsize 4096, f_blocks 1234, f_bfree 1000, f_bavail 900,
#   f_files 77, f_ffree 55.
# Runs in the foreground, multi-threaded (one stuck statfs blocks only its
# own request).  Needs Debian's python3-fusepy (module "fusepy") and root.
import errno
import os
import stat
import sys
import time

try:
    from fusepy import FUSE, FuseOSError, Operations
except ImportError:  # upstream's name for the module
    from fuse import FUSE, FuseOSError, Operations


class Hang(Operations):
    def __init__(self, release):
        self.release = release

    def getattr(self, path, fh=None):
        if path == "/":
            return dict(st_mode=stat.S_IFDIR | 0o755, st_nlink=2)
        raise FuseOSError(errno.ENOENT)

    def readdir(self, path, fh):
        return [".", ".."]

    def statfs(self, path):
        while not os.path.exists(self.release):
            time.sleep(0.02)
        return dict(f_bsize=4096, f_frsize=4096, f_blocks=1234, f_bfree=1000,
                    f_bavail=900, f_files=77, f_ffree=55, f_namemax=255)


def main():
    if len(sys.argv) != 3:
        sys.stderr.write("usage: fuse_hang.py MOUNTPOINT RELEASE_FILE\n")
        return 2
    FUSE(Hang(sys.argv[2]), sys.argv[1], foreground=True, nothreads=False,
         allow_other=True, fsname="sysq-hang")
    return 0


if __name__ == "__main__":
    sys.exit(main())
