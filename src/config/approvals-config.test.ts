// The `approvals` section: the expiry default, the webhook's transport rule and its key as a checked reference.
import { describe, expect, it } from 'vitest';

import { CofreError } from '../errors.js';
import { listSecretReferences } from './config-schema.js';
import { parseConfig } from './load-config.js';

const BACKEND = 'backends:\n  local: { type: embedded, path: s, keyFile: k }\n';

function problems(yaml: string): string {
  try {
    parseConfig(yaml, { sourcePath: 'c.yaml' });
  } catch (err) {
    if (err instanceof CofreError) return err.message;
    throw err;
  }
  throw new Error('expected an invalid config');
}

describe('approvals config', () => {
  it('defaults to a 15 minute expiry and no webhook', () => {
    expect(parseConfig(BACKEND, { sourcePath: 'c.yaml' }).approvals).toEqual({ expiry: 900_000 });
  });

  it('reads a webhook with its defaults, and lists its key among the references', () => {
    const yaml = `${BACKEND}approvals:\n  expiry: 5m\n  webhook:\n    url: https://hooks.example/cofre\n    key: local:webhooks/approvals\n`;
    const config = parseConfig(yaml, { sourcePath: 'c.yaml' });
    expect(config.approvals).toEqual({
      expiry: 300_000,
      webhook: {
        url: 'https://hooks.example/cofre',
        key: 'local:webhooks/approvals',
        timeout: 5_000,
        retries: 3,
      },
    });
    expect(listSecretReferences(config)).toContainEqual({
      path: ['approvals', 'webhook', 'key'],
      reference: 'local:webhooks/approvals',
    });
  });

  it('allows plain http only to loopback', () => {
    for (const url of ['http://127.0.0.1:9000/hook', 'http://localhost/hook', 'http://[::1]:8080/']) {
      const yaml = `${BACKEND}approvals:\n  webhook: { url: "${url}", key: "local:k" }\n`;
      expect(parseConfig(yaml, { sourcePath: 'c.yaml' }).approvals.webhook?.url).toBe(url);
    }
    const message = problems(
      `${BACKEND}approvals:\n  webhook: { url: "http://hooks.example/x", key: "local:k" }\n`,
    );
    expect(message).toMatch(/approvals\.webhook\.url/);
    expect(message).toMatch(/must use https/);
  });

  it('reports a literal key, an unknown backend and a too short expiry at once', () => {
    const message = problems(
      `${BACKEND}approvals:\n  expiry: 1s\n  webhook: { url: "https://h.example", key: "nope:k", retries: 99 }\n`,
    );
    expect(message).toMatch(/approvals\.expiry/);
    expect(message).toMatch(/approvals\.webhook\.key.*backend "nope" is not configured/s);
    expect(message).toMatch(/approvals\.webhook\.retries/);
  });
});
