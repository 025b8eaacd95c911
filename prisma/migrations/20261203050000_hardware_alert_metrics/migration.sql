-- Hardware alert metrics (issue 19): pool and md array states, hwmon temperatures and fans, GPU temperatures.
ALTER TYPE "AlertMetric" ADD VALUE 'POOL_STATE';
ALTER TYPE "AlertMetric" ADD VALUE 'ARRAY_STATE';
ALTER TYPE "AlertMetric" ADD VALUE 'SENSOR_TEMPERATURE_C';
ALTER TYPE "AlertMetric" ADD VALUE 'FAN_RPM';
ALTER TYPE "AlertMetric" ADD VALUE 'GPU_TEMPERATURE_C';
