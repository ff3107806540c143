#!/usr/bin/perl
# mkhive.pl FILE - writes an empty registry hive (a root key and nothing
# else), the base that `hivexregedit --merge` fills from a .reg file: hivex
# edits hives but cannot create one. Layout as documented in hivex's
# lib/hivex-internal.h: a 4 KiB "regf" header, one 4 KiB "hbin" page holding
# the root "nk" cell, its "sk" (security) cell, and a free cell for the rest.
use strict;
use warnings;

my $file = shift or die "usage: mkhive.pl FILE\n";

my $sd = pack('CCvVVVV', 1, 0, 0x8004, 0, 0, 0, 0);  # self-relative, no DACL/owner
my $nk_off = 0x20;                                     # cell offsets within the bins
my $name = 'ROOT';
my $nk = pack('a2vQVVVVVVVVVVvvVVVVvv', 'nk', 0x2c, 0, 0, 0xffffffff, 0, 0,
	0xffffffff, 0xffffffff, 0, 0xffffffff, 0, 0xffffffff, 0, 0, 0, 0, 0, 0,
	length($name), 0) . $name;
my $nk_cell_len = (4 + length($nk) + 7) & ~7;
my $sk_off = $nk_off + $nk_cell_len;
substr($nk, 0x2c, 4) = pack('V', $sk_off);             # nk->sk
my $sk = pack('a2vVVVV', 'sk', 0, $sk_off, $sk_off, 1, length($sd)) . $sd;
my $sk_cell_len = (4 + length($sk) + 7) & ~7;

my $bins = pack('a4VVx20', 'hbin', 0, 0x1000);
$bins .= pack('l<', -$nk_cell_len) . $nk . "\0" x ($nk_cell_len - 4 - length($nk));
$bins .= pack('l<', -$sk_cell_len) . $sk . "\0" x ($sk_cell_len - 4 - length($sk));
my $free = 0x1000 - length($bins);
$bins .= pack('l<', $free) . "\0" x ($free - 4);

my $hdr = pack('a4VVQVVVVVVV', 'regf', 1, 1, 0, 1, 3, 0, 1, $nk_off, 0x1000, 1);
$hdr .= "\0" x (0x1fc - length($hdr));
my $sum = 0;
$sum ^= $_ for unpack('V127', $hdr);
$hdr .= pack('V', $sum);
$hdr .= "\0" x (0x1000 - length($hdr));

open(my $fh, '>:raw', $file) or die "mkhive.pl: '$file': $!\n";
print $fh $hdr, $bins or die "mkhive.pl: '$file': $!\n";
close($fh) or die "mkhive.pl: '$file': $!\n";
