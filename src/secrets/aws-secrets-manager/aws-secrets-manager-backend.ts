import { isUtf8 } from 'node:buffer';

import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  type GetSecretValueCommandInput,
  ListSecretsCommand,
  type ListSecretsCommandOutput,
  ListSecretVersionIdsCommand,
  type ListSecretVersionIdsCommandOutput,
  PutSecretValueCommand,
  SecretsManagerClient,
  type SecretsManagerClientConfig,
  type SecretVersionsListEntry,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';

import { CofreError, isCofreError } from '../../errors.js';
import { type BackendLog, silentLog } from '../backend-log.js';
import { DEFAULT_MAX_RESPONSE_BYTES } from '../bounded-body.js';
import { assertClearableStage, type ClearableStage } from '../clearable-stage.js';
import type {
  BackendCapabilities,
  SecretBackend,
  SecretMetadata,
  SecretRecord,
  SecretVersionInfo,
  WriteOptions,
} from '../secret-backend.js';
import { formatSecretReference, type Stage, STAGES, type VersionSelector } from '../secret-reference.js';
import { SecretValue } from '../secret-value.js';
import { AWS_SECRET_NAME, awsSecretId, MAX_AWS_SECRET_NAME_LENGTH } from './aws-secret-id.js';
import { type AwsOperation, mapAwsError } from './map-aws-error.js';
import { limitResponseSize } from './response-size-limit.js';

/** Largest SecretString or SecretBinary AWS Secrets Manager stores. */
export const MAX_AWS_SECRET_VALUE_BYTES = 65_536;
/** SDK attempts per call (the first try and its retries) unless configured. */
export const DEFAULT_AWS_MAX_ATTEMPTS = 3;
/** Per-attempt HTTP timeout unless configured. */
export const DEFAULT_AWS_REQUEST_TIMEOUT_MS = 10_000;
const CONNECTION_TIMEOUT_MS = 3_000;
/** Lookups `clearStage` makes when concurrent writers keep moving the label it clears. */
const CLEAR_STAGE_ATTEMPTS = 3;

/** cofre stage ↔ AWS staging label. */
const AWS_STAGE: Readonly<Record<Stage, string>> = {
  current: 'AWSCURRENT',
  previous: 'AWSPREVIOUS',
  pending: 'AWSPENDING',
};
const COFRE_STAGE: ReadonlyMap<string, Stage> = new Map(STAGES.map((s) => [AWS_STAGE[s], s]));

/** Options for {@link AwsSecretsManagerBackend.open}; the config block maps onto these one to one. */
export interface AwsSecretsManagerBackendOptions {
  /** The backend's name in the config (the part before `:` in a reference). Default `aws`. */
  readonly name?: string;
  /** AWS region; default: the SDK's resolution (`AWS_REGION`, then the profile's `region`). */
  readonly region?: string;
  /** Endpoint URL (VPC endpoint, test server); default: the SDK's (`AWS_ENDPOINT_URL_SECRETS_MANAGER` or AWS). */
  readonly endpoint?: string;
  /** Shared config/credentials profile the default credential chain uses. */
  readonly profile?: string;
  /** SDK attempts per call, first try included (standard retry mode: exponential backoff with jitter). */
  readonly maxAttempts?: number;
  /** Prepended to every secret name (not to ARNs); `list()` returns names with it removed. */
  readonly prefix?: string;
  /** Schedule deletions with this recovery window (7–30 days) instead of deleting at once. */
  readonly recoveryWindowDays?: number;
  /** Per-attempt HTTP timeout in milliseconds. */
  readonly requestTimeoutMs?: number;
  /** Largest answer read, in bytes; a bigger one is `COFRE_BACKEND_RESPONSE_TOO_LARGE`. Default 1 MiB. */
  readonly maxResponseBytes?: number;
  /**
   * Test-only: static credentials or a provider in place of the SDK's default chain. The config has no such field
   * and never will: cofre does not take AWS access keys in its own configuration.
   */
  readonly credentials?: SecretsManagerClientConfig['credentials'];
  /** Where the backend reports retried and failed calls (references, codes, request ids only). */
  readonly log?: BackendLog;
}

interface Settings {
  readonly name: string;
  readonly prefix: string;
  readonly recoveryWindowDays: number | undefined;
  readonly log: BackendLog;
}

/**
 * AWS Secrets Manager, backend type `aws-secrets-manager`, through the official SDK v3
 * (https://docs.aws.amazon.com/secretsmanager/latest/apireference/).
 *
 * Contract: implements {@link SecretBackend} with every capability.
 * - Paths are secret names (with the configured `prefix` in front) or full ARNs (used as is).
 * - Values are stored as `SecretString` when they are valid UTF-8 (JSON objects included, so `#field` works and
 *   the AWS console shows them) and as `SecretBinary` otherwise; 1 byte to 64 KiB.
 * - Versions are AWS `VersionId`s (UUIDs). Stages are staging labels: `current` ↔ `AWSCURRENT`,
 *   `previous` ↔ `AWSPREVIOUS`, `pending` ↔ `AWSPENDING`; `latest` reads `AWSCURRENT`. Other labels are ignored.
 * - `describe` lists every version AWS still keeps, including deprecated ones (no label): they stay readable by id
 *   until AWS removes them, and a rollback may need them.
 * - `write` is `PutSecretValue`, or `CreateSecret` for a new name; a new secret's first version always gets
 *   `AWSCURRENT` from AWS, even when written as pending. `moveStage` is `UpdateSecretVersionStage`.
 * - `remove` deletes without a recovery window unless `recoveryWindowDays` is set; a secret scheduled for
 *   deletion reads as `COFRE_SECRET_NOT_FOUND`.
 * Errors are mapped by {@link mapAwsError}, after the SDK's own retries.
 *
 * Trust: credentials come from the SDK's default provider chain only (IAM role, SSO, profile, environment).
 * The SDK gets no logger, so it logs nothing about requests or responses.
 *
 * SECURITY: an SDK error is never attached or logged as is: it may hold the HTTP response, which for
 * GetSecretValue carries the value (see `AwsCallFailure`).
 *
 * Concurrency: safe to call concurrently (one SDK client, keep-alive connections). `moveStage` reads the current
 * label holder and then moves the label; AWS refuses the move if another writer moved it in between.
 */
export class AwsSecretsManagerBackend implements SecretBackend {
  readonly type = 'aws-secrets-manager';
  readonly capabilities: BackendCapabilities = Object.freeze({
    binary: true,
    write: true,
    listVersions: true,
    stages: true,
    delete: true,
  });
  readonly name: string;

  readonly #settings: Settings;
  #client: SecretsManagerClient | undefined;

  private constructor(client: SecretsManagerClient, settings: Settings) {
    this.#client = client;
    this.#settings = settings;
    this.name = settings.name;
  }

  /**
   * Builds the SDK client and resolves the region (so a missing region fails here, as `COFRE_CONFIG_INVALID`,
   * not on the first read). Does not call AWS: an outage at start-up does not stop cofre from starting.
   */
  static async open(options: AwsSecretsManagerBackendOptions = {}): Promise<AwsSecretsManagerBackend> {
    const name = options.name ?? 'aws';
    const prefix = options.prefix ?? '';
    if (prefix !== '' && (!AWS_SECRET_NAME.test(prefix) || prefix.length >= MAX_AWS_SECRET_NAME_LENGTH)) {
      throw new CofreError('COFRE_CONFIG_INVALID', `backend "${name}": invalid secret name prefix`);
    }
    const maxAttempts = options.maxAttempts ?? DEFAULT_AWS_MAX_ATTEMPTS;
    if (!Number.isSafeInteger(maxAttempts) || maxAttempts < 1) {
      throw new CofreError(
        'COFRE_CONFIG_INVALID',
        `backend "${name}": maxAttempts must be a positive integer`,
      );
    }
    const recoveryWindowDays = options.recoveryWindowDays;
    if (
      recoveryWindowDays !== undefined &&
      (!Number.isSafeInteger(recoveryWindowDays) || recoveryWindowDays < 7 || recoveryWindowDays > 30)
    ) {
      throw new CofreError('COFRE_CONFIG_INVALID', `backend "${name}": recoveryWindowDays must be 7 to 30`);
    }
    const config: SecretsManagerClientConfig = {
      maxAttempts,
      // Explicit, so that AWS_RETRY_MODE=adaptive cannot make a call wait client-side for a rate-limit token.
      retryMode: 'standard',
      requestHandler: {
        connectionTimeout: CONNECTION_TIMEOUT_MS,
        requestTimeout: options.requestTimeoutMs ?? DEFAULT_AWS_REQUEST_TIMEOUT_MS,
        // Without it the SDK only warns when a request outlives its timeout, and the call hangs on.
        throwOnRequestTimeout: true,
      },
      customUserAgent: 'cofre',
      // SECURITY: no `logger`. The SDK's logger middleware would log inputs and outputs; we do not rely on its
      // filtering of sensitive fields to keep values out of logs.
    };
    if (options.region !== undefined) config.region = options.region;
    if (options.endpoint !== undefined) config.endpoint = options.endpoint;
    if (options.profile !== undefined) config.profile = options.profile;
    if (options.credentials !== undefined) config.credentials = options.credentials;
    const client = new SecretsManagerClient(config);
    // SECURITY: bounded, so whatever answers at the endpoint cannot make cofre buffer gigabytes.
    limitResponseSize(
      client,
      options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES,
      `AWS Secrets Manager backend "${name}"`,
    );
    try {
      await client.config.region();
    } catch {
      client.destroy();
      throw new CofreError(
        'COFRE_CONFIG_INVALID',
        `backend "${name}": no AWS region; set \`region\` in the backend config, or AWS_REGION, or a region in the AWS profile`,
      );
    }
    return new AwsSecretsManagerBackend(client, {
      name,
      prefix,
      recoveryWindowDays,
      log: options.log ?? silentLog,
    });
  }

  /** Reads one version (`GetSecretValue`); the record's value is a fresh copy the caller owns. */
  async read(path: string, selector: VersionSelector): Promise<SecretRecord> {
    const { secretId } = awsSecretId(path, this.#settings.prefix);
    const reference = this.#ref(path, selector);
    const input: GetSecretValueCommandInput = { SecretId: secretId };
    if (selector.kind === 'latest') {
      // Explicit rather than AWS's default, for two reasons:
      // - an IAM condition on `secretsmanager:VersionStage` only sees a stage that the request names;
      // - moto 5.2.5 answers a request without one from the version last written, not from the AWSCURRENT label
      //   that UpdateSecretVersionStage moved (the conformance suite's rollback test caught it).
      input.VersionStage = AWS_STAGE.current;
    } else if (selector.kind === 'version') {
      // AWS version ids are 32–64 characters; anything else cannot exist (and AWS would call it a bad parameter).
      if (selector.version.length < 32 || selector.version.length > 64) {
        throw notFound(reference, `secret ${this.#ref(path)} has no version "${selector.version}"`);
      }
      input.VersionId = selector.version;
    } else {
      input.VersionStage = AWS_STAGE[selector.stage];
    }
    const out = await this.#call('GetSecretValue', reference, (client) =>
      client.send(new GetSecretValueCommand(input)),
    );
    let value: SecretValue | undefined;
    if (out.SecretBinary !== undefined) {
      value = SecretValue.copyOf(out.SecretBinary);
      out.SecretBinary.fill(0);
    } else if (out.SecretString !== undefined) {
      // A JavaScript string cannot be wiped; drop the reference so only the GC holds it.
      value = SecretValue.fromText(out.SecretString);
      delete out.SecretString;
    }
    if (value === undefined || out.VersionId === undefined) {
      value?.zero();
      throw notFound(reference, `secret ${reference} holds no value in that version`);
    }
    return { value, version: out.VersionId, createdAt: out.CreatedDate ?? new Date(0) };
  }

  /**
   * `DescribeSecret` and `ListSecretVersionIds` (deprecated versions included), oldest first. Versions created in
   * the same second keep AWS's listing order.
   */
  async describe(path: string): Promise<SecretMetadata> {
    const { secretId } = awsSecretId(path, this.#settings.prefix);
    const reference = this.#ref(path);
    const [described, entries] = await Promise.all([
      this.#call('DescribeSecret', reference, (client) =>
        client.send(new DescribeSecretCommand({ SecretId: secretId })),
      ),
      this.#versions(secretId, reference),
    ]);
    if (described.DeletedDate !== undefined) throw scheduledForDeletion(reference);
    const stages: Partial<Record<Stage, string>> = {};
    const versions: SecretVersionInfo[] = [];
    for (const entry of entries) {
      if (entry.VersionId === undefined) continue;
      const held = cofreStages(entry.VersionStages);
      for (const stage of held) stages[stage] = entry.VersionId;
      versions.push({ version: entry.VersionId, createdAt: entry.CreatedDate ?? new Date(0), stages: held });
    }
    // Array.prototype.sort is stable: equal timestamps keep the listing order.
    versions.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
    return { path, createdAt: described.CreatedDate ?? new Date(0), versions, stages };
  }

  /**
   * Secret names (`ListSecrets`, all pages), without the prefix, sorted. Secrets scheduled for deletion are left out.
   * Needs `secretsmanager:ListSecrets`, which IAM cannot narrow to some secrets: grant it only where listing is used.
   */
  async list(): Promise<readonly string[]> {
    const prefix = this.#settings.prefix;
    const reference = `${this.name}:*`;
    const names: string[] = [];
    let token: string | undefined;
    do {
      const page: ListSecretsCommandOutput = await this.#call('ListSecrets', reference, (client) =>
        client.send(
          new ListSecretsCommand({
            MaxResults: 100,
            // AWS's `name` filter is a case-insensitive prefix match; the exact check is below.
            ...(prefix === '' ? {} : { Filters: [{ Key: 'name', Values: [prefix] }] }),
            ...(token === undefined ? {} : { NextToken: token }),
          }),
        ),
      );
      for (const secret of page.SecretList ?? []) {
        const name = secret.Name;
        if (name === undefined || secret.DeletedDate !== undefined || !name.startsWith(prefix)) continue;
        if (name.length > prefix.length) names.push(name.slice(prefix.length));
      }
      token = page.NextToken === '' ? undefined : page.NextToken;
    } while (token !== undefined);
    return names.sort();
  }

  /**
   * Writes a new version and returns its `VersionId`: `PutSecretValue`, or `CreateSecret` when the name does not
   * exist yet (an ARN must exist). `pending` attaches `AWSPENDING` only, leaving `AWSCURRENT` where it is; `current`
   * lets AWS move `AWSCURRENT` to the new version and `AWSPREVIOUS` to the old one. The SDK's idempotency token
   * makes its retries of one write create one version.
   */
  async write(path: string, value: SecretValue, options: WriteOptions = {}): Promise<string> {
    const { secretId, isArn } = awsSecretId(path, this.#settings.prefix);
    const reference = this.#ref(path);
    // Checked at run time too: JavaScript callers (and JSON from the CLI) are not held to the type.
    const stage: string = options.stage ?? 'current';
    if (stage !== 'current' && stage !== 'pending') {
      throw new CofreError('COFRE_INPUT_INVALID', 'a new version can only be staged as current or pending');
    }
    if (value.length === 0 || value.length > MAX_AWS_SECRET_VALUE_BYTES) {
      throw new CofreError(
        'COFRE_SECRET_VALUE_INVALID',
        value.length === 0
          ? `refusing to store an empty value at ${reference}`
          : `value for ${reference} is ${value.length} bytes; AWS Secrets Manager takes at most ${MAX_AWS_SECRET_VALUE_BYTES}`,
        { details: { reference, length: value.length } },
      );
    }
    const stages = stage === 'pending' ? { VersionStages: [AWS_STAGE.pending] } : {};
    // Copied before the first await, so the caller may zero `value` as soon as this returns its promise.
    const payload = toPayload(value.bytes());
    const put = async (): Promise<string> => {
      const out = await this.#call('PutSecretValue', reference, (client) =>
        client.send(new PutSecretValueCommand({ SecretId: secretId, ...payload, ...stages })),
      );
      return versionOf(out.VersionId, reference);
    };
    try {
      try {
        return await put();
      } catch (err) {
        if (isArn || !isNotFound(err)) throw err;
      }
      try {
        // A pending first version is written by PutSecretValue after creating the secret without a value, so it
        // gets AWSPENDING (AWS adds AWSCURRENT to a secret's first version either way).
        const out = await this.#call('CreateSecret', reference, (client) =>
          client.send(new CreateSecretCommand({ Name: secretId, ...(stage === 'pending' ? {} : payload) })),
        );
        if (stage === 'current') return versionOf(out.VersionId, reference);
      } catch (err) {
        // Another writer created it first: add our version to theirs.
        if (!(err instanceof CofreError && err.details?.['awsError'] === 'ResourceExistsException'))
          throw err;
      }
      return await put();
    } finally {
      payload.SecretBinary?.fill(0);
    }
  }

  /**
   * Takes `AWSPENDING` or `AWSPREVIOUS` off the version holding it (`UpdateSecretVersionStage` with
   * `RemoveFromVersionId` only; see {@link SecretBackend.clearStage}). The version stays readable by id; with no
   * label left AWS calls it deprecated and may delete it once the secret holds about 100 versions. `DescribeSecret`
   * finds the holder, so a missing secret, or one scheduled for deletion, is `COFRE_SECRET_NOT_FOUND` even when
   * there is nothing to clear.
   *
   * Concurrency: AWS refuses to remove a label from a version that no longer holds it. When another writer moved
   * or cleared the label between the lookup and the removal, the lookup is repeated (a few times at most), so the
   * call ends with no version holding the stage, or fails, never with a stage cleared off the wrong version.
   */
  async clearStage(path: string, stage: ClearableStage): Promise<void> {
    assertClearableStage(stage);
    const { secretId } = awsSecretId(path, this.#settings.prefix);
    const reference = this.#ref(path);
    const label = AWS_STAGE[stage];
    for (let attempt = 1; ; attempt++) {
      const described = await this.#call('DescribeSecret', reference, (client) =>
        client.send(new DescribeSecretCommand({ SecretId: secretId })),
      );
      if (described.DeletedDate !== undefined) throw scheduledForDeletion(reference);
      const holder = Object.entries(described.VersionIdsToStages ?? {}).find(([, labels]) =>
        labels.includes(label),
      )?.[0];
      if (holder === undefined) return;
      try {
        await this.#call('UpdateSecretVersionStage', reference, (client) =>
          client.send(
            new UpdateSecretVersionStageCommand({
              SecretId: secretId,
              VersionStage: label,
              RemoveFromVersionId: holder,
            }),
          ),
        );
        return;
      } catch (err) {
        // Only an invalid-parameter answer can mean "that version no longer holds the label"; anything else
        // (denied, unavailable after the SDK's retries) is the caller's to see.
        if (attempt >= CLEAR_STAGE_ATTEMPTS || !isCofreError(err, 'COFRE_INPUT_INVALID')) throw err;
      }
    }
  }

  /**
   * Moves the staging label of `stage` to `version` (`UpdateSecretVersionStage`, removing it from its holder).
   * Moving `current` lets AWS move `AWSPREVIOUS` to the old current, then clears `AWSPENDING` when it pointed at
   * `version` — the end of an AWS rotation.
   */
  async moveStage(path: string, stage: Stage, version: string): Promise<void> {
    if (!(STAGES as readonly string[]).includes(stage)) {
      throw new CofreError('COFRE_INPUT_INVALID', `unknown stage; expected one of ${STAGES.join(', ')}`);
    }
    const { secretId } = awsSecretId(path, this.#settings.prefix);
    const reference = this.#ref(path);
    const entries = await this.#versions(secretId, reference);
    if (!entries.some((e) => e.VersionId === version)) {
      throw notFound(
        this.#ref(path, { kind: 'version', version }),
        `secret ${reference} has no version "${version}"`,
      );
    }
    const holder = (label: string): string | undefined =>
      entries.find((e) => e.VersionStages?.includes(label) === true)?.VersionId;
    const label = AWS_STAGE[stage];
    const from = holder(label);
    if (from !== version) {
      await this.#call('UpdateSecretVersionStage', reference, (client) =>
        client.send(
          new UpdateSecretVersionStageCommand({
            SecretId: secretId,
            VersionStage: label,
            MoveToVersionId: version,
            ...(from === undefined ? {} : { RemoveFromVersionId: from }),
          }),
        ),
      );
    }
    if (stage === 'current' && holder(AWS_STAGE.pending) === version) {
      await this.#call('UpdateSecretVersionStage', reference, (client) =>
        client.send(
          new UpdateSecretVersionStageCommand({
            SecretId: secretId,
            VersionStage: AWS_STAGE.pending,
            RemoveFromVersionId: version,
          }),
        ),
      );
    }
  }

  /**
   * Deletes the secret and all its versions (`DeleteSecret`): at once (`ForceDeleteWithoutRecovery`), or scheduled
   * with the configured recovery window. `COFRE_SECRET_NOT_FOUND` when there is no such secret (AWS itself accepts a
   * forced delete of a missing name, so `DescribeSecret` checks first).
   */
  async remove(path: string): Promise<void> {
    const { secretId } = awsSecretId(path, this.#settings.prefix);
    const reference = this.#ref(path);
    const described = await this.#call('DescribeSecret', reference, (client) =>
      client.send(new DescribeSecretCommand({ SecretId: secretId })),
    );
    if (described.DeletedDate !== undefined) throw scheduledForDeletion(reference);
    const days = this.#settings.recoveryWindowDays;
    await this.#call('DeleteSecret', reference, (client) =>
      client.send(
        new DeleteSecretCommand({
          SecretId: secretId,
          ...(days === undefined ? { ForceDeleteWithoutRecovery: true } : { RecoveryWindowInDays: days }),
        }),
      ),
    );
  }

  /** Closes the SDK client's connections. Later calls fail with `COFRE_BACKEND_CLOSED`. Idempotent. */
  close(): Promise<void> {
    this.#client?.destroy();
    this.#client = undefined;
    return Promise.resolve();
  }

  /**
   * Where the SDK's credential chain found credentials, and when they expire, for `cofre doctor` (issue 12). Asks
   * the chain once (it may call STS, SSO or the instance metadata service); throws `COFRE_BACKEND_DENIED` when no
   * provider yields credentials.
   *
   * SECURITY: returns the provider's name and the expiry only; the keys themselves never leave this method.
   */
  async credentialSource(): Promise<AwsCredentialSource> {
    const client = this.#client;
    if (client === undefined)
      throw new CofreError('COFRE_BACKEND_CLOSED', `backend "${this.name}" is closed`);
    let identity: { readonly expiration?: Date; readonly $source?: Readonly<Record<string, string>> };
    try {
      identity = await client.config.credentials();
    } catch (err) {
      throw new CofreError(
        'COFRE_BACKEND_DENIED',
        `backend "${this.name}": the AWS credential chain found no credentials (${err instanceof Error ? err.name : 'error'}); set AWS_PROFILE, a role, or environment credentials`,
      );
    }
    const features = Object.keys(identity.$source ?? {}).filter((k) => k.startsWith('CREDENTIALS_'));
    return {
      source: features.length === 0 ? 'unknown' : features.map(credentialFeatureName).join(' + '),
      ...(identity.expiration === undefined ? {} : { expiresAt: identity.expiration }),
    };
  }

  /** Every version AWS keeps, deprecated ones included, in listing order (all pages). */
  async #versions(secretId: string, reference: string): Promise<SecretVersionsListEntry[]> {
    const entries: SecretVersionsListEntry[] = [];
    let token: string | undefined;
    do {
      const page: ListSecretVersionIdsCommandOutput = await this.#call(
        'ListSecretVersionIds',
        reference,
        (client) =>
          client.send(
            new ListSecretVersionIdsCommand({
              SecretId: secretId,
              IncludeDeprecated: true,
              MaxResults: 100,
              ...(token === undefined ? {} : { NextToken: token }),
            }),
          ),
      );
      entries.push(...(page.Versions ?? []));
      token = page.NextToken === '' ? undefined : page.NextToken;
    } while (token !== undefined);
    return entries;
  }

  /**
   * Runs one SDK call and maps its failure. Logs calls that needed retries (warn) and failures (warn for
   * unavailable and denied, debug otherwise) with the reference, AWS error code, status and request id only.
   */
  async #call<T extends { $metadata: { attempts?: number } }>(
    operation: AwsOperation,
    reference: string,
    send: (client: SecretsManagerClient) => Promise<T>,
  ): Promise<T> {
    const client = this.#live();
    let out: T;
    try {
      out = await send(client);
    } catch (err) {
      if (isCofreError(err, 'COFRE_BACKEND_RESPONSE_TOO_LARGE')) {
        this.#settings.log('warn', 'AWS Secrets Manager answer too large; refused', {
          backend: this.name,
          reference,
          operation,
          code: err.code,
        });
        throw err;
      }
      const { error, facts } = mapAwsError(err, operation, reference);
      const serious = error.category === 'unavailable' || error.category === 'denied';
      this.#settings.log(serious ? 'warn' : 'debug', 'AWS Secrets Manager call failed', {
        backend: this.name,
        reference,
        operation,
        code: error.code,
        awsError: facts.awsError,
        httpStatus: facts.httpStatus,
        requestId: facts.requestId,
        attempts: facts.attempts,
      });
      throw error;
    }
    const attempts = out.$metadata.attempts ?? 1;
    if (attempts > 1) {
      this.#settings.log('warn', 'AWS Secrets Manager call succeeded after retries', {
        backend: this.name,
        reference,
        operation,
        attempts,
      });
    }
    return out;
  }

  #live(): SecretsManagerClient {
    if (this.#client === undefined) {
      throw new CofreError('COFRE_BACKEND_CLOSED', `secret backend "${this.name}" is closed`);
    }
    return this.#client;
  }

  #ref(path: string, selector: VersionSelector = { kind: 'latest' }): string {
    return formatSecretReference({ backend: this.name, path, field: undefined, selector });
  }
}

/** `SecretString` for valid UTF-8, else `SecretBinary` (a copy the caller zeroes). */
function toPayload(bytes: Buffer): { SecretString?: string; SecretBinary?: Uint8Array } {
  return isUtf8(bytes) ? { SecretString: bytes.toString('utf8') } : { SecretBinary: Uint8Array.from(bytes) };
}

function cofreStages(labels: readonly string[] | undefined): Stage[] {
  const held = new Set<Stage>();
  for (const label of labels ?? []) {
    const stage = COFRE_STAGE.get(label);
    if (stage !== undefined) held.add(stage);
  }
  return STAGES.filter((s) => held.has(s));
}

function versionOf(version: string | undefined, reference: string): string {
  if (version === undefined) {
    throw new CofreError('COFRE_INTERNAL', `AWS Secrets Manager returned no version id for ${reference}`, {
      details: { reference },
    });
  }
  return version;
}

function isNotFound(err: unknown): boolean {
  return err instanceof CofreError && err.details?.['awsError'] === 'ResourceNotFoundException';
}

function notFound(reference: string, message: string): CofreError {
  return new CofreError('COFRE_SECRET_NOT_FOUND', message, { details: { reference } });
}

function scheduledForDeletion(reference: string): CofreError {
  return notFound(
    reference,
    `secret ${reference} is scheduled for deletion; restore it with \`aws secretsmanager restore-secret\` or wait for the deletion to finish`,
  );
}

/** What {@link AwsSecretsManagerBackend.credentialSource} tells: the provider, and the expiry when temporary. */
export interface AwsCredentialSource {
  /** `environment`, `profile`, `sso`, `web identity`, `instance metadata`, … (`unknown` when the SDK does not say). */
  readonly source: string;
  readonly expiresAt?: Date;
}

// The SDK's credential feature ids (`@aws-sdk/types` CredentialFeatures) in words.
function credentialFeatureName(feature: string): string {
  const words: Readonly<Record<string, string>> = {
    CREDENTIALS_CODE: 'static credentials in code',
    CREDENTIALS_ENV_VARS: 'environment variables',
    CREDENTIALS_ENV_VARS_STS_WEB_ID_TOKEN: 'web identity token (environment)',
    CREDENTIALS_STS_ASSUME_ROLE: 'assumed role',
    CREDENTIALS_STS_ASSUME_ROLE_WEB_ID: 'assumed role with web identity',
    CREDENTIALS_PROFILE: 'shared profile',
    CREDENTIALS_PROFILE_SOURCE_PROFILE: 'profile source_profile',
    CREDENTIALS_PROFILE_SSO: 'profile SSO',
    CREDENTIALS_SSO: 'SSO',
    CREDENTIALS_PROFILE_PROCESS: 'profile credential_process',
    CREDENTIALS_PROCESS: 'credential_process',
    CREDENTIALS_HTTP: 'container credentials endpoint',
    CREDENTIALS_IMDS: 'instance metadata',
  };
  return (
    words[feature] ??
    feature
      .replace(/^CREDENTIALS_/, '')
      .toLowerCase()
      .replaceAll('_', ' ')
  );
}
