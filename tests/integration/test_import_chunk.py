"""An import chunk over the node's row limit (issue 17, small ones).

vigilctl sends a CSV file to the node in chunks of records as it reads
them; the node (lib/control/catalogctl/import.c) takes at most 20,000
rows a chunk. It used to take the first 20,000 and drop the rest without
a word. vigilctl's reader and the node's may disagree on where a record
ends: a file whose rows end in a bare CR after its header is one record
to vigilctl (a record ends at LF) and one row per CR to the node. Such a
file of 20,001 rows is refused whole, with a reason naming the limit;
nothing of it is imported. A file of 20,000 such rows imports whole.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SEVEN, FederationError, TestFederation, psql, step  # noqa: E402

NODES = [n for n in SEVEN if n[0] in ("city", "yuelu", "yuelu-1")]
LIMIT = 20000


def sites_file(path, first, count):
    rows = ["ck-%06d,site %d,junction" % (first + i, first + i) for i in range(count)]
    with open(path, "w", newline="") as f:
        f.write("code,name,location_type\n" + "\r".join(rows) + "\n")
    return path


def site_count(fed):
    rc, out, err = psql(fed, "yuelu-1", "SELECT count(*) FROM sites")
    assert rc == 0, "count of sites: %s" % err
    return int(out)


def main():
    with TestFederation("import_chunk", NODES) as fed:
        fed.start()
        before = site_count(fed)
        over = sites_file(os.path.join(fed.tmp, "over.csv"), 0, LIMIT + 1)
        rc, doc = fed.ctl("yuelu-1", "site", "import", over, timeout=300)
        step("%d rows in one chunk: exit %d: %s" % (LIMIT + 1, rc, str(doc)[:300]))
        assert rc != 0, "a chunk of %d rows was taken: %s" % (LIMIT + 1, str(doc)[:300])
        assert "20000" in doc.get("error", "") and "nothing" in doc.get("error", ""), \
            "the refusal does not name the limit: %s" % doc
        assert site_count(fed) == before, "rows of a refused chunk were imported"
        step("refused whole, nothing imported")
        at = sites_file(os.path.join(fed.tmp, "at.csv"), 100000, LIMIT)
        rc, doc = fed.ctl("yuelu-1", "site", "import", at, timeout=300)
        assert rc == 0 and doc.get("imported") == LIMIT, "a chunk of %d rows: exit %d: %s" % (
            LIMIT, rc, str(doc)[:300])
        assert site_count(fed) == before + LIMIT
        step("%d rows in one chunk: imported whole" % LIMIT)
    step("ok")


if __name__ == "__main__":
    try:
        main()
    except FederationError as e:
        raise SystemExit("test_import_chunk: %s" % e)
