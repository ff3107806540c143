/* SPDX-License-Identifier: MIT */
/*
 * inspect.h - a disk image read back: partitions, filesystems and, for an
 * enlighten image, what the build put into it (docs/enlighten-inspect.md).
 */
#pragma once

#include <json-c/json.h>

/* path as the user named it: raw, or qcow2, VHDX, VMDK (read through a
 * temporary raw copy that qemu-img makes and that is removed again). Returns
 * 0 with the description in *ret, or -errno with a sentence in *reterr_msg. */
int image_inspect(const char *path, json_object **ret, char **reterr_msg);
