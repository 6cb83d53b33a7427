"""Removal purges (issue 15, Deliver 6).

* yuelu-1's officers (one of them its principal, conferred by yuelu's
  admin) and the delegation its principal gave replicate to yuelu and the
  city; yuelu's admin removes yuelu-1: at yuelu and at the city its
  officers, its delegation and the conferral end, their keys are no longer
  admitted (within a roster load), and the purge is in both access logs;
* yuelu-2 is re-keyed at yuelu (enrolled again with a new key, the old one
  leaked): its officers are purged at yuelu and the city at once and the
  power yuelu conferred on its principal revoked; yuelu-2, started with
  the new key, is asked for a fresh snapshot, which brings the officers
  back at both tiers, and receives the revocation.

On the code before issue 15, the removed station's officers stayed known
and admitted at the city, with their delegation.
"""

import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SEVEN, auditor, TestFederation, register_officers, step, wait_until  # noqa: E402

NODES = [n for n in SEVEN if n[0] in ("city", "yuelu", "yuelu-1", "yuelu-2")]
ID = {n: i for n, _, i, _ in NODES}


def main():
    with TestFederation("purge", NODES, heartbeat_ms=500) as fed:
        fed.start()
        key = register_officers(fed, [("y1-op", "yuelu-1", "operator"),
                                      ("y1-principal", "yuelu-1", "principal"),
                                      ("y1-deputy", "yuelu-1", "deputy"),
                                      ("y2-op", "yuelu-2", "operator"),
                                      ("y2-principal", "yuelu-2", "principal")])
        fed.ctl_ok("yuelu-1", "delegation", "add", "--deputy", "y1-deputy", "--until", "7d",
                   as_identity=key["y1-principal"])

        def badges(node):
            rc, doc = fed.ctl(node, "officer", "list", as_identity=auditor(fed, node))
            return {o["badge"] for o in doc or []} if rc == 0 else None

        def delegations(node):
            rc, doc = fed.ctl(node, "delegation", "list", as_identity=auditor(fed, node))
            return [d for d in doc or [] if d["unit"] == ID["yuelu-1"]] if rc == 0 else None

        mine = {"y1-op", "y1-principal", "y1-deputy"}
        for node in ("yuelu", "city"):
            wait_until(lambda: mine | {"y2-op"} <= badges(node), 15, what="yuelu's officers at %s" % node)
            wait_until(lambda: len(delegations(node)) == 1, 15, what="the delegation at %s" % node)
            wait_until(lambda: fed.ctl(node, "status", as_identity=key["y1-op"])[0] == 0, 10,
                       what="y1-op admitted at %s" % node)
        held = fed.ctl_ok("yuelu", "officer", "conferrals")
        assert any(c["badge"] == "y1-principal" and c["live"] for c in held), held
        step("yuelu-1's officers, its principal's conferral and delegation known at yuelu and the city")

        # --- removal -------------------------------------------------------
        fed.ctl_ok("yuelu", "node", "remove", ID["yuelu-1"], "--reason", "station closed")
        for node in ("yuelu", "city"):
            wait_until(lambda: not (mine & badges(node)), 15, what="yuelu-1's officers gone at %s" % node)
            assert delegations(node) == [], "the delegation stays at %s: %s" % (node, delegations(node))
            wait_until(lambda: fed.ctl(node, "status", as_identity=key["y1-op"])[0] != 0, 5,
                       what="y1-op no longer admitted at %s" % node)
            rc, log = fed.ctl(node, "audit", "list", "--limit", "100", as_identity=auditor(fed, node))
            purge = [r for r in log if r["action"] == "officer.purge"]
            assert purge and "3 officer(s), 1 delegation(s)" in purge[-1]["detail"], \
                "the purge at %s: %s" % (node, purge)
        held = fed.ctl_ok("yuelu", "officer", "conferrals")
        assert [c["state"] for c in held if c["unit"] == ID["yuelu-1"]] == ["revoked"], \
            "the conferral stays at yuelu: %s" % held
        assert "y2-op" in badges("city"), "yuelu-2's officer went too"
        step("yuelu-1 removed at yuelu: its officers, delegation and conferral gone at yuelu and the city, "
             "keys refused, purges logged")

        # --- re-key --------------------------------------------------------
        y2 = fed.node("yuelu-2")
        y2.stop()
        shutil.move(y2.key_dir, y2.key_dir + ".leaked")
        subprocess.run([fed.vigild, "keygen", y2.key_dir], check=True, stdout=subprocess.DEVNULL)
        fed.ctl_ok("yuelu", "node", "enroll", y2.id, "--public-key", y2.public_key, "--sign-key", y2.sign_key,
               "--name", "yuelu-2")
        for node in ("yuelu", "city"):
            wait_until(lambda: "y2-op" not in badges(node), 15, what="yuelu-2's officer purged at %s" % node)
        tree = fed.tree("city")
        assert y2.id in tree, "the re-keyed station left the city's tree"
        step("yuelu-2 re-keyed at yuelu: its officer purged at yuelu and the city")
        y2.write_configs()       # vigilctl talks to the new key
        y2.start()
        for node in ("yuelu", "city"):
            wait_until(lambda: "y2-op" in badges(node), 20, what="yuelu-2's officer back at %s" % node)
        wait_until(lambda: fed.ctl("city", "status", as_identity=key["y2-op"])[0] == 0, 10,
                   what="y2-op admitted at the city again")

        def y2_powers():
            rc, held = fed.ctl("yuelu-2", "officer", "conferrals")
            return [(c["badge"], c["state"]) for c in held or []] if rc == 0 else None
        wait_until(lambda: y2_powers() == [("y2-principal", "revoked")], 15,
                   what="the power conferred on y2-principal revoked at the re-keyed yuelu-2")
        for node in ("city", "yuelu", "yuelu-2"):
            rc, doc = fed.ctl(node, "audit", "verify")
            assert rc == 0 and doc.get("ok") is True, "%s verify: %s" % (node, doc)
        step("started with the new key, yuelu-2 sends a fresh snapshot: its officer is back; the power "
             "conferred on its principal is revoked there too (conferred again if still wanted)")
    step("ok")


if __name__ == "__main__":
    main()
