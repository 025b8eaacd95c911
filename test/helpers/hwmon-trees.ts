// sysfs hwmon trees written at test time, each file as the kernel documents it
// (Documentation/hwmon/sysfs-interface.rst: one value per file and a newline; tempN_* in
// millidegrees Celsius, fanN_* in RPM). They are kept here rather than as committed files because
// one-value files ("0", "coretemp", an empty label) repeat the shared corpus byte for byte.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

type Tree = Record<string, string>;

/**
 * coretemp (temp1, temp2 and temp10: temp2 sorts before temp10), an nct6798 Super I/O whose fan1
 * has stopped (0 RPM, minimum 300), with an empty temp2_label and a voltage and a PWM attribute
 * that are not read, and an nvme chip numbered hwmon10 (sorts after hwmon1) whose "Sensor 1" has
 * the 65261850 maximum NVMe drives report for "no threshold" (read as null).
 */
export const CORETEMP_NCT6798_NVME: Tree = {
  'hwmon0/name': 'coretemp',
  'hwmon0/temp1_input': '48000',
  'hwmon0/temp1_label': 'Package id 0',
  'hwmon0/temp1_max': '80000',
  'hwmon0/temp1_crit': '100000',
  'hwmon0/temp2_input': '45000',
  'hwmon0/temp2_label': 'Core 0',
  'hwmon0/temp2_max': '80000',
  'hwmon0/temp2_crit': '100000',
  'hwmon0/temp10_input': '47000',
  'hwmon0/temp10_label': 'Core 8',
  'hwmon0/temp10_max': '80000',
  'hwmon0/temp10_crit': '100000',
  'hwmon1/name': 'nct6798',
  'hwmon1/temp1_input': '38000',
  'hwmon1/temp1_label': 'SYSTIN',
  'hwmon1/temp2_input': '41500',
  'hwmon1/temp2_label': '',
  'hwmon1/fan1_input': '0',
  'hwmon1/fan1_min': '300',
  'hwmon1/fan2_input': '1245',
  'hwmon1/fan2_min': '0',
  'hwmon1/in0_input': '1000',
  'hwmon1/pwm1': '128',
  'hwmon10/name': 'nvme',
  'hwmon10/temp1_input': '39850',
  'hwmon10/temp1_label': 'Composite',
  'hwmon10/temp1_max': '84850',
  'hwmon10/temp1_crit': '89850',
  'hwmon10/temp2_input': '41850',
  'hwmon10/temp2_label': 'Sensor 1',
  'hwmon10/temp2_max': '65261850',
  'hwmon10/temp2_min': '-273150',
};

/**
 * /sys/class/hwmon as 2.6 kernels laid it out before the drivers' conversion to hwmon attribute
 * groups (the w83627hf driver of that era): hwmon0 holds nothing but device/, where name and the
 * sensor attributes live. temp2_input is empty (a sensor that reported nothing), so temp2 is listed
 * with a null reading beside its maximum; fan1_div is not read.
 */
export const OLD_DRIVER_DEVICE_DIR: Tree = {
  'hwmon0/device/name': 'w83627hf',
  'hwmon0/device/temp1_input': '37000',
  'hwmon0/device/temp2_input': '',
  'hwmon0/device/temp2_max': '60000',
  'hwmon0/device/fan1_input': '2250',
  'hwmon0/device/fan1_min': '1000',
  'hwmon0/device/fan1_div': '4',
};

/** Writes the tree under a fresh directory laid out as a host's `/`, and returns that directory. */
export function writeHwmonTree(tree: Tree): string {
  const root = mkdtempSync(join(tmpdir(), 'infrapulse-hwmon-'));
  for (const [path, value] of Object.entries(tree)) {
    const file = join(root, 'sys/class/hwmon', path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, value === '' ? '' : `${value}\n`);
  }
  return root;
}
