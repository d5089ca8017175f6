/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
#ifndef RELAY_JSON_H
#define RELAY_JSON_H

/* S as a JSON string on stdout: quoted, with ", \ and control characters
 * escaped (messages can hold device names and other tools' text). */
void json_string(const char *s);

#endif
