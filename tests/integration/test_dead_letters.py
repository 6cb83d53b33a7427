#!/usr/bin/python3
"""test_dead_letters: a poison change no longer blocks a link (issue 17,
known fault 1), end to end, on five real nodes (the city, yuelu and
furong, yuelu-1 and furong-1).

1 One officer key, two districts: yuelu-1 registers officer dl-a with a
  key, furong-1 then registers dl-b with the same key. The city holds
  dl-a; dl-b is refused there (one key, one officer: Art 20(1)) without
  an SQL error, and kept as a dead letter of furong's, with the reason.
  furong's other changes still reach the city (a site added after it).
  `status` at the city counts it against furong; `deadletter list` shows
  it; `deadletter retry` is refused while the cause stands; `deadletter
  discard` needs a reason and is on the city's access log.
2 An SQL error at a district: a trigger (made by hand at yuelu's database)
  makes the apply of one site fail. yuelu-1 adds three sites; yuelu takes
  the failed batch apart, holds the poison site as a dead letter (logged
  at error level), and the sites before and after it reach the city. The
  hold is on yuelu's access log, whose copy goes up: the city sees it
  (the alarm up the tree). With the trigger dropped, `deadletter retry`
  at yuelu applies it, and it goes on up to the city.

On the code before issue 17, the city resynchronised with furong for ever
(the officer) or dropped the change silently, and yuelu's uplink stopped
at the poison site.
"""

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SEVEN, TestFederation, psql, step, wait_until  # noqa: E402

NODES = [n for n in SEVEN if n[0] in ("city", "yuelu", "furong", "yuelu-1", "furong-1")]
ID = {n: i for n, _, i, _ in NODES}


def one(fed, name, query):
    rc, out, err = psql(fed, name, query)
    assert rc == 0, "psql at %s: %s" % (name, err)
    return out


def count(fed, name, query):
    out = one(fed, name, query)
    return int(out) if out else 0


def site(fed, station, code):
    fed.ctl_ok(station, "site", "add", "--code", code, "--name", code, "--location-type", "junction")


def has_site(fed, name, station, code):
    return count(fed, name, "SELECT count(*) FROM sites WHERE station_id = '%s' AND code = '%s'"
                 % (ID[station], code)) == 1


def main():
    with TestFederation("deadletters", NODES, heartbeat_ms=500) as fed:
        fed.start()

        # --- 1: one officer key registered in two districts ----------------
        key_file = os.path.join(fed.tmp, "dl.key")
        key = subprocess.run([fed.vigilctl, "officer", "keygen", key_file, "--name", "dl"], check=True,
                             stdout=subprocess.PIPE, text=True).stdout.split()[0]
        fed.ctl_ok("yuelu-1", "officer", "add", "--badge", "dl-a", "--name", "first", "--credential", "DL-A",
                   "--roles", "investigator", "--public-key", key)
        wait_until(lambda: count(fed, "city", "SELECT count(*) FROM officers WHERE badge = 'dl-a'") == 1, 20,
                   what="dl-a at the city")
        fed.ctl_ok("furong-1", "officer", "add", "--badge", "dl-b", "--name", "second", "--credential", "DL-B",
                   "--roles", "investigator", "--public-key", key)
        wait_until(lambda: count(fed, "city", "SELECT count(*) FROM dead_letters WHERE peer_id = '%s' "
                                              "AND kind = 'officer' AND state = 'held'" % ID["furong"]) == 1,
                   20, what="dl-b held as a dead letter at the city")
        assert count(fed, "city", "SELECT count(*) FROM officers WHERE badge = 'dl-b'") == 0, \
            "a second badge for one key at the city"
        site(fed, "furong-1", "after-officer")
        wait_until(lambda: has_site(fed, "city", "furong-1", "after-officer"), 20,
                   what="furong-1's next change at the city (the link goes on)")
        step("dl-b (dl-a's key) is a dead letter at the city; furong's link goes on")

        def held_at_city():
            st = fed.ctl_ok("city", "status")
            kids = {c["id"]: c for c in st["children"]}
            return st["dead_letters"]["held"] == 1 and kids[ID["furong"]]["dead_letters"] == 1 \
                and kids[ID["yuelu"]]["dead_letters"] == 0
        wait_until(held_at_city, 10, what="status at the city counting furong's dead letter")
        human = subprocess.run([fed.vigilctl, "-c", fed.node("city").ctl_conf, "status"], stdout=subprocess.PIPE,
                               text=True).stdout
        assert "dead letters" in human and "1 held" in human, "status (human) says nothing: %s" % human
        letters = fed.ctl_ok("city", "deadletter", "list")
        assert len(letters) == 1, letters
        dl = letters[0]
        assert dl["peer"] == ID["furong"] and dl["kind"] == "officer" and dl["state"] == "held" \
            and "already the identity of dl-a" in dl["reason"] and dl["size"] > 0 and dl["seq"] > 0, dl
        rc, doc = fed.ctl("city", "deadletter", "retry", str(dl["id"]))
        assert rc == 1 and "refused again" in doc["error"], "a retry while the cause stands: %s %s" % (rc, doc)
        rc, doc = fed.ctl("city", "deadletter", "discard", str(dl["id"]))
        assert rc == 2, "a discard without a reason: %s %s" % (rc, doc)
        doc = fed.ctl_ok("city", "deadletter", "discard", str(dl["id"]), "--reason", "dl-b is not a second officer")
        assert doc == {"id": str(dl["id"]), "state": "discarded"}, doc
        assert count(fed, "city", "SELECT count(*) FROM audit_log WHERE action = 'deadletter.discard' AND "
                                  "detail LIKE '%dl-b is not a second officer'") == 1, "the discard is not logged"
        assert fed.ctl_ok("city", "deadletter", "list") == [], "a discarded letter still listed as held"
        assert len(fed.ctl_ok("city", "deadletter", "list", "--state", "discarded")) == 1
        wait_until(lambda: fed.ctl_ok("city", "status")["dead_letters"]["held"] == 0, 10,
                   what="no dead letter held at the city")
        step("status counts it, list shows it, retry refused while it stands, discard with a reason, logged")

        # --- 2: an SQL error applying one change, at a district ------------
        one(fed, "yuelu", "CREATE FUNCTION test_poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                          "IF NEW.code = 'poison' THEN RAISE EXCEPTION 'poisoned site (a test trigger)'; END IF; "
                          "RETURN NEW; END $$; CREATE TRIGGER test_poison BEFORE INSERT OR UPDATE ON sites "
                          "FOR EACH ROW EXECUTE FUNCTION test_poison()")
        mark = fed.log_mark("yuelu")
        for code in ("before", "poison", "after"):
            site(fed, "yuelu-1", code)
        wait_until(lambda: has_site(fed, "city", "yuelu-1", "after"), 30,
                   what="the site after the poison one at the city")
        assert has_site(fed, "city", "yuelu-1", "before") and not has_site(fed, "city", "yuelu-1", "poison")
        held = one(fed, "yuelu", "SELECT id || '|' || kind || '|' || reason FROM dead_letters WHERE state = 'held'")
        assert held.count("\n") == 0 and "|site|" in held and "poisoned site" in held, held
        dl_id = held.split("|")[0]
        log = fed.log_since("yuelu", mark)
        assert "level=error" in log and "held as a dead letter" in log, "not logged at error level:\n%s" % log[-3000:]
        wait_until(lambda: count(fed, "city", "SELECT count(*) FROM audit_copies WHERE node_id = '%s' AND "
                                              "action = 'deadletter.hold'" % ID["yuelu"]) == 1, 20,
                   what="yuelu's dead letter on its access log's copy at the city")
        step("an SQL error at yuelu: the one site held there, the rest at the city; the city sees the hold")

        one(fed, "yuelu", "DROP TRIGGER test_poison ON sites; DROP FUNCTION test_poison()")
        doc = fed.ctl_ok("yuelu", "deadletter", "retry", dl_id)
        assert doc == {"id": dl_id, "state": "retried"}, doc
        wait_until(lambda: has_site(fed, "city", "yuelu-1", "poison"), 20,
                   what="the retried site forwarded up to the city")
        assert count(fed, "yuelu", "SELECT count(*) FROM dead_letters WHERE state = 'retried' AND id = %s"
                     % dl_id) == 1
        rc, doc = fed.ctl("yuelu", "deadletter", "retry", dl_id)
        assert rc == 1 and "already retried" in doc["error"], (rc, doc)
        step("the cause gone, retry applies it at yuelu and it goes on up")


if __name__ == "__main__":
    main()
