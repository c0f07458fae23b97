// AppArmor and SELinux labels, applied only when the kernel has that LSM enabled.
// Without it (the test VM has neither) runc 1.1.5 fails every one of them: an
// SELinux process label at validation, a mount label when the kernel rejects the
// `context=` mount option, an AppArmor profile when /proc/self/attr/exec refuses
// it. berth fails the same configs, but up front with an error naming the field.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { invalid } from '../errors.js';

export function appArmorEnabled(): boolean {
  try {
    return readFileSync('/sys/module/apparmor/parameters/enabled', 'utf8').trim() === 'Y' && existsSync('/sys/kernel/security/apparmor');
  } catch {
    return false;
  }
}

export function selinuxEnabled(): boolean {
  return existsSync('/sys/fs/selinux/enforce');
}

/** The labels the next execve takes on, written by the thread that will exec (attr files are per-thread). */
export function applyExecLabels(apparmorProfile: string | undefined, selinuxLabel: string | undefined): void {
  if (apparmorProfile && appArmorEnabled()) {
    const attr = existsSync('/proc/thread-self/attr/apparmor/exec') ? '/proc/thread-self/attr/apparmor/exec' : '/proc/thread-self/attr/exec';
    writeFileSync(attr, `exec ${apparmorProfile}`);
  }
  if (selinuxLabel && selinuxEnabled()) writeFileSync('/proc/thread-self/attr/exec', selinuxLabel);
}


/** The create/exec-time check: a label for an LSM this kernel does not run is an error (see above). */
export function checkLabels(labels: { apparmorProfile?: string; selinuxLabel?: string; mountLabel?: string }): void {
  if (labels.apparmorProfile && !appArmorEnabled()) {
    throw invalid('process.apparmorProfile: apparmor profile is specified in config, but apparmor is not enabled on this kernel');
  }
  if (selinuxEnabled()) return;
  if (labels.selinuxLabel) throw invalid('process.selinuxLabel: selinux label is specified in config, but selinux is disabled or not supported');
  if (labels.mountLabel) throw invalid('linux.mountLabel: mount label is specified in config, but selinux is disabled or not supported');
}
