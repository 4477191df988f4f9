import type { DoctorCheck } from './doctor-checks.js';

/**
 * `cofre doctor`'s config check, once the config has loaded (a config that does not load is reported by
 * `cofre doctor` itself, with every problem the loader found, and nothing else is checked).
 */
export const configDoctorCheck: DoctorCheck = (ctx) => {
  const count = (o: object): number => Object.keys(o).length;
  const n = (o: object, one: string, many: string): string => `${count(o)} ${count(o) === 1 ? one : many}`;
  const { backends, accounts, policies } = ctx.config;
  return Promise.resolve([
    {
      check: 'config',
      subject: ctx.configPath,
      status: 'ok',
      message: `valid: ${n(backends, 'backend', 'backends')}, ${n(accounts, 'account', 'accounts')}, ${n(policies, 'policy', 'policies')}`,
      details: { backends: count(backends), accounts: count(accounts), policies: count(policies) },
    },
  ]);
};
