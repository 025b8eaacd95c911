-- Drive baselines (issue 19 item 4): a drive's error counters as an operator acknowledged them,
-- so DRIVE_COUNTER_INCREASE fires on a rise above them rather than on any non-zero count.
CREATE TABLE "drive_baselines" (
  "device_id" TEXT NOT NULL,
  "drive" TEXT NOT NULL,
  "counters" JSONB NOT NULL,
  "acknowledged_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  "acknowledged_by" TEXT,
  CONSTRAINT "drive_baselines_pkey" PRIMARY KEY ("device_id", "drive"),
  CONSTRAINT "drive_baselines_device_id_fkey" FOREIGN KEY ("device_id") REFERENCES "devices"("id") ON DELETE CASCADE ON UPDATE CASCADE
);
ALTER TYPE "AlertMetric" ADD VALUE 'DRIVE_COUNTER_INCREASE';
