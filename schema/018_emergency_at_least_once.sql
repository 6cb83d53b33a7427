-- 018: a station acts on an emergency order at least once (issue 17,
-- fault 7). emergency_take() marked an order acted on when it was taken,
-- before its systems were linked: a crash in between left them never
-- linked and the report never done. emergency_work() (functions/
-- emergency.sql) takes without marking, and emergency_acted() marks in the
-- transaction of the final report.
DROP FUNCTION IF EXISTS emergency_take();
