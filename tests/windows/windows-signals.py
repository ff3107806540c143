#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# windows-signals.py - what Windows would show of a detector fixture root:
# the SMBIOS table GetSystemFirmwareTable('RSMB') returns (made from
# sys/class/dmi/id and the VM bit of sys/firmware/dmi/entries/0-0/raw) and
# the hardware ids SetupAPI lists (from sys/bus/{vmbus,xen,pci}); and, for
# enlighten-detect, the same signals as a Linux root with nothing else.
#
#   windows-signals.py ROOT OUTDIR [ROOT OUTDIR]...
#     writes OUTDIR/smbios.bin, OUTDIR/devices.txt, OUTDIR/root/ for each
import os
import shutil
import struct
import sys

def read(root, rel):
    try:
        with open(os.path.join(root, rel), "rb") as f:
            return f.read()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


def dmi(root, field):
    v = read(root, "sys/class/dmi/id/" + field)
    return v.split(b"\n")[0].strip() if v is not None else None


def structure(type_, length, fields):
    """fields: {offset: a byte value (int) or a string (bytes, stored by number)}"""
    body = bytearray(length)
    body[0], body[1] = type_, length
    strings = []
    for off, val in fields.items():
        if isinstance(val, int):
            body[off] = val
        elif val:
            strings.append(val)
            body[off] = len(strings)
    tail = b"".join(x + b"\0" for x in strings) + b"\0" if strings else b"\0\0"
    return bytes(body) + tail


def convert(root, out):
    os.makedirs(out, exist_ok=True)
    raw0 = read(root, "sys/firmware/dmi/entries/0-0/raw")
    ext2 = raw0[0x13] if raw0 and len(raw0) > 0x13 and raw0[1] > 0x13 else 0
    t0 = structure(0, 0x18, {0x04: dmi(root, "bios_vendor") or b"", 0x05: dmi(root, "bios_version") or b"",
                             0x13: ext2})
    t1 = structure(1, 0x1B, {0x04: dmi(root, "sys_vendor") or b"", 0x05: dmi(root, "product_name") or b"",
                             0x06: dmi(root, "product_version") or b""})
    t2 = structure(2, 0x08, {0x04: dmi(root, "board_vendor") or b""})
    t3 = structure(3, 0x0D, {0x08: dmi(root, "chassis_asset_tag") or b""})
    end = structure(127, 4, {})
    table = t0 + t1 + t2 + t3 + end
    with open(os.path.join(out, "smbios.bin"), "wb") as f:
        f.write(struct.pack("<BBBBI", 0, 3, 4, 0, len(table)) + table)

    ids = []
    for bus, prefix in (("vmbus", "VMBUS\\"), ("xen", "XEN\\")):
        d = os.path.join(root, "sys/bus", bus, "devices")
        if os.path.isdir(d):
            ids += [prefix + n for n in sorted(os.listdir(d)) if not n.startswith(".")]
    d = os.path.join(root, "sys/bus/pci/devices")
    if os.path.isdir(d):
        for n in sorted(os.listdir(d)):
            ven = (read(root, f"sys/bus/pci/devices/{n}/vendor") or b"").strip()
            dev = (read(root, f"sys/bus/pci/devices/{n}/device") or b"0x0000").strip()
            if ven.startswith(b"0x") and len(ven) == 6:
                ids.append("PCI\\VEN_%s&DEV_%s" % (ven[2:].decode().upper(),
                                                   dev[2:].decode().upper()))
    with open(os.path.join(out, "devices.txt"), "w") as f:
        f.write("".join(i + "\r\n" for i in ids))

    # The same signals as a Linux root: DMI, the SMBIOS VM bit, the buses.
    lroot = os.path.join(out, "root")
    shutil.rmtree(lroot, ignore_errors=True)
    for rel in ("sys/class/dmi/id", "sys/firmware/dmi", "sys/bus/vmbus", "sys/bus/xen",
                "sys/bus/pci"):
        if os.path.isdir(os.path.join(root, rel)):
            shutil.copytree(os.path.join(root, rel), os.path.join(lroot, rel), symlinks=True)
    os.makedirs(lroot, exist_ok=True)


args = sys.argv[1:]
for k in range(0, len(args) - 1, 2):
    convert(args[k], args[k + 1])
