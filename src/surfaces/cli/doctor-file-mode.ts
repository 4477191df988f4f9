import { stat } from 'node:fs/promises';

import type { DoctorFinding, DoctorStatus } from './doctor-checks.js';

/** A file `cofre doctor` wants private, what it is, and how bad a loose mode is. */
export interface PrivateFileExpectation {
  /** What the file is, for the message: `key file of backend "local"`. */
  readonly what: string;
  readonly path: string;
  /** `fail` for files that hold a key or token in clear; `warn` for files cofre restricts itself when it opens them. */
  readonly whenLoose: Exclude<DoctorStatus, 'ok'>;
}

/**
 * Checks that a file is mode 600 or stricter and belongs to the user running cofre. A file that does not exist
 * gives no finding (the check that needs it reports that). Windows has no mode bits: no finding there.
 */
export async function fileModeFinding(
  check: string,
  expected: PrivateFileExpectation,
): Promise<DoctorFinding | undefined> {
  if (process.platform === 'win32') return undefined;
  let info: { mode: number; uid: number };
  try {
    info = await stat(expected.path);
  } catch {
    return undefined;
  }
  const mode = (info.mode & 0o777).toString(8).padStart(3, '0');
  const me = process.getuid?.();
  const details = { path: expected.path, mode, uid: info.uid };
  if (me !== undefined && info.uid !== me) {
    return {
      check,
      subject: expected.path,
      status: expected.whenLoose,
      message: `${expected.what} belongs to another user (uid ${info.uid}); make it cofre's own: \`chown $(id -un) ${expected.path} && chmod 600 ${expected.path}\``,
      details,
    };
  }
  if ((info.mode & 0o077) !== 0) {
    const who = (info.mode & 0o007) !== 0 ? 'every user' : 'its group';
    return {
      check,
      subject: expected.path,
      status: expected.whenLoose,
      message: `${expected.what} is mode ${mode}: ${who} can ${(info.mode & 0o066) !== 0 ? 'read or write' : 'reach'} it; run \`chmod 600 ${expected.path}\``,
      details,
    };
  }
  return { check, subject: expected.path, status: 'ok', message: `${expected.what}: mode ${mode}`, details };
}
