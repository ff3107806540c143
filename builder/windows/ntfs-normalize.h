/* SPDX-License-Identifier: MIT */
/*
 * ntfs-normalize.h - fixed time stamps in an NTFS volume that libntfs-3g
 * wrote, so that the same inputs give the same bytes.
 */
#pragma once

#include <stdint.h>

struct ntfs_normalize_stats {
	uint64_t records;      /* MFT records read (in $MFT and $MFTMirr) */
	uint64_t index_blocks; /* INDX blocks of filename indexes read */
	uint64_t times;	       /* time stamps changed */
};

/* Walks the NTFS volume that is the whole of the file fd (read-write) and
 * sets, in every MFT record (and its copy in $MFTMirr) and in every filename
 * index entry, each "MFT record changed" time to epoch (Unix seconds): that
 * time is never from the WIM, libntfs-3g stamps it with the clock. Every
 * creation, modification and access time later than epoch becomes epoch.
 * Update sequence fixups are checked on read and written back on write;
 * only the blocks that change are written. Every length and offset read
 * from the volume is checked: a volume that does not parse, or points past
 * the file's end, gives -EBADMSG with a message saying where (the work stops
 * at the first bad record or block). ret_stats may be NULL. */
int ntfs_normalize_times(int fd, int64_t epoch, struct ntfs_normalize_stats *ret_stats,
			 char **reterr_msg);
