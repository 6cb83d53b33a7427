/* catalogctl: the catalog's control commands. At the owning station:
 * `site|system|camera add|update|remove` and `import` (a CSV file streamed
 * in chunks, checked first, then applied), each change written together
 * with its outbox entry. At every tier: `show`, `list`, `count`.
 *
 * The rules are checked twice: here, row by row, so that a refusal names its
 * line, field and article; and by the triggers of schema/functions/catalog.sql,
 * inside the same transaction, so that nothing unlawful is stored even if
 * this code errs. */
#pragma once

#include "control/control.h"

/** The command table (ends with a NULL name). */
extern const struct control_command catalogctl_commands[];
