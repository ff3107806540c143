/* SPDX-License-Identifier: MIT */
/*
 * fuzz-plan.c - libFuzzer target for what the agent reads back from its
 * own state file: the plan in the journal (lib/activate/plan.h plan_from_json), and
 * the boot entry and options editing on arbitrary text. Any bytes parse or
 * fail cleanly; a parsed plan writes back and describes every step.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/activate/plan.h"
#include "lib/basic/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	json_object *o = NULL;
	struct plan *p = NULL;
	char *err = NULL;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	if (json_parse_bounded(text, size, 1 << 20, &o, &err) >= 0 &&
	    plan_from_json(o, &p, NULL) >= 0) {
		json_object *back = plan_to_json(p);
		json_object_put(back);
		for (size_t i = 0; i < p->n_steps; i++)
			free(plan_step_describe(&p->steps[i]));
		plan_free(p);
	}
	json_object_put(o);
	free(err);

	char *rm[] = { "console", "xen_emul_unplug=never", NULL }, *add[] = { "quiet", NULL };
	free(plan_options_edit(text, rm, add));
	char *v = plan_entry_get(text, "initrd");
	free(v);
	free(plan_entry_set(text, "options", "root=x"));
	free(plan_entry_set(text, "initrd", NULL));
	free(text);
	return 0;
}
