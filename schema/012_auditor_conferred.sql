-- 012: the auditor, who reads the access log, the requests and the
-- officers (Art 5, 23(5)), is conferred from above like the principal and
-- the commander (functions/access.sql, conferral_confer): an admin who
-- registered an auditor with a key of their own would otherwise read every
-- investigation alone. An auditor registered before keeps the role in
-- officers.roles, where it no longer counts: confer it.
ALTER TABLE conferrals DROP CONSTRAINT IF EXISTS conferrals_role_check;
ALTER TABLE conferrals ADD CONSTRAINT conferrals_role_check CHECK (role IN ('principal', 'commander', 'auditor'));
