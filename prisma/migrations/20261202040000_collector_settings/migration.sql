-- Per-device collector settings and state (issue 14 item 3): a collector can be switched off
-- per device, and what its runs last said (OK, FAILING, UNAVAILABLE with a reason and the last
-- run's time) survives restarts, so a host without docker is not re-learnt as new each start.
ALTER TABLE "devices" ADD COLUMN "disabled_collectors" TEXT[] DEFAULT ARRAY[]::TEXT[];
ALTER TABLE "devices" ADD COLUMN "collector_states" JSONB NOT NULL DEFAULT '{}';
