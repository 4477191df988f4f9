import { isUtf8 } from 'node:buffer';

import type { KeyVaultSecret, SecretClient, SecretProperties } from '@azure/keyvault-secrets';

import type { AzureKeyVaultBackendConfig } from '../../config/backend-config.js';
import type { DeepReadonly } from '../../config/deep-freeze.js';
import { CofreError } from '../../errors.js';
import { type BackendLog, silentLog } from '../backend-log.js';
import { assertClearableStage, type ClearableStage } from '../clearable-stage.js';
import type {
  BackendCapabilities,
  SecretBackend,
  SecretMetadata,
  SecretRecord,
  WriteOptions,
} from '../secret-backend.js';
import { formatSecretReference, type Stage, STAGES, type VersionSelector } from '../secret-reference.js';
import { SecretValue } from '../secret-value.js';
import { azureCredential, tokenRequestBudgetMs } from './azure-credential.js';
import { isKeyVaultVersion, keyVaultSecretName } from './key-vault-name.js';
import { cofrePipelinePolicy, traced } from './key-vault-pipeline.js';
import type { AzureCredentialKind } from './map-azure-credential-error.js';
import { type AzureOperation, mapAzureError } from './map-azure-error.js';
import {
  effectiveStages,
  planStageUpdates,
  STAGE_TAG,
  stagesOf,
  stageTagValue,
  taggedStages,
  type VersionFacts,
  WRITTEN_TAG,
} from './stage-tags.js';
import { withTokenTimeout } from './token-request-timeout.js';

/** Largest secret value Azure Key Vault stores (25 KiB). */
export const MAX_KEY_VAULT_VALUE_BYTES = 25 * 1024;
/** How often a deletion is polled, and how long cofre waits for it. */
const DELETE_POLL_MS = 1_000;
const DELETE_WAIT_MS = 60_000;
/** Longest wait for a throttled call's `Retry-After`. */
const MAX_RETRY_AFTER_MS = 30_000;

/** What opening the backend may need besides its config block. */
export interface AzureKeyVaultOpenOptions {
  /** Where the backend reports retried and failed calls (references, codes, request ids only). */
  readonly log?: BackendLog;
  /** The clock `expiresOn` and `notBefore` are checked against; default the system clock. For tests. */
  readonly now?: () => Date;
  /**
   * Test-only: first retry delay in ms (the SDK's default is 1 s, doubling up to 64 s), and the deletion poll
   * interval. The config has neither: production keeps the SDK's backoff.
   */
  readonly retryDelayMs?: number;
  readonly deletePollMs?: number;
  /** Test-only: longest `Retry-After` honoured (default 30 s). */
  readonly maxRetryAfterMs?: number;
  /**
   * Test-only: the only CA trusted for the vault's certificate (PEM), for an emulator whose certificate is fetched
   * after Node started (lowkey-vault). Production trusts the system store and `NODE_EXTRA_CA_CERTS`.
   */
  readonly tlsCa?: string;
}

interface Settings {
  readonly name: string;
  readonly log: BackendLog;
  readonly now: () => Date;
  readonly purgeOnDelete: boolean;
  readonly deletePollMs: number;
  /** Names the backend and its credential kind in sign-in errors. */
  readonly signIn: { readonly backend: string; readonly credential: AzureCredentialKind };
}

/**
 * Azure Key Vault, backend type `azure-key-vault`, through `@azure/keyvault-secrets` and `@azure/identity` (issue
 * 13; REST reference https://learn.microsoft.com/rest/api/keyvault/secrets/).
 *
 * Contract: implements {@link SecretBackend} with write, listVersions, stages and delete; not binary.
 * - Paths are Key Vault secret names: 1–127 letters, digits and dashes; anything else is `COFRE_REFERENCE_INVALID`
 *   with the name to use instead ({@link keyVaultSecretName}). Versions are Key Vault's 32-hex version ids.
 * - Values are UTF-8 text, up to 25 KiB (Key Vault stores strings). A value that is a JSON object is stored with
 *   content type `application/json`, so the portal and `az` show what it is and `#field` references select from it.
 * - Stages are tags on versions (`cofre-stage`; see `stage-tags.ts`). `latest` reads the version holding
 *   `current`: Key Vault's newest version when cofre never staged the secret.
 * - A version that is disabled, expired (`expiresOn` past) or not yet valid (`notBefore` future) is never served:
 *   `COFRE_SECRET_DISABLED`, checked from the properties the SDK returns even where Key Vault served the value.
 * - `remove` deletes (soft delete: the name stays taken while the vault keeps it recoverable) and waits for the
 *   deletion; with `purgeOnDelete` it then purges.
 * Errors are mapped by {@link mapAzureError}, after the SDK's retries (429 with `Retry-After`, cut to 30 s; 5xx,
 * network errors and attempts over `requestTimeout`; at most `maxRetries` times; 401 and 403 never).
 *
 * SECURITY: an SDK error is never attached or logged as is (see `AzureCallFailure`). The SDK logs through
 * `@azure/logger` only when `AZURE_LOG_LEVEL` is set, and then only sanitized URLs, allow-listed headers, statuses
 * and retry counts, never a body; a test enables it and checks that no value reaches it.
 *
 * Concurrency: safe to call concurrently. Stage changes and writes of one path are serialized in this process;
 * Key Vault has no conditional update, so two processes changing stages of one secret at once can leave a stale
 * tag, which the next stage change of either cleans (the newer holder of a stage decides meanwhile).
 */
export class AzureKeyVaultBackend implements SecretBackend {
  readonly type = 'azure-key-vault';
  readonly capabilities: BackendCapabilities = Object.freeze({
    binary: false,
    write: true,
    listVersions: true,
    stages: true,
    delete: true,
  });
  readonly name: string;

  readonly #settings: Settings;
  #client: SecretClient | undefined;
  readonly #queues = new Map<string, Promise<unknown>>();

  private constructor(client: SecretClient, settings: Settings) {
    this.#client = client;
    this.#settings = settings;
    this.name = settings.name;
  }

  /**
   * Builds the credential and the SDK client. Does not call Azure: an outage at start-up does not stop cofre from
   * starting. Lazily imports `@azure/keyvault-secrets` (and, through {@link azureCredential}, `@azure/identity`).
   */
  static async open(
    name: string,
    config: DeepReadonly<AzureKeyVaultBackendConfig>,
    options: AzureKeyVaultOpenOptions = {},
  ): Promise<SecretBackend> {
    const { SecretClient } = await import('@azure/keyvault-secrets');
    // Bounded here: msal-node's managed identity ignores the SDK's timeout, and a wedged token endpoint would
    // otherwise hang every read (token-request-timeout.ts).
    const credential = withTokenTimeout(
      await azureCredential(name, config, options.log === undefined ? {} : { log: options.log }),
      tokenRequestBudgetMs(config),
    );
    const policy = cofrePipelinePolicy({
      timeoutMs: config.requestTimeout,
      maxResponseBytes: config.maxResponseSize,
      maxRetryAfterMs: options.maxRetryAfterMs ?? MAX_RETRY_AFTER_MS,
      source: `Azure Key Vault backend "${name}"`,
    });
    const client = new SecretClient(config.vaultUrl, credential, {
      disableChallengeResourceVerification: !config.verifyChallengeResource,
      retryOptions: {
        maxRetries: config.maxRetries,
        ...(options.retryDelayMs === undefined ? {} : { retryDelayInMs: options.retryDelayMs }),
      },
      additionalPolicies: [{ policy, position: 'perRetry' }],
      userAgentOptions: { userAgentPrefix: 'cofre' },
      ...(options.tlsCa === undefined ? {} : { tlsOptions: { ca: options.tlsCa } }),
    });
    return new AzureKeyVaultBackend(client, {
      name,
      log: options.log ?? silentLog,
      now: options.now ?? (() => new Date()),
      purgeOnDelete: config.purgeOnDelete,
      signIn: { backend: name, credential: config.credential.type },
      deletePollMs: options.deletePollMs ?? DELETE_POLL_MS,
    });
  }

  /** Reads one version (Get Secret); the record's value is a fresh copy the caller owns. */
  async read(path: string, selector: VersionSelector): Promise<SecretRecord> {
    const name = this.#secretName(path);
    const reference = this.#ref(path, selector);
    let version: string;
    if (selector.kind === 'version') {
      if (!isKeyVaultVersion(selector.version)) {
        throw notFound(
          reference,
          `secret ${this.#ref(path)} has no version "${selector.version}" (Key Vault versions are 32 hex digits)`,
        );
      }
      version = selector.version;
    } else if (selector.kind === 'latest') {
      return this.#readCurrent(name, reference);
    } else {
      version = await this.#holder(name, selector.stage, reference);
    }
    const secret = await this.#call('GetSecret', reference, (client) => client.getSecret(name, { version }));
    return this.#record(secret, reference);
  }

  /** Versions (Get Secret Versions, all pages) oldest first, with their stages and created/updated times. */
  async describe(path: string): Promise<SecretMetadata> {
    const name = this.#secretName(path);
    const reference = this.#ref(path);
    const listed = await this.#listed(name, reference, true);
    const view = effectiveStages(versionFacts(listed));
    const byId = new Map(listed.versions.map((p) => [p.version, p]));
    const now = this.#settings.now();
    return {
      path,
      createdAt: view.ordered[0]?.createdAt ?? new Date(0),
      versions: view.ordered.map((v) => {
        const props = byId.get(v.version);
        const unusable = props !== undefined && unusableReason(props, now) !== undefined;
        return {
          version: v.version,
          createdAt: v.createdAt,
          ...(props?.updatedOn === undefined ? {} : { updatedAt: props.updatedOn }),
          stages: stagesOf(view.stages, v.version),
          ...(unusable ? { deleted: true } : {}),
        };
      }),
      stages: view.stages,
    };
  }

  /** Secret names (Get Secrets, all pages), sorted. Soft-deleted secrets are not listed by Key Vault. */
  async list(): Promise<readonly string[]> {
    const names = await this.#call('GetSecrets', `${this.name}:*`, async (client) => {
      const found: string[] = [];
      for await (const props of client.listPropertiesOfSecrets()) found.push(props.name);
      return found;
    });
    return names.sort();
  }

  /**
   * Writes a new version (Set Secret) and returns its id. The version is born with its stage tag, so a new current
   * is live the moment Key Vault answers; then the old current becomes previous (Update Secret on the versions
   * whose tags change). A retried Set Secret may leave a second version with the same value (Key Vault has no
   * idempotency key); the newer holds the stage.
   */
  async write(path: string, value: SecretValue, options: WriteOptions = {}): Promise<string> {
    const name = this.#secretName(path);
    const reference = this.#ref(path);
    // Checked at run time too: JavaScript callers (and JSON from the CLI) are not held to the type.
    const stage: string = options.stage ?? 'current';
    if (stage !== 'current' && stage !== 'pending') {
      throw new CofreError('COFRE_INPUT_INVALID', 'a new version can only be staged as current or pending');
    }
    // Copied before the first await, so the caller may zero `value` as soon as this returns its promise.
    const text = textOf(value, reference);
    const contentType = isJsonObject(text) ? 'application/json' : undefined;
    return this.#serialized(name, async () => {
      const before = await this.#listed(name, reference, false);
      await this.#makeCurrentExplicit(name, before, reference);
      const view = effectiveStages(versionFacts(before));
      const tags = { [STAGE_TAG]: stage, [WRITTEN_TAG]: String(Date.now()) };
      const written = await this.#call('SetSecret', reference, (client) =>
        client.setSecret(name, text, { tags, ...(contentType === undefined ? {} : { contentType }) }),
      );
      const version = written.properties.version;
      if (version === undefined) {
        throw new CofreError('COFRE_INTERNAL', `Azure Key Vault returned no version id for ${reference}`);
      }
      const after: Listed = { versions: [...before.versions, written.properties], latest: version };
      const target: Partial<Record<Stage, string>> = { ...view.stages };
      if (stage === 'pending') target.pending = version;
      else {
        const previous = view.stages.current ?? view.stages.previous;
        if (previous !== undefined) target.previous = previous;
        target.current = version;
      }
      await this.#retag(name, after, target, reference);
      return version;
    });
  }

  /**
   * Moves `stage` to `version`; moving `current` moves the old current to `previous` and takes `pending` off
   * `version`. Update Secret on each version whose tag changes, in the crash-safe order of `planStageUpdates`.
   */
  async moveStage(path: string, stage: Stage, version: string): Promise<void> {
    if (!(STAGES as readonly string[]).includes(stage)) {
      throw new CofreError('COFRE_INPUT_INVALID', `unknown stage; expected one of ${STAGES.join(', ')}`);
    }
    const name = this.#secretName(path);
    const reference = this.#ref(path);
    await this.#serialized(name, async () => {
      const listed = await this.#listed(name, reference, true);
      if (!isKeyVaultVersion(version) || !listed.versions.some((v) => v.version === version)) {
        throw notFound(
          this.#ref(path, { kind: 'version', version }),
          `secret ${reference} has no version "${version}"`,
        );
      }
      const stages = { ...effectiveStages(versionFacts(listed)).stages };
      if (stage === 'current') {
        if (stages.current !== undefined && stages.current !== version) stages.previous = stages.current;
        if (stages.pending === version) delete stages.pending;
      }
      stages[stage] = version;
      await this.#retag(name, listed, stages, reference);
    });
  }

  /** Takes `pending` or `previous` off the version holding it; the version stays readable by id, unstaged. */
  async clearStage(path: string, stage: ClearableStage): Promise<void> {
    assertClearableStage(stage);
    const name = this.#secretName(path);
    const reference = this.#ref(path);
    await this.#serialized(name, async () => {
      const listed = await this.#listed(name, reference, true);
      const now = effectiveStages(versionFacts(listed)).stages;
      if (now[stage] === undefined) return;
      const target: Partial<Record<Stage, string>> = {};
      for (const s of STAGES) {
        const holder = now[s];
        if (s !== stage && holder !== undefined) target[s] = holder;
      }
      await this.#retag(name, listed, target, reference);
    });
  }

  /**
   * Deletes the secret and all its versions (Delete Secret, then polling Get Deleted Secret until the deletion is
   * done), then purges it when `purgeOnDelete` is set. Without purge, the name stays taken while the vault keeps it
   * recoverable.
   */
  async remove(path: string): Promise<void> {
    const name = this.#secretName(path);
    const reference = this.#ref(path);
    await this.#serialized(name, async () => {
      await this.#call('DeleteSecret', reference, async (client) => {
        const poller = await client.beginDeleteSecret(name, { intervalInMs: this.#settings.deletePollMs });
        await poller.pollUntilDone({ abortSignal: AbortSignal.timeout(DELETE_WAIT_MS) });
      });
      if (this.#settings.purgeOnDelete) {
        await this.#call('PurgeDeletedSecret', reference, (client) => client.purgeDeletedSecret(name));
      }
    });
  }

  /** Forgets the SDK client (it holds only keep-alive sockets). Later calls fail with `COFRE_BACKEND_CLOSED`. */
  close(): Promise<void> {
    this.#client = undefined;
    return Promise.resolve();
  }

  /**
   * Reads the version holding `current`. Asks Key Vault for its newest version first (Get Secret without a
   * version): when its tag says current, it is — being the newest holder — and one request was enough. Otherwise
   * the versions are listed (Key Vault's newest marked, for a secret cofre never staged) and the holder read, or
   * the newest served when it is the holder.
   */
  async #readCurrent(name: string, reference: string): Promise<SecretRecord> {
    let newest: KeyVaultSecret | undefined;
    try {
      newest = await this.#call('GetSecret', reference, (client) => client.getSecret(name));
    } catch (err) {
      // A disabled newest version may not be the current one (a pending version someone disabled).
      if (!(err instanceof CofreError && err.code === 'COFRE_SECRET_DISABLED')) throw err;
    }
    if (newest !== undefined && taggedStages(newest.properties.tags)?.includes('current') === true) {
      return this.#record(newest, reference);
    }
    const versions = await this.#existingVersions(name, reference);
    const latest = newest?.properties.version;
    const holder = effectiveStages(versionFacts({ versions, latest })).stages.current;
    if (newest !== undefined && holder === newest.properties.version) return this.#record(newest, reference);
    if (newest !== undefined) delete newest.value;
    if (holder === undefined)
      throw notFound(reference, `secret ${reference}: no version holds the current stage`);
    const secret = await this.#call('GetSecret', reference, (client) =>
      client.getSecret(name, { version: holder }),
    );
    return this.#record(secret, reference);
  }

  /** The version holding `stage`, or `COFRE_SECRET_NOT_FOUND`. */
  async #holder(name: string, stage: Stage, reference: string): Promise<string> {
    const holder = effectiveStages(versionFacts(await this.#listed(name, reference, true))).stages[stage];
    if (holder === undefined) {
      throw notFound(reference, `secret ${reference}: no version holds the ${stage} stage`);
    }
    return holder;
  }

  /** A served secret as a record, after refusing a disabled, expired or not-yet-valid version. */
  #record(secret: KeyVaultSecret, reference: string): SecretRecord {
    const props = secret.properties;
    const reason = unusableReason(props, this.#settings.now());
    if (reason !== undefined) {
      delete secret.value;
      throw new CofreError(
        'COFRE_SECRET_DISABLED',
        `secret ${reference} (version ${props.version ?? '?'}) ${reason}, so cofre will not use it; enable or renew that version in Azure Key Vault, or move the reference to another`,
        { details: { reference, version: props.version } },
      );
    }
    if (secret.value === undefined || props.version === undefined) {
      throw notFound(reference, `secret ${reference} holds no value in that version`);
    }
    // A JavaScript string cannot be wiped; drop the SDK's reference so only the GC holds it.
    const value = SecretValue.fromText(secret.value);
    delete secret.value;
    return { value, version: props.version, createdAt: props.createdOn ?? new Date(0) };
  }

  /** Every version's properties (all pages); empty for a secret that does not exist. */
  async #versions(name: string, reference: string): Promise<SecretProperties[]> {
    try {
      return await this.#call('GetSecretVersions', reference, async (client) => {
        const found: SecretProperties[] = [];
        for await (const props of client.listPropertiesOfSecretVersions(name)) found.push(props);
        return found;
      });
    } catch (err) {
      if (err instanceof CofreError && err.code === 'COFRE_SECRET_NOT_FOUND') return [];
      throw err;
    }
  }

  async #existingVersions(name: string, reference: string): Promise<SecretProperties[]> {
    const versions = await this.#versions(name, reference);
    if (versions.length === 0) throw notFound(reference, `secret ${reference} not found`);
    return versions;
  }

  /**
   * Every version's properties, and, when the newest versions share Key Vault's one-second created time, the id of
   * the one Key Vault serves as latest (one more Get Secret, its value dropped), so that the listing orders them as
   * Key Vault does and agrees with `#readCurrent`'s one-request path.
   */
  async #listed(name: string, reference: string, mustExist: boolean): Promise<Listed> {
    const versions = mustExist
      ? await this.#existingVersions(name, reference)
      : await this.#versions(name, reference);
    const top = Math.max(...versions.map((p) => p.createdOn?.getTime() ?? 0));
    if (versions.filter((p) => (p.createdOn?.getTime() ?? 0) === top).length < 2) return { versions };
    try {
      const newest = await this.#call('GetSecret', reference, (client) => client.getSecret(name));
      delete newest.value;
      return {
        versions,
        ...(newest.properties.version === undefined ? {} : { latest: newest.properties.version }),
      };
    } catch (err) {
      // A disabled newest version has no readable properties here; the listing order decides then.
      if (err instanceof CofreError && err.code === 'COFRE_SECRET_DISABLED') return { versions };
      throw err;
    }
  }

  /**
   * Tags the newest version of a secret cofre never staged as current, before anything else is tagged: a pending
   * version would otherwise make the secret cofre-staged with no current.
   */
  async #makeCurrentExplicit(name: string, listed: Listed, reference: string): Promise<void> {
    if (listed.versions.some((v) => taggedStages(v.tags) !== undefined)) return;
    const current = effectiveStages(versionFacts(listed)).stages.current;
    const props = listed.versions.find((v) => v.version === current);
    if (props !== undefined) await this.#setStages(name, props, ['current'], reference);
  }

  /** Applies `target` with the Update Secret calls `planStageUpdates` orders. */
  async #retag(
    name: string,
    listed: Listed,
    target: Partial<Record<Stage, string>>,
    reference: string,
  ): Promise<void> {
    const byId = new Map(listed.versions.map((p) => [p.version, p]));
    for (const update of planStageUpdates(versionFacts(listed), target)) {
      const props = byId.get(update.version);
      if (props !== undefined) await this.#setStages(name, props, update.stages, reference);
    }
  }

  /** Update Secret with the version's other tags kept (Key Vault replaces the whole tag set). */
  async #setStages(
    name: string,
    props: SecretProperties,
    stages: readonly Stage[],
    reference: string,
  ): Promise<void> {
    const tags = { ...props.tags, [STAGE_TAG]: stageTagValue(stages) };
    await this.#call('UpdateSecret', reference, (client) =>
      client.updateSecretProperties(name, props.version ?? '', { tags }),
    );
    props.tags = tags;
  }

  /** Runs `task` after every earlier serialized task of `name` in this process has settled. */
  #serialized<T>(name: string, task: () => Promise<T>): Promise<T> {
    const key = name.toLowerCase(); // Key Vault names are case-insensitive.
    const previous = this.#queues.get(key) ?? Promise.resolve();
    const run = previous.then(task, task);
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.#queues.set(key, settled);
    void settled.then(() => {
      if (this.#queues.get(key) === settled) this.#queues.delete(key);
    });
    return run;
  }

  /**
   * Runs one SDK call (retries included) and maps its failure. Logs calls that needed retries (warn) and failures
   * (warn for unavailable and denied, debug otherwise) with the reference, codes, status and request id only.
   */
  async #call<T>(
    operation: AzureOperation,
    reference: string,
    send: (client: SecretClient) => Promise<T>,
  ): Promise<T> {
    const client = this.#live();
    const { trace, result } = await traced(() => send(client));
    if (result.status === 'fulfilled') {
      if (trace.retries > 0) {
        this.#settings.log('warn', 'Azure Key Vault call succeeded after retries', {
          backend: this.name,
          reference,
          operation,
          attempts: trace.attempts,
          retries: trace.retries,
          throttled: trace.throttled,
          timedOut: trace.timedOut,
        });
      }
      return result.value;
    }
    const { error, facts } = mapAzureError(result.reason, operation, reference, this.#settings.signIn, trace);
    const serious = error.category === 'unavailable' || error.category === 'denied';
    this.#settings.log(serious ? 'warn' : 'debug', 'Azure Key Vault call failed', {
      backend: this.name,
      reference,
      operation,
      code: error.code,
      azureError: facts.azureError,
      innerError: facts.innerError,
      httpStatus: facts.httpStatus,
      requestId: facts.requestId,
      attempts: trace.attempts,
      throttled: trace.throttled,
      timedOut: trace.timedOut,
    });
    throw error;
  }

  #live(): SecretClient {
    if (this.#client === undefined) {
      throw new CofreError('COFRE_BACKEND_CLOSED', `secret backend "${this.name}" is closed`);
    }
    return this.#client;
  }

  #secretName(path: string): string {
    return keyVaultSecretName(this.name, path);
  }

  #ref(path: string, selector: VersionSelector = { kind: 'latest' }): string {
    return formatSecretReference({ backend: this.name, path, field: undefined, selector });
  }
}

/** Why a version must not be used (disabled, expired, not yet valid), or `undefined`. */
export function unusableReason(
  props: Pick<SecretProperties, 'enabled' | 'expiresOn' | 'notBefore'>,
  now: Date,
): string | undefined {
  if (props.enabled === false) return 'is disabled';
  if (props.expiresOn !== undefined && props.expiresOn.getTime() <= now.getTime()) {
    return `expired at ${props.expiresOn.toISOString()}`;
  }
  if (props.notBefore !== undefined && props.notBefore.getTime() > now.getTime()) {
    return `is not valid before ${props.notBefore.toISOString()}`;
  }
  return undefined;
}

/** A secret's versions as listed, with Key Vault's latest where it was asked for. */
interface Listed {
  readonly versions: SecretProperties[];
  readonly latest?: string | undefined;
}

function versionFacts(listed: Listed): VersionFacts[] {
  return listed.versions.map((props) => ({
    version: props.version ?? '',
    createdAt: props.createdOn ?? new Date(0),
    tags: props.tags,
    ...(listed.latest !== undefined && props.version === listed.latest ? { latest: true } : {}),
  }));
}

/** The value as text for Set Secret, or `COFRE_SECRET_VALUE_INVALID` (empty, not UTF-8, over 25 KiB). */
function textOf(value: SecretValue, reference: string): string {
  const bytes = value.bytes();
  let problem: string | undefined;
  if (bytes.length === 0) problem = `refusing to store an empty value at ${reference}`;
  else if (bytes.length > MAX_KEY_VAULT_VALUE_BYTES) {
    problem = `value for ${reference} is ${bytes.length} bytes; Azure Key Vault takes at most ${MAX_KEY_VAULT_VALUE_BYTES}`;
  } else if (!isUtf8(bytes)) {
    problem = `value for ${reference} is not UTF-8 text; Azure Key Vault stores text (encode binary values, e.g. as base64, before storing them)`;
  }
  if (problem !== undefined) {
    throw new CofreError('COFRE_SECRET_VALUE_INVALID', problem, {
      details: { reference, length: bytes.length },
    });
  }
  return bytes.toString('utf8');
}

function isJsonObject(text: string): boolean {
  if (!text.startsWith('{')) return false;
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed);
  } catch {
    return false;
  }
}

function notFound(reference: string, message: string): CofreError {
  return new CofreError('COFRE_SECRET_NOT_FOUND', message, { details: { reference } });
}
