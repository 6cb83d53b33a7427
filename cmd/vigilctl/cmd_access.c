/* cmd_access: officers, delegations, access requests and the access log
 * (Art 19, 20, 23(5)). Officers act as themselves: `--as FILE` names their
 * identity. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "render.h"

/* {"id","state"}: "req-…: countersigned". */
static int render_state(FILE *out, const json_t *doc, const struct cmd_args *args)
{
        const char *id = json_string_value(json_object_get(doc, "id"));
        const char *state = json_string_value(json_object_get(doc, "state"));

        (void)args;
        if (!id || !state)
                return -EBADMSG;
        fprintf(out, "%s: %s\n", id, state);
        return 0;
}

/* {"ok","records","first_bad_seq"} */
static int render_verify(FILE *out, const json_t *doc, const struct cmd_args *args)
{
        const json_t *bad = json_object_get(doc, "first_bad_seq");

        (void)args;
        if (!json_is_boolean(json_object_get(doc, "ok")))
                return -EBADMSG;
        if (json_is_true(json_object_get(doc, "ok")))
                fprintf(out, "The access log of %s verifies: %lld records, chain intact.\n",
                        json_string_value(json_object_get(doc, "node")),
                        (long long)json_integer_value(json_object_get(doc, "records")));
        else
                fprintf(out, "The access log of %s does NOT verify: record %lld was changed or removed "
                        "(%lld records).\n", json_string_value(json_object_get(doc, "node")),
                        (long long)json_integer_value(bad),
                        (long long)json_integer_value(json_object_get(doc, "records")));
        return 0;
}

/* {"camera","url","ticket","expires_at"} */
static int render_view(FILE *out, const json_t *doc, const struct cmd_args *args)
{
        const char *url = json_string_value(json_object_get(doc, "url"));
        const char *ticket = json_string_value(json_object_get(doc, "ticket"));

        (void)args;
        if (!json_is_string(json_object_get(doc, "camera")))
                return -EBADMSG;
        fprintf(out, "camera   %s\nstation  %s\nurl      %s\nexpires  %s\n",
                json_string_value(json_object_get(doc, "camera")),
                json_string_value(json_object_get(doc, "station")) ? json_string_value(json_object_get(doc, "station"))
                                                                     : "-",
                url ? url : "-", json_string_value(json_object_get(doc, "expires_at")));
        if (ticket)
                fprintf(out, "ticket   %s\n", ticket);
        return 0;
}

static int render_officers(FILE *out, const json_t *doc, const struct cmd_args *args)
{
        static const char *const keys[] = { "badge", "name", "unit", "roles", "credential", "active" };
        static const char *const heads[] = { "BADGE", "NAME", "UNIT", "ROLES", "CREDENTIAL", "ACTIVE" };

        (void)args;
        return render_json_rows(out, doc, keys, heads, 6);
}

static int render_conferrals(FILE *out, const json_t *doc, const struct cmd_args *args)
{
        static const char *const keys[] = { "id", "badge", "unit", "role", "state", "conferred_at", "valid_until",
                                            "live" };
        static const char *const heads[] = { "ID", "BADGE", "UNIT", "ROLE", "STATE", "BY NODE", "UNTIL", "LIVE" };

        (void)args;
        return render_json_rows(out, doc, keys, heads, 8);
}

static int render_delegations(FILE *out, const json_t *doc, const struct cmd_args *args)
{
        static const char *const keys[] = { "id", "unit", "principal", "deputy", "valid_from", "valid_until",
                                            "revoked", "live" };
        static const char *const heads[] = { "ID", "UNIT", "PRINCIPAL", "DEPUTY", "FROM", "UNTIL", "REVOKED",
                                             "LIVE" };

        (void)args;
        return render_json_rows(out, doc, keys, heads, 8);
}

static int render_requests(FILE *out, const json_t *doc, const struct cmd_args *args)
{
        static const char *const keys[] = { "id", "state", "officers", "case", "actions", "cameras",
                                            "decided_by", "expires_at" };
        static const char *const heads[] = { "ID", "STATE", "OFFICERS", "CASE", "ACTIONS", "CAMERAS",
                                             "DECIDED BY", "EXPIRES" };

        (void)args;
        return render_json_rows(out, doc, keys, heads, 8);
}

static int render_audit(FILE *out, const json_t *doc, const struct cmd_args *args)
{
        static const char *const keys[] = { "seq", "at", "actor", "action", "outcome", "article", "camera",
                                            "request_id" };
        static const char *const heads[] = { "SEQ", "AT", "ACTOR", "ACTION", "OUTCOME", "ARTICLE", "CAMERA",
                                             "REQUEST" };

        (void)args;
        return render_json_rows(out, doc, keys, heads, 8);
}

const struct cmd_command cmd_access_commands[] = {
        { .words = "view", .wire = "view", .positional = { "camera" },
          .options = { { "--action", "action", 0 }, { "--from", "from", 0 }, { "--to", "to", 0 },
                       { "--destination", "destination", 0 } },
          .usage = "CAMERA [--action view-live|view-recorded|copy|retrieve] [--from T --to T] "
                   "[--destination TEXT (copy, retrieve)]",
          .summary = "open a view: the owning station decides (Art 19, 29(2)) and logs it", .render = render_view },
        { .words = "emergency declare", .wire = "emergency.declare",
          .options = { { "--scope", "scope", CMD_OPT_REQUIRED }, { "--near", "near", 0 }, { "--radius", "radius", 0 },
                       { "--duration", "duration", CMD_OPT_REQUIRED }, { "--incident", "incident", CMD_OPT_REQUIRED },
                       { "--authority", "authority", CMD_OPT_REQUIRED }, { "--officer", "officer", CMD_OPT_REPEAT },
                       { "--role", "role", CMD_OPT_REPEAT }, { "--look-back", "look_back", 0 } },
          .usage = "--scope ID [--near LAT,LON --radius M] --duration 30m|2h|1d --incident TEXT --authority TEXT "
                   "--officer BADGE… | --role ROLE… [--look-back 0|30m|2h|24h]",
          .summary = "a commander forces the linkage of private systems in scope (Art 13, 19)",
          .render = render_state },
        { .words = "system credentials", .wire = "system.credentials", .positional = { "system" },
          .options = { { "--user", "user", CMD_OPT_REQUIRED }, { "--password", "password", 0 },
                       { "--password-file", "password", CMD_OPT_FILE } },
          .usage = "CODE --user U --password-file FILE | --password P",
          .summary = "hold the credentials of a system's reserved interface at this station (never replicated)",
          .render = render_state },
        { .words = "emergency end", .wire = "emergency.end", .positional = { "id" }, .usage = "ID",
          .summary = "the commander ends it: every linkage undone, access under it ends", .render = render_state },
        { .words = "emergency report", .wire = "emergency.report", .positional = { "id" }, .usage = "ID",
          .summary = "after action: linked, failed, owners' notifications, accesses under it, its end" },
        { .words = "emergency status", .wire = "emergency.status", .positional = { "id" }, .usage = "ID",
          .summary = "per station: acked, linked, failed; who has not answered" },
        { .words = "officer add", .wire = "officer.add",
          .options = { { "--badge", "badge", CMD_OPT_REQUIRED }, { "--name", "name", CMD_OPT_REQUIRED },
                       { "--credential", "credential", CMD_OPT_REQUIRED }, { "--roles", "roles", CMD_OPT_REQUIRED },
                       { "--public-key", "public_key", CMD_OPT_REQUIRED } },
          .usage = "--badge B --name N --credential NO --roles investigator,operator --public-key KEY",
          .summary = "register an officer of this unit (admin; Art 20(2))", .render = render_state },
        { .words = "officer list", .wire = "officer.list", .usage = "",
          .summary = "officers of this unit and below", .render = render_officers },
        { .words = "officer deactivate", .wire = "officer.deactivate", .positional = { "badge" },
          .options = { { "--reason", "reason", CMD_OPT_REQUIRED } }, .usage = "BADGE --reason TEXT",
          .summary = "end an officer's powers at every tier (admin of their node; Art 19, 20)",
          .render = render_state },
        { .words = "officer confer", .wire = "officer.confer", .positional = { "badge" },
          .options = { { "--role", "role", CMD_OPT_REQUIRED }, { "--until", "until", 0 } },
          .usage = "BADGE --role principal|commander|auditor [--until T|30d]",
          .summary = "confer a power on an officer of a unit directly below (admin; at the city two admins; "
                     "Art 19)", .render = render_state },
        { .words = "officer unconfer", .wire = "officer.unconfer", .positional = { "badge" },
          .options = { { "--role", "role", CMD_OPT_REQUIRED }, { "--reason", "reason", 0 } },
          .usage = "BADGE --role principal|commander|auditor [--reason TEXT]",
          .summary = "end a power conferred here (admin; Art 19)", .render = render_state },
        { .words = "officer conferrals", .wire = "officer.conferrals", .usage = "",
          .summary = "powers conferred here and on this unit's officers", .render = render_conferrals },
        { .words = "officer reactivate", .wire = "officer.reactivate", .positional = { "badge" },
          .options = { { "--reason", "reason", 0 } }, .usage = "BADGE [--reason TEXT]",
          .summary = "make an inactive officer active again (admin of their node)", .render = render_state },
        { .words = "delegation add", .wire = "delegation.add",
          .options = { { "--deputy", "deputy", CMD_OPT_REQUIRED }, { "--until", "until", CMD_OPT_REQUIRED },
                       { "--from", "from", 0 } },
          .usage = "--deputy BADGE --until T|8h|7d [--from T]",
          .summary = "a principal authorises a deputy to approve (Art 19)", .render = render_state },
        { .words = "delegation list", .wire = "delegation.list", .usage = "", .summary = "delegations known here",
          .render = render_delegations },
        { .words = "delegation revoke", .wire = "delegation.revoke", .positional = { "id" },
          .options = { { "--reason", "reason", 0 } }, .usage = "ID [--reason TEXT]",
          .summary = "the principal withdraws a delegation before its end (Art 19)", .render = render_state },
        { .words = "access request", .wire = "access.request",
          .options = { { "--camera", "camera", CMD_OPT_REPEAT }, { "--under", "under", 0 },
                       { "--officer", "officer", CMD_OPT_REPEAT }, { "--case", "case", 0 },
                       { "--purpose", "purpose", 0 }, { "--actions", "actions", 0 },
                       { "--approval-doc", "approval_doc", 0 }, { "--from", "from", 0 }, { "--to", "to", 0 },
                       { "--destination", "destination", 0 } },
          .usage = "--camera ID [--camera ID…] | --under NODE --officer BADGE --officer BADGE --case NO --purpose TEXT "
                   "--actions view-live[,view-recorded,copy,retrieve] --approval-doc REF [--from T --to T] "
                   "[--destination TEXT]",
          .summary = "file an access request (Art 20)", .render = render_state },
        { .words = "access countersign", .wire = "access.countersign", .positional = { "id" }, .usage = "ID",
          .summary = "the second officer confirms a request (Art 20(1))", .render = render_state },
        { .words = "access approve", .wire = "access.approve", .positional = { "id" },
          .options = { { "--valid-for", "valid_for", 0 } }, .usage = "ID [--valid-for '8 hours']",
          .summary = "approve a request (principal or authorised deputy, Art 19)", .render = render_state },
        { .words = "access deny", .wire = "access.deny", .positional = { "id" },
          .options = { { "--reason", "reason", CMD_OPT_REQUIRED } }, .usage = "ID --reason TEXT",
          .summary = "deny a request, saying why", .render = render_state },
        { .words = "access revoke", .wire = "access.revoke", .positional = { "id" },
          .options = { { "--reason", "reason", 0 } }, .usage = "ID [--reason TEXT]",
          .summary = "revoke an approved request", .render = render_state },
        { .words = "access list", .wire = "access.list", .usage = "", .summary = "requests filed here",
          .render = render_requests },
        { .words = "audit list", .wire = "audit.list",
          .options = { { "--limit", "limit", 0 }, { "--node", "node", 0 } }, .usage = "[--node ID] [--limit N]",
          .summary = "the latest records of this node's access log, or of the copy held of a node below",
          .render = render_audit },
        { .words = "audit verify", .wire = "audit.verify", .options = { { "--node", "node", 0 } },
          .usage = "[--node ID]", .summary = "recompute this node's access-log chain, or the copy of a node below",
          .render = render_verify },
        { 0 },
};
