/* SPDX-License-Identifier: MIT */
/*
 * test-errmsg.c - the one policy for reterr_msg: setting replaces, a
 * prefix wraps what the callee said, a default leaves it alone.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/basic/errmsg.h"
#include "tests/unit/tap.h"

int main(void)
{
	char *msg = NULL;

	is_int(errmsg_set(NULL, -EINVAL, "ignored %d", 1), -EINVAL, "no place for a message: r");
	is_int(errmsg_set(&msg, -EINVAL, "first '%s'", "a"), -EINVAL, "set returns r");
	is_str(msg, "first 'a'", "set writes the message");
	errmsg_set(&msg, -EIO, "second");
	is_str(msg, "second", "set replaces the earlier message");

	is_int(errmsg_default(&msg, -EIO, "generic"), -EIO, "default returns r");
	is_str(msg, "second", "default keeps the callee's message");
	is_int(errmsg_prefix(&msg, -EIO, "cannot read '%s'", "x"), -EIO, "prefix returns r");
	is_str(msg, "cannot read 'x': second", "prefix wraps the callee's message");

	free(msg);
	msg = NULL;
	errmsg_default(&msg, -EIO, "generic");
	is_str(msg, "generic", "default fills in where the callee said nothing");
	free(msg);
	msg = NULL;
	errmsg_prefix(&msg, -ENOENT, "cannot open '%s'", "y");
	is_str(msg, "cannot open 'y': No such file or directory",
	       "prefix without a callee's message uses the error's text");

	is_int(errmsg_errno(&msg, EACCES, "open: %m"), -EACCES, "errno form returns -abs(r)");
	is_str(msg, "open: Permission denied", "%m prints r's error");

	char *taken = strdup("taken");
	is_int(errmsg_take(&msg, -EBADMSG, taken), -EBADMSG, "take returns r");
	is_str(msg, "taken", "take hands the message over");
	errmsg_take(NULL, 0, strdup("dropped")); /* freed: the leak check says so */
	errmsg_take(&msg, -EBADMSG, NULL);
	ok(!msg, "taking NULL clears the message");

	is_int(errmsg_oom(&msg), -ENOMEM, "oom returns -ENOMEM");
	is_str(msg, "out of memory", "oom says so");
	free(msg);
	return tap_done();
}
