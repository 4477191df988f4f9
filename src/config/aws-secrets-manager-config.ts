import { z } from 'zod';

import { byteSizeSchema } from './byte-size.js';
import { durationSchema } from './duration.js';

/**
 * Config of the `aws-secrets-manager` backend. The backend object itself is assembled in `backend-config.ts` with
 * `backendObject('aws-secrets-manager', …)` from {@link awsSecretsManagerBackendShape}.
 *
 * SECURITY: there is deliberately no field for access keys. Credentials come from the AWS SDK's default provider
 * chain (an IAM role on EC2/ECS/EKS/Lambda, IAM Identity Center (SSO), a shared profile, or the standard
 * environment variables), so no AWS key ever sits in cofre's config file.
 */
export const awsSecretsManagerBackendShape = {
  region: z
    .string()
    .regex(/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/, { error: 'an AWS region such as "us-east-1" or "eu-central-2"' })
    .optional()
    .describe(
      'AWS region of the secrets, e.g. `eu-west-1`. Default: what the AWS SDK resolves (`AWS_REGION`, then the `region` of the AWS profile); cofre refuses to start when neither is set.',
    ),
  endpoint: z
    .url({ protocol: /^https?$/, error: 'invalid endpoint; expected an http(s) URL' })
    .optional()
    .describe(
      'Endpoint URL instead of the public regional one: an interface VPC endpoint, or a test server. The SDK also honours `AWS_ENDPOINT_URL_SECRETS_MANAGER` when this is not set.',
    ),
  profile: z
    .string()
    .regex(/^[A-Za-z0-9_.+=,@-]{1,128}$/, { error: 'a profile name from ~/.aws/config' })
    .optional()
    .describe(
      'Named profile in `~/.aws/config` for the default credential chain (SSO, assume-role, `credential_process`). cofre takes no access keys in its own config: use an IAM role, SSO or a profile.',
    ),
  maxAttempts: z
    .int()
    .min(1)
    .max(10)
    .default(3)
    .describe(
      'Attempts per AWS call, the first included. The SDK retries throttling, 5xx, timeouts and network errors with exponential backoff and jitter (standard retry mode); permission errors are never retried.',
    ),
  prefix: z
    .string()
    .regex(/^[A-Za-z0-9/_+=.@-]{1,256}$/, {
      error: 'a secret name prefix: letters, digits and / _ + = . @ -',
    })
    .optional()
    .describe(
      'Prepended to every secret name (not to ARNs): with `prefix: prod/cofre/`, `aws:binance` reads the secret `prod/cofre/binance`. `cofre secret list` shows only names under it, without it. Not an access boundary: scope the IAM policy to the same prefix.',
    ),
  recoveryWindowDays: z
    .int()
    .min(7)
    .max(30)
    .optional()
    .describe(
      'When set, `cofre secret rm` schedules deletion with this recovery window (7 to 30 days; restore with `aws secretsmanager restore-secret`). Default: deleted at once, without recovery.',
    ),
  maxResponseSize: byteSizeSchema({ min: 4096, max: 64 * 1024 ** 2 })
    .prefault('1MiB')
    .describe(
      'Largest answer read from Secrets Manager: bytes, or a size like "1MiB". Parsed to bytes. A bigger answer is refused unread (`COFRE_BACKEND_RESPONSE_TOO_LARGE`); AWS itself caps a secret at 64 KiB.',
    ),
  requestTimeout: durationSchema({ min: 100 })
    .prefault('10s')
    .describe('Timeout of one HTTP attempt (retries get their own). Parsed to milliseconds.'),
} as const;
