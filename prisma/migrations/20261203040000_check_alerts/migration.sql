-- Alerts on checks (issue 18 item 5): CHECK_STATUS (a check's status, subject the check's name) and
-- CHECK_VALUE (one of its values, subject "<check>/<value key>"). A rule may name the one subject
-- it watches (a check, a check value, a mount point…); null: every subject.
ALTER TYPE "AlertMetric" ADD VALUE 'CHECK_STATUS';
ALTER TYPE "AlertMetric" ADD VALUE 'CHECK_VALUE';
ALTER TABLE "alert_rules" ADD COLUMN "subject" TEXT;
