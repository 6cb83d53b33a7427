-- 017: the canonical form of an access-log record is versioned (issue 17,
-- small ones). Form 1 joined the fields with 0x1f and wrote NULL as "":
-- a record whose camera is NULL and one whose camera is "" hashed the
-- same, and so did "a<US>" + "b" and "a" + "<US>b" in two fields. Form 2
-- (functions/audit.sql, audit_canonical_fields) writes each field with its
-- length, NULL as a length no field has. Records written before keep
-- form 1 and verify as they were hashed; the chaining trigger writes form
-- 2 from now on. A copy held of a child's log gets the form its hash was
-- made with (audit_copy_form), so a child not yet upgraded is copied too.
ALTER TABLE audit_log ADD COLUMN IF NOT EXISTS form smallint NOT NULL DEFAULT 1;
ALTER TABLE audit_copies ADD COLUMN IF NOT EXISTS form smallint NOT NULL DEFAULT 1;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'audit_log_form_known') THEN
        ALTER TABLE audit_log ADD CONSTRAINT audit_log_form_known CHECK (form IN (1, 2));
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'audit_copies_form_known') THEN
        ALTER TABLE audit_copies ADD CONSTRAINT audit_copies_form_known CHECK (form IN (1, 2));
    END IF;
END $$;
