-- Scale-out: each running instance advertises itself here and refreshes heartbeat_at when it
-- renews its device leases. Instances with a recent heartbeat are "live"; each claims at most
-- ceil(devices / live instances) devices. A crashed instance's row simply goes stale.
CREATE TABLE "instances" (
    "id" TEXT NOT NULL,
    "hostname" TEXT NOT NULL,
    "pid" INTEGER NOT NULL,
    "started_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "heartbeat_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "instances_pkey" PRIMARY KEY ("id")
);

CREATE INDEX "instances_heartbeat_at_idx" ON "instances"("heartbeat_at");
