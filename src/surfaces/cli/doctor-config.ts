import type { DoctorCheck } from './doctor-checks.js';

/**
 * `cofre doctor`'s config check, once the config has loaded (a config that does not load is reported by
 * `cofre doctor` itself, with every problem the loader found, and nothing else is checked).
 */
export const configDoctorCheck: DoctorCheck = (ctx) => {
  const count = (o: object): number => Object.keys(o).length;
  const { backends, accounts, policies } = ctx.config;
  return Promise.resolve([
    {
      check: 'config',
      subject: ctx.configPath,
      status: 'ok',
      message: `valid: ${count(backends)} backend(s), ${count(accounts)} account(s), ${count(policies)} polic(ies)`,
      details: { backends: count(backends), accounts: count(accounts), policies: count(policies) },
    },
  ]);
};
