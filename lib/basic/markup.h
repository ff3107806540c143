/* SPDX-License-Identifier: MIT */
/*
 * markup.h - text into HTML and XML: the five characters that markup gives
 * a meaning are written as entities that both languages read the same way.
 */
#pragma once

#include <stdio.h>

/* Writes s to f with & < > " ' escaped (' as &#39;, valid in HTML and XML). */
void markup_escape(FILE *f, const char *s);
