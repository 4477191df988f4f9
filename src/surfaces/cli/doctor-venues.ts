import type { DoctorCheck } from './doctor-checks.js';

/**
 * `cofre doctor`'s venue checks (issue 12): each account's key scope judged by `judgeKeyScope`, and the clock skew
 * against each venue's server time. NOT BUILT YET: being written in parallel; until then it reports nothing.
 */
export const venueDoctorChecks: DoctorCheck = () => Promise.resolve([]);
