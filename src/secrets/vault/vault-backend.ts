/**
 * The `vault` secret backend: a KV v1 or v2 mount of HashiCorp Vault or OpenBao.
 *
 * API: https://openbao.org/api-docs/secret/kv/kv-v2/ and https://openbao.org/api-docs/secret/kv/kv-v1/ (the same
 * as Vault's). A secret is the KV data map; cofre hands it out as JSON text (`#field` selects one key).
 */
import { createHmac, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';

import { z } from 'zod';

import type { VaultBackendConfig } from '../../config/backend-config.js';
import type { DeepReadonly } from '../../config/deep-freeze.js';
import { type Environment } from '../../config/read-env.js';
import { plainHttpRefusal, vaultEnvironmentDefaults } from '../../config/vault-config.js';
import { CofreError, isCofreError } from '../../errors.js';
import { type BackendLog, silentLog } from '../backend-log.js';
import { CircuitBreaker } from '../circuit-breaker.js';
import { assertClearableStage, type ClearableStage } from '../clearable-stage.js';
import type {
  BackendCapabilities,
  SecretBackend,
  SecretMetadata,
  SecretRecord,
  SecretVersionInfo,
  WriteOptions,
} from '../secret-backend.js';
import type { Stage, VersionSelector } from '../secret-reference.js';
import { SecretValue } from '../secret-value.js';
import { fetchTrustingCa } from './tls-fetch.js';
import { vaultAuthMethod } from './vault-auth.js';
import { ignoredResponse, VaultClient, type VaultMethod, type VaultRequestOptions } from './vault-client.js';
import { VaultLeaseManager } from './vault-leases.js';
import { VaultSession } from './vault-session.js';

/** KV v2 `custom_metadata` keys that hold cofre's stage pointers (version numbers as strings). */
export const STAGE_METADATA_KEYS: Readonly<Record<Stage, string>> = Object.freeze({
  current: 'cofre-stage-current',
  previous: 'cofre-stage-previous',
  pending: 'cofre-stage-pending',
});

/** Options of a {@link VaultBackend} built from parts (tests, the lease manager sharing a session). */
export interface VaultBackendOptions {
  readonly name: string;
  readonly session: VaultSession;
  /** KV mount path, e.g. `secret`. */
  readonly mount: string;
  /** The mount's KV version, detected or configured. */
  readonly kvVersion: 1 | 2;
  /** Configured explicitly (then it is checked on first use when the policy allows), or detected. */
  readonly kvVersionConfigured?: boolean;
  /** Most paths `list` walks. Default 10 000. */
  readonly listLimit?: number;
  readonly log?: BackendLog;
  /** Called by `close()` after the session is closed (a TLS agent to free). */
  readonly onClose?: () => void;
  /** Mounts of dynamic secrets engines whose paths go to {@link VaultBackendOptions.leases}. */
  readonly dynamicMounts?: readonly string[];
  /** Leases of dynamic secrets; required when `dynamicMounts` is not empty. */
  readonly leases?: VaultLeaseManager;
}

/** What {@link VaultBackend.open} may take from the process. */
export interface OpenVaultBackendOptions {
  readonly log?: BackendLog;
  /** Environment for the `BAO_*` / `VAULT_*` defaults; `process.env` by default (read in config/). */
  readonly env?: Environment;
  /** Renewal point as a fraction of the token TTL (tests shorten it). */
  readonly renewFraction?: number;
  /** `fetch` to use instead of the global one (tests). */
  readonly fetch?: typeof fetch;
}

const kvDataSchema = z.record(z.string(), z.unknown());

const versionMetadataSchema = z.object({
  created_time: z.string(),
  deletion_time: z.string().nullish(),
  destroyed: z.boolean().nullish(),
  version: z.number().int(),
  custom_metadata: z.record(z.string(), z.string()).nullish(),
});

const v2ReadResponse = z.object({
  data: z.object({ data: kvDataSchema.nullable(), metadata: versionMetadataSchema }),
});

const v2WriteResponse = z
  .object({ data: z.object({ version: z.number().int(), created_time: z.string() }) })
  .optional();

const v2MetadataResponse = z.object({
  data: z.object({
    created_time: z.string(),
    current_version: z.number().int(),
    custom_metadata: z.record(z.string(), z.string()).nullish(),
    versions: z.record(
      z.string(),
      z.object({
        created_time: z.string(),
        deletion_time: z.string().nullish(),
        destroyed: z.boolean().nullish(),
      }),
    ),
  }),
});
type V2Metadata = z.infer<typeof v2MetadataResponse>['data'];

const v1ReadResponse = z.object({ data: kvDataSchema });

const listResponse = z.object({ data: z.object({ keys: z.array(z.string()) }) });

const mountInfoResponse = z.object({
  data: z.object({
    type: z.string(),
    path: z.string().optional(),
    options: z.record(z.string(), z.string()).nullish(),
  }),
});

const LIST_CONCURRENCY = 8;

/**
 * See the module comment. Paths are relative to the mount (`exchanges/binance` in mount `secret` is
 * `secret/data/exchanges/binance` in KV v2).
 *
 * KV v2: every version is readable by id; `describe` reports versions, created times and deletion state
 * (`deletion_time` passed or `destroyed` → `deleted`). Stages live in the secret's `custom_metadata` as
 * {@link STAGE_METADATA_KEYS}; with no `current` pointer the newest version is current, so writes by other tools
 * behave as usual. `latest` reads follow `current`, so a version written as `pending` is not served until it is
 * promoted with `moveStage`. Writes to one path are serialised within this process; stage pointers written by two
 * cofre processes at once may race (KV has no compare-and-set on metadata in Vault).
 *
 * KV v1: one value per path, no versions or stages (capabilities say so); a write overwrites. The version id is an
 * HMAC of the value under a key random per process, so a changed value reads as a new version without the id
 * revealing anything about the value; the created time is unknown and reported as the epoch.
 *
 * Safe to call concurrently.
 */
export class VaultBackend implements SecretBackend {
  readonly name: string;
  readonly type = 'vault';
  readonly capabilities: BackendCapabilities;
  readonly session: VaultSession;
  readonly mount: string;
  readonly kvVersion: 1 | 2;
  /** Dynamic secrets (database credentials) under `dynamicMounts`; undefined when none are configured. */
  readonly leases: VaultLeaseManager | undefined;
  readonly #dynamicMounts: readonly string[];
  readonly #configured: boolean;
  readonly #listLimit: number;
  readonly #log: BackendLog;
  readonly #onClose: (() => void) | undefined;
  readonly #versionKey = randomBytes(32);
  readonly #writeLocks = new Map<string, Promise<unknown>>();
  #mountChecked: Promise<void> | undefined;
  #closed = false;

  constructor(options: VaultBackendOptions) {
    this.name = options.name;
    this.session = options.session;
    this.mount = options.mount.replace(/^\/+|\/+$/g, '');
    this.kvVersion = options.kvVersion;
    this.#configured = options.kvVersionConfigured ?? true;
    this.#listLimit = options.listLimit ?? 10_000;
    this.#log = options.log ?? silentLog;
    this.#onClose = options.onClose;
    this.#dynamicMounts = (options.dynamicMounts ?? []).map((m) => m.replace(/^\/+|\/+$/g, ''));
    this.leases = options.leases;
    if (this.#dynamicMounts.length > 0 && this.leases === undefined) {
      throw new CofreError('COFRE_INTERNAL', `backend "${this.name}": dynamicMounts need a lease manager`);
    }
    const v2 = this.kvVersion === 2;
    this.#log('debug', 'Vault KV backend ready', {
      backend: this.name,
      mount: this.mount,
      kvVersion: this.kvVersion,
    });
    this.capabilities = Object.freeze({
      binary: false,
      write: true,
      listVersions: v2,
      stages: v2,
      delete: true,
    });
  }

  /**
   * Builds the client, the session and the backend from config; detects the KV version when `kvVersion` is not
   * set (which needs Vault to be reachable, and the policy to allow `sys/internal/ui/mounts/<mount>`).
   */
  static async open(
    name: string,
    config: DeepReadonly<VaultBackendConfig>,
    options: OpenVaultBackendOptions = {},
  ): Promise<VaultBackend> {
    const log = options.log ?? silentLog;
    const env = vaultEnvironmentDefaults(options.env);
    const address = config.address ?? env.address;
    if (address === undefined) {
      throw new CofreError(
        'COFRE_CONFIG_INVALID',
        `backend "${name}": no Vault address; set backends.${name}.address, or BAO_ADDR / VAULT_ADDR`,
      );
    }
    const refusal = plainHttpRefusal(address, config.insecureHttp);
    if (refusal !== undefined) {
      throw new CofreError('COFRE_CONFIG_INVALID', `backend "${name}" (address ${address}): ${refusal}`);
    }
    if (config.insecureHttp && address.startsWith('http:')) {
      log(
        'warn',
        'Vault backend uses plain http with insecureHttp: true; tokens and secrets cross the network in clear',
        {
          backend: name,
        },
      );
    }
    const caFile = config.caFile ?? env.caFile;
    let fetchImpl = options.fetch;
    let onClose: (() => void) | undefined;
    if (caFile !== undefined && fetchImpl === undefined) {
      let ca: Buffer;
      try {
        ca = await readFile(caFile);
      } catch (err) {
        throw new CofreError(
          'COFRE_VAULT_CREDENTIAL_FILE_INVALID',
          `backend "${name}": cannot read caFile ${caFile} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
          { details: { file: caFile } },
        );
      }
      const tls = fetchTrustingCa(ca);
      fetchImpl = tls.fetch;
      onClose = () => {
        tls.close();
      };
    }
    const namespace = config.namespace ?? env.namespace;
    const client = new VaultClient({
      address,
      ...(namespace === undefined ? {} : { namespace }),
      timeoutMs: config.timeout,
      retry: {
        maxAttempts: config.retry.maxAttempts,
        baseDelayMs: config.retry.baseDelay,
        maxDelayMs: config.retry.maxDelay,
        maxElapsedMs: config.retry.maxElapsed,
      },
      circuitBreaker: new CircuitBreaker({
        failureThreshold: config.circuitBreaker.failureThreshold,
        resetTimeoutMs: config.circuitBreaker.resetTimeout,
      }),
      ...(fetchImpl === undefined ? {} : { fetch: fetchImpl }),
      log,
      maxResponseBytes: config.maxResponseSize,
    });
    const session = new VaultSession({
      client,
      auth: vaultAuthMethod(config.auth, log),
      log,
      ...(options.renewFraction === undefined ? {} : { renewFraction: options.renewFraction }),
    });
    try {
      const kvVersion = config.kvVersion ?? (await detectKvVersion(session, config.mount, name));
      const dynamic =
        config.dynamicMounts.length === 0
          ? {}
          : {
              dynamicMounts: config.dynamicMounts,
              leases: new VaultLeaseManager({ name, client, auth: session, log }),
            };
      return new VaultBackend({
        name,
        session,
        mount: config.mount,
        kvVersion,
        kvVersionConfigured: config.kvVersion !== undefined,
        listLimit: config.listLimit,
        log,
        ...dynamic,
        ...(onClose === undefined ? {} : { onClose }),
      });
    } catch (err) {
      await session.close();
      onClose?.();
      throw err;
    }
  }

  async read(path: string, selector: VersionSelector): Promise<SecretRecord> {
    const leases = this.#leasesFor(path);
    if (leases !== undefined) return leases.read(path, selector);
    await this.#ready(path);
    return this.kvVersion === 2 ? this.#readV2(path, selector) : this.#readV1(path, selector);
  }

  async describe(path: string): Promise<SecretMetadata> {
    const leases = this.#leasesFor(path);
    if (leases !== undefined) return leases.describe(path);
    await this.#ready(path);
    if (this.kvVersion === 1) {
      const record = await this.#readV1(path, { kind: 'latest' });
      record.value.zero();
      const info: SecretVersionInfo = {
        version: record.version,
        createdAt: record.createdAt,
        stages: ['current'],
      };
      return { path, createdAt: record.createdAt, versions: [info], stages: { current: record.version } };
    }
    const meta = await this.#metadata(path);
    if (meta === undefined) throw this.#notFound(path, 'does not exist');
    const stages = stagesOf(meta);
    const versions = Object.entries(meta.versions)
      .map(([id, v]): SecretVersionInfo => {
        const held = (Object.keys(stages) as Stage[]).filter((s) => stages[s] === id);
        const deleted = isDeleted(v);
        return {
          version: id,
          createdAt: new Date(v.created_time),
          stages: held,
          ...(deleted ? { deleted } : {}),
        };
      })
      .sort((a, b) => Number(a.version) - Number(b.version));
    return { path, createdAt: new Date(meta.created_time), versions, stages };
  }

  async list(): Promise<readonly string[]> {
    await this.#ready('');
    const root = this.kvVersion === 2 ? `${this.mount}/metadata` : this.mount;
    const found: string[] = [];
    let queue: string[] = [''];
    while (queue.length > 0) {
      const batch = queue.slice(0, LIST_CONCURRENCY);
      queue = queue.slice(LIST_CONCURRENCY);
      const answers = await Promise.all(
        batch.map((folder) =>
          this.#call('LIST', `${root}/${folder}`, {
            schema: listResponse,
            allowNotFound: true,
            subject: `${this.name}:${folder === '' ? '(mount root)' : folder}`,
          }),
        ),
      );
      batch.forEach((folder, i) => {
        for (const key of answers[i]?.data.keys ?? []) {
          if (key.endsWith('/')) queue.push(`${folder}${key}`);
          else found.push(`${folder}${key}`);
        }
      });
      if (found.length + queue.length > this.#listLimit) {
        throw new CofreError(
          'COFRE_BACKEND_UNSUPPORTED',
          `backend "${this.name}": more than ${this.#listLimit} entries under mount "${this.mount}"; raise listLimit`,
        );
      }
    }
    return found.sort();
  }

  async write(path: string, value: SecretValue, options: WriteOptions = {}): Promise<string> {
    await this.#ready(path);
    const data = this.#jsonObject(path, value);
    if (this.kvVersion === 1) {
      if (options.stage === 'pending')
        throw this.#unsupported('stages (KV version 1 keeps one value per path)');
      await this.#call('PUT', `${this.mount}/${path}`, {
        body: data,
        schema: ignoredResponse,
        subject: this.#ref(path),
      });
      return this.#v1Version(data);
    }
    return this.#locked(path, async () => {
      const before = await this.#metadata(path);
      const oldCurrent = before === undefined ? undefined : currentOf(before);
      const written = await this.#call('POST', `${this.mount}/data/${path}`, {
        body: { data },
        schema: v2WriteResponse,
        subject: this.#ref(path),
      });
      if (written === undefined) {
        // A 204 without a version: the mount is KV v1 and a key named "data/<path>" was just written. Undo it.
        await this.#call('DELETE', `${this.mount}/data/${path}`, { schema: ignoredResponse }).catch(
          () => undefined,
        );
        throw this.#mountMismatch(1);
      }
      const version = String(written.data.version);
      const pointers = { ...stagePointers(before) };
      if (options.stage === 'pending') {
        if (oldCurrent !== undefined) pointers.current = oldCurrent;
        pointers.pending = version;
      } else {
        if (oldCurrent !== undefined) pointers.previous = oldCurrent;
        pointers.current = version;
        if (pointers.pending === version) delete pointers.pending;
      }
      await this.#saveStages(path, before, pointers, version);
      return version;
    });
  }

  /**
   * Takes `pending` or `previous` off the version holding it (see {@link SecretBackend.clearStage}) by dropping
   * that stage's key from `custom_metadata`; the KV version itself is untouched and stays readable by id. Other
   * keys, and a `current` pointer, are written back as they were. No request beyond the metadata read when no
   * version holds the stage. Serialised with this process's other writes to the path; like `moveStage`, it may
   * race a second cofre process (KV v2 has no compare-and-set on metadata).
   *
   * KV v1 and dynamic mounts have no stages: `COFRE_BACKEND_UNSUPPORTED`.
   */
  async clearStage(path: string, stage: ClearableStage): Promise<void> {
    assertClearableStage(stage);
    const leases = this.#leasesFor(path);
    if (leases !== undefined) return leases.clearStage(path);
    await this.#ready(path);
    if (this.kvVersion === 1) {
      throw this.#unsupported(
        `clearing the ${stage} stage (KV version 1 keeps one value per path, with no stages)`,
      );
    }
    await this.#locked(path, async () => {
      const meta = await this.#metadata(path);
      if (meta === undefined) throw this.#notFound(path, 'does not exist');
      const pointers = { ...stagePointers(meta) };
      if (pointers[stage] === undefined) return;
      if (stage === 'pending') delete pointers.pending;
      else delete pointers.previous;
      await this.#saveStages(path, meta, pointers, String(meta.current_version));
    });
  }

  async moveStage(path: string, stage: Stage, version: string): Promise<void> {
    await this.#ready(path);
    if (this.kvVersion === 1) throw this.#unsupported('stages (KV version 1 keeps one value per path)');
    await this.#locked(path, async () => {
      const meta = await this.#metadata(path);
      if (meta === undefined) throw this.#notFound(path, 'does not exist');
      const target = meta.versions[version];
      if (!isVersionId(version) || target === undefined || isDeleted(target)) {
        throw this.#notFound(path, `has no readable version ${version}`, version);
      }
      const pointers = { ...stagePointers(meta) };
      if (stage === 'current') {
        const oldCurrent = currentOf(meta);
        if (oldCurrent !== undefined && oldCurrent !== version) pointers.previous = oldCurrent;
        pointers.current = version;
        if (pointers.pending === version) delete pointers.pending;
      } else {
        pointers[stage] = version;
      }
      await this.#saveStages(path, meta, pointers, String(meta.current_version));
    });
  }

  async remove(path: string): Promise<void> {
    await this.#ready(path);
    if (this.kvVersion === 1) {
      await this.#readV1(path, { kind: 'latest' }).then((r) => {
        r.value.zero();
      });
      await this.#call('DELETE', `${this.mount}/${path}`, {
        schema: ignoredResponse,
        subject: this.#ref(path),
      });
      return;
    }
    await this.#locked(path, async () => {
      if ((await this.#metadata(path)) === undefined) throw this.#notFound(path, 'does not exist');
      await this.#call('DELETE', `${this.mount}/metadata/${path}`, {
        schema: ignoredResponse,
        subject: this.#ref(path),
      });
    });
  }

  /** Revokes the session's token (when cofre created it). Safe to call twice. */
  /** Lease ends of dynamic secrets, so the resolver drops cached credentials at once (see SecretBackend.watch). */
  watch(listener: (path: string) => void): () => void {
    return (
      this.leases?.onLeaseEnd((event) => {
        listener(event.path);
      }) ?? (() => undefined)
    );
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // Leases first: revoking them needs the session's token, and a `token` session never revokes its token, so
    // leases left behind would outlive cofre.
    await this.leases?.close();
    await this.session.close();
    this.#onClose?.();
  }

  // -- KV v2 -------------------------------------------------------------------------------------------------

  async #readV2(path: string, selector: VersionSelector): Promise<SecretRecord> {
    if (selector.kind === 'version') return this.#readV2Version(path, selector.version);
    if (selector.kind === 'stage' && selector.stage !== 'current') {
      const meta = await this.#metadata(path);
      const version = meta === undefined ? undefined : stagesOf(meta)[selector.stage];
      if (version === undefined) throw this.#notFound(path, `has no version in stage ${selector.stage}`);
      return this.#readV2Version(path, version);
    }
    // latest and current: the newest version, unless a `current` pointer says otherwise. The data endpoint
    // returns the custom metadata too, so the usual case costs one request.
    const newest = await this.#call('GET', `${this.mount}/data/${path}`, {
      schema: v2ReadResponse,
      allowNotFound: true,
      subject: this.#ref(path),
    });
    const pointer = newest?.data.metadata.custom_metadata?.[STAGE_METADATA_KEYS.current];
    if (
      newest !== undefined &&
      newest.data.data !== null &&
      (pointer === undefined || pointer === String(newest.data.metadata.version))
    ) {
      return this.#record(newest.data.data, newest.data.metadata);
    }
    if (pointer !== undefined) return this.#readV2Version(path, pointer);
    // The newest version is deleted (404 with a body): a pointer to an older one may still exist.
    const meta = await this.#metadata(path);
    const current = meta === undefined ? undefined : stagesOf(meta).current;
    if (current === undefined || newest?.data.metadata.version === Number(current)) {
      throw this.#notFound(path, meta === undefined ? 'does not exist' : 'has no readable current version');
    }
    return this.#readV2Version(path, current);
  }

  async #readV2Version(path: string, version: string): Promise<SecretRecord> {
    // Vault reads version 0 as "latest": only positive integers are version ids.
    if (!isVersionId(version)) throw this.#notFound(path, `has no version ${version}`, version);
    const answer = await this.#call('GET', `${this.mount}/data/${path}`, {
      query: { version },
      schema: v2ReadResponse,
      allowNotFound: true,
      subject: this.#ref(path, version),
    });
    if (answer === undefined || answer.data.data === null) {
      throw this.#notFound(
        path,
        answer === undefined ? `has no version ${version}` : `version ${version} is deleted`,
        version,
      );
    }
    return this.#record(answer.data.data, answer.data.metadata);
  }

  #record(data: Record<string, unknown>, metadata: z.infer<typeof versionMetadataSchema>): SecretRecord {
    return {
      value: SecretValue.fromText(JSON.stringify(data)),
      version: String(metadata.version),
      createdAt: new Date(metadata.created_time),
    };
  }

  #metadata(path: string): Promise<V2Metadata | undefined> {
    return this.#call('GET', `${this.mount}/metadata/${path}`, {
      schema: v2MetadataResponse,
      allowNotFound: true,
      subject: this.#ref(path),
    }).then((answer) => answer?.data);
  }

  /**
   * Writes the stage pointers into `custom_metadata`, keeping keys that are not cofre's. A `current` pointer
   * equal to the newest version is left out: "no pointer" means the newest, so other tools' writes keep working.
   */
  async #saveStages(
    path: string,
    before: V2Metadata | undefined,
    pointers: Partial<Record<Stage, string>>,
    newest: string,
  ): Promise<void> {
    const custom: Record<string, string> = {};
    for (const [key, value] of Object.entries(before?.custom_metadata ?? {})) {
      if (!Object.values(STAGE_METADATA_KEYS).includes(key)) custom[key] = value;
    }
    for (const stage of Object.keys(STAGE_METADATA_KEYS) as Stage[]) {
      const version = pointers[stage];
      if (version === undefined || (stage === 'current' && version === newest)) continue;
      custom[STAGE_METADATA_KEYS[stage]] = version;
    }
    await this.#call('POST', `${this.mount}/metadata/${path}`, {
      body: { custom_metadata: custom },
      schema: ignoredResponse,
      subject: this.#ref(path),
    });
  }

  // -- KV v1 -------------------------------------------------------------------------------------------------

  async #readV1(path: string, selector: VersionSelector): Promise<SecretRecord> {
    if (selector.kind === 'stage' && selector.stage !== 'current') {
      throw this.#notFound(path, `has no stage ${selector.stage} (KV version 1 keeps one value per path)`);
    }
    const answer = await this.#call('GET', `${this.mount}/${path}`, {
      schema: v1ReadResponse,
      allowNotFound: true,
      subject: this.#ref(path),
    });
    if (answer === undefined) throw this.#notFound(path, 'does not exist');
    const version = this.#v1Version(answer.data);
    if (selector.kind === 'version' && selector.version !== version) {
      throw this.#notFound(
        path,
        `has no version ${selector.version} (KV version 1 keeps only the last value)`,
        selector.version,
      );
    }
    return { value: SecretValue.fromText(JSON.stringify(answer.data)), version, createdAt: new Date(0) };
  }

  /** A version id for a KV v1 value: HMAC under a per-process random key, so it reveals nothing about the value. */
  #v1Version(data: Record<string, unknown>): string {
    return `h${createHmac('sha256', this.#versionKey).update(canonicalJson(data)).digest('hex').slice(0, 24)}`;
  }

  // -- shared ------------------------------------------------------------------------------------------------

  #call<T>(
    method: VaultMethod,
    path: string,
    options: VaultRequestOptions<T> & { readonly allowNotFound: true },
  ): Promise<T | undefined>;
  #call<T>(method: VaultMethod, path: string, options: VaultRequestOptions<T>): Promise<T>;
  #call<T>(method: VaultMethod, path: string, options: VaultRequestOptions<T>): Promise<T | undefined> {
    if (this.#closed) {
      return Promise.reject(
        new CofreError('COFRE_BACKEND_CLOSED', `backend "${this.name}" used after close`),
      );
    }
    return this.session.withToken((token) =>
      this.session.client.request(method, path, { ...options, token }),
    );
  }

  /**
   * Checks once, before first use, that a configured `kvVersion` matches the mount. Skipped when the policy does
   * not allow the check; retried on the next call when Vault was unreachable.
   */
  /** The lease manager when `path` lies under a dynamic mount. */
  #leasesFor(path: string): VaultLeaseManager | undefined {
    if (this.leases === undefined) return undefined;
    const mount = path.split('/')[0] ?? '';
    return this.#dynamicMounts.includes(mount) ? this.leases : undefined;
  }

  #ready(path: string): Promise<void> {
    if (this.#closed) {
      return Promise.reject(
        new CofreError('COFRE_BACKEND_CLOSED', `backend "${this.name}" used after close`),
      );
    }
    if (!this.#configured) return Promise.resolve();
    this.#mountChecked ??= (async () => {
      // Log in first, outside the catch below: a failed login must surface, not pass as "check not allowed".
      await this.session.token();
      const info = await this.#call('GET', `sys/internal/ui/mounts/${this.mount}`, {
        schema: mountInfoResponse,
        subject: `${this.name}: mount "${this.mount}"`,
      }).catch((err: unknown) => {
        if (isCofreError(err) && err.category === 'unavailable') throw err;
        return undefined; // denied or unknown: trust the config
      });
      if (info !== undefined) {
        const actual = mountVersion(info.data, this.mount, this.name);
        if (actual !== this.kvVersion) throw this.#mountMismatch(actual);
      }
    })().catch((err: unknown) => {
      if (isCofreError(err) && err.category === 'unavailable') this.#mountChecked = undefined;
      throw err;
    });
    return this.#mountChecked.catch((err: unknown) => {
      throw isCofreError(err) && err.code === 'COFRE_VAULT_MOUNT_MISMATCH'
        ? new CofreError(err.code, `${this.#ref(path)}: ${err.message}`, {
            details: { path: this.#ref(path) },
          })
        : err;
    });
  }

  async #locked<T>(path: string, action: () => Promise<T>): Promise<T> {
    const previous = this.#writeLocks.get(path) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(action);
    this.#writeLocks.set(path, run);
    try {
      return await run;
    } finally {
      if (this.#writeLocks.get(path) === run) this.#writeLocks.delete(path);
    }
  }

  #jsonObject(path: string, value: SecretValue): Record<string, unknown> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(value.text());
    } catch {
      parsed = undefined; // SECURITY: the parser's message quotes the input
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new CofreError(
        'COFRE_SECRET_VALUE_INVALID',
        `${this.#ref(path)}: a Vault secret is a JSON object of fields, e.g. {"api_key":"…","secret":"…"}`,
        { details: { reference: this.#ref(path) } },
      );
    }
    return parsed as Record<string, unknown>;
  }

  #ref(path: string, version?: string): string {
    return `${this.name}:${path}${version === undefined ? '' : `@${version}`}`;
  }

  #notFound(path: string, what: string, version?: string): CofreError {
    return new CofreError('COFRE_SECRET_NOT_FOUND', `secret ${this.#ref(path)} ${what}`, {
      details: { reference: this.#ref(path, version) },
    });
  }

  #unsupported(what: string): CofreError {
    return new CofreError(
      'COFRE_BACKEND_UNSUPPORTED',
      `backend "${this.name}" (vault, mount "${this.mount}") does not support ${what}`,
    );
  }

  #mountMismatch(actual: 1 | 2): CofreError {
    return new CofreError(
      'COFRE_VAULT_MOUNT_MISMATCH',
      `backend "${this.name}": mount "${this.mount}" is KV version ${actual}, but the config says kvVersion: ${this.kvVersion}; set kvVersion: ${actual} (or remove it to detect)`,
    );
  }
}

/**
 * The KV version of `mount` from `sys/internal/ui/mounts/<mount>`. Throws `COFRE_VAULT_MOUNT_MISMATCH` when it is
 * not a KV mount or `mount` lies inside another mount, and asks for `kvVersion` when the check is refused.
 */
export async function detectKvVersion(session: VaultSession, mount: string, name: string): Promise<1 | 2> {
  // Log in first, outside the catch below: a failed login (a used wrapping token after a restart, a revoked
  // secret_id) must surface as itself, not as "cannot detect the KV version; set kvVersion".
  await session.token();
  const info = await session
    .withToken((token) =>
      session.client.request('GET', `sys/internal/ui/mounts/${mount}`, {
        token,
        schema: mountInfoResponse,
        subject: `${name}: mount "${mount}"`,
      }),
    )
    .catch((err: unknown) => {
      // Only the answers of the mount request itself: 403 (policy) or 404 (no such mount).
      if (isCofreError(err, 'COFRE_BACKEND_DENIED') || isCofreError(err, 'COFRE_SECRET_NOT_FOUND')) {
        throw new CofreError(
          'COFRE_VAULT_MOUNT_MISMATCH',
          `backend "${name}": cannot detect the KV version of mount "${mount}" (${err.code}: no such mount, or the policy does not allow reading sys/internal/ui/mounts/${mount}); set kvVersion: 1 or 2 in the config`,
          { details: { mount } },
        );
      }
      throw err;
    });
  return mountVersion(info.data, mount, name);
}

function mountVersion(data: z.infer<typeof mountInfoResponse>['data'], mount: string, name: string): 1 | 2 {
  if (data.type !== 'kv' && data.type !== 'generic') {
    throw new CofreError(
      'COFRE_VAULT_MOUNT_MISMATCH',
      `backend "${name}": mount "${mount}" is a "${data.type}" engine, not KV`,
      { details: { mount } },
    );
  }
  if (data.path !== undefined && data.path.replace(/\/+$/, '') !== mount) {
    throw new CofreError(
      'COFRE_VAULT_MOUNT_MISMATCH',
      `backend "${name}": "${mount}" is not a mount but a path inside mount "${data.path}"; set mount: ${data.path.replace(/\/+$/, '')} and put the rest into reference paths`,
      { details: { mount } },
    );
  }
  return data.options?.['version'] === '2' ? 2 : 1;
}

function isVersionId(version: string): boolean {
  return /^[1-9][0-9]{0,15}$/.test(version);
}

function isDeleted(v: {
  deletion_time?: string | null | undefined;
  destroyed?: boolean | null | undefined;
}): boolean {
  if (v.destroyed === true) return true;
  const at = v.deletion_time ?? '';
  return at !== '' && Date.parse(at) <= Date.now();
}

function stagePointers(meta: V2Metadata | undefined): Partial<Record<Stage, string>> {
  const custom = meta?.custom_metadata ?? {};
  const pointers: Partial<Record<Stage, string>> = {};
  for (const stage of Object.keys(STAGE_METADATA_KEYS) as Stage[]) {
    const value = custom[STAGE_METADATA_KEYS[stage]];
    if (value !== undefined && isVersionId(value)) pointers[stage] = value;
  }
  return pointers;
}

/** The stages of a secret: its pointers, with `current` defaulting to the newest readable version. */
function stagesOf(meta: V2Metadata): Partial<Record<Stage, string>> {
  const stages = stagePointers(meta);
  const current = currentOf(meta);
  if (current === undefined) delete stages.current;
  else stages.current = current;
  return stages;
}

function currentOf(meta: V2Metadata): string | undefined {
  const pointer = stagePointers(meta).current;
  if (pointer !== undefined) return pointer;
  const newest = meta.versions[String(meta.current_version)];
  return newest !== undefined && !isDeleted(newest) ? String(meta.current_version) : undefined;
}

/** JSON with object keys sorted, so equal maps give equal KV v1 version ids. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) =>
      a < b ? -1 : a > b ? 1 : 0,
    );
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
