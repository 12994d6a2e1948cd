#!/usr/bin/env python3
"""Which pages of the executable's own mappings are resident in a running process, by ELF
section (and optionally by link-map input file). Reads /proc/PID/maps and /proc/PID/pagemap
(bit 63: present; readable for one's own processes without privileges).

usage: text_pages.py PID [--map LINKMAP]
"""
import argparse
import os
import re
import struct
import subprocess

PAGE = 4096


def exe_mappings(pid):
    exe = os.readlink(f"/proc/{pid}/exe")
    out = []
    for line in open(f"/proc/{pid}/maps"):
        p = line.split()
        if len(p) >= 6 and p[5] == exe:
            lo, hi = (int(x, 16) for x in p[0].split("-"))
            out.append((lo, hi, int(p[2], 16), p[1]))
    return exe, out


def present_pages(pid, mappings):
    """file offset -> (present, perms) for every page of the exe's mappings."""
    res = {}
    with open(f"/proc/{pid}/pagemap", "rb") as f:
        for lo, hi, off, perms in mappings:
            n = (hi - lo) // PAGE
            f.seek(lo // PAGE * 8)
            data = f.read(n * 8)
            for i in range(n):
                (v,) = struct.unpack_from("<Q", data, i * 8)
                res[off + i * PAGE] = (bool(v >> 63 & 1), perms, lo + i * PAGE)
    return res


def sections(exe):
    """(name, file offset, size, vaddr) of SHF_ALLOC sections with file contents."""
    out = []
    text = subprocess.run(["readelf", "-SW", exe], capture_output=True, text=True).stdout
    for m in re.finditer(r"\]\s+(\S+)\s+(\S+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+\S+\s+(\S*A\S*)", text):
        name, typ, addr, off, size, flags = m.groups()
        if typ == "NOBITS":
            continue
        out.append((name, int(off, 16), int(size, 16), int(addr, 16)))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("pid", type=int)
    a = ap.parse_args()
    exe, maps = exe_mappings(a.pid)
    pages = present_pages(a.pid, maps)
    secs = sections(exe)
    print(f"{'section':32} {'size KiB':>9} {'pages':>6} {'present':>8} {'KiB':>7}")
    total = 0
    for name, off, size, _ in secs:
        first, last = off // PAGE, (off + size - 1) // PAGE
        n = last - first + 1
        present = sum(1 for p in range(first, last + 1) if pages.get(p * PAGE, (False,))[0])
        total += present
        if size >= 16384 or present:
            print(f"{name:32} {size / 1024:9.0f} {n:6} {present:8} {present * 4:7}")
    allp = sum(1 for v in pages.values() if v[0])
    print(f"present pages in exe mappings: {allp} ({allp * 4} KiB); section-attributed (pages shared by two sections count twice): {total}")
    # runs of present pages in .text, to show how scattered it is
    for name, off, size, _ in secs:
        if name != ".text":
            continue
        first, last = off // PAGE, (off + size - 1) // PAGE
        bits = "".join("#" if pages.get(p * PAGE, (False,))[0] else "." for p in range(first, last + 1))
        windows = [bits[i:i + 16] for i in range(0, len(bits), 16)]
        touched = sum(1 for w in windows if "#" in w)
        print(f".text: {len(windows)} 64KiB windows, {touched} with a present page, "
              f"{bits.count('#')} of {len(bits)} pages present")
        for i in range(0, len(bits), 128):
            print(f"  {(first + i) * PAGE:#010x} {bits[i:i + 128]}")


if __name__ == "__main__":
    main()
