#!/usr/bin/python3
# SPDX-License-Identifier: ISC
# fuse_hang.py MOUNTPOINT RELEASE_FILE - a FUSE file system whose statfs
# does not return until RELEASE_FILE exists: the honest stand-in for a dead
# NFS server (test_fs.c, test_isolation.c).  A statfs on it sleeps in the
# kernel; only this process answering, or dying (SIGKILL), lets it go.  Once
# released, statfs answers fixed figures the test checks exactly:
#   f_frsize 4096, f_blocks 1234, f_bfree 1000, f_bavail 900,
#   f_files 77, f_ffree 55.
# The same holds for looking up any name that starts with "hang" (ENOENT
# once released), and for reading any "file..." name (each 4 MiB, mode 0644,
# zeros once released; one per reader, as a second open of a file with a
# read in flight waits for it in the kernel), so a path walk or a read can
# hang as well.
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


FILE_SIZE = 4 << 20


class Hang(Operations):
    def __init__(self, release):
        self.release = release

    def wait(self):
        while not os.path.exists(self.release):
            time.sleep(0.02)

    def getattr(self, path, fh=None):
        if path == "/":
            return dict(st_mode=stat.S_IFDIR | 0o755, st_nlink=2)
        if path.startswith("/file"):
            return dict(st_mode=stat.S_IFREG | 0o644, st_nlink=1, st_size=FILE_SIZE)
        if path.startswith("/hang"):
            self.wait()
        raise FuseOSError(errno.ENOENT)

    def read(self, path, size, offset, fh):
        self.wait()
        return bytes(max(0, min(size, FILE_SIZE - offset)))

    def readdir(self, path, fh):
        return [".", ".."]

    def statfs(self, path):
        self.wait()
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
