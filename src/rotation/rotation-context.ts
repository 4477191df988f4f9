import type { AuditSink } from '../audit/audit-log.js';
import type { AccountConfig, CofreConfig } from '../config/config-schema.js';
import type { SecretBackend } from '../secrets/secret-backend.js';
import type { KeyScopeJudgement } from '../venues/key-scope.js';
import type { KeyScope, VenueAccount, VenueCredentials } from '../venues/venue-account.js';
import type { RotationStore } from './rotation-types.js';

/** Where a rotation is, told after each durable point (see {@link RotationContext.onStep}). */
export type RotationStepName =
  /** The record is stored; nothing written to a backend yet. */
  | 'created'
  /** One pending version is in the backend, not yet in the record. */
  | 'pending-written'
  /** That pending version is in the record. */
  | 'pending-recorded'
  /** Step 2, nothing for cofre to do: a venue key is set at the venue by the operator before the rotation. */
  | 'set'
  /** The pending versions passed their test; the record says `tested`. */
  | 'tested'
  /** One secret's `current` moved to its new version, not yet in the record. */
  | 'promoted-secret'
  /** The record says `promoted`. */
  | 'promoted'
  /** The record says `failed` and the pending versions are cleared. */
  | 'failed'
  /** A rollback's record is stored. */
  | 'rolled-back';

/** One progress report of a rotation. */
export interface RotationProgress {
  readonly rotation: string;
  readonly step: RotationStepName;
  /** For the operator (`1/4 pending version written (vault:exchanges/main v7)`); undefined for inner points. */
  readonly message: string | undefined;
}

/** Opens a venue account the way the broker does (`openVenueAccount`), on the credentials given. */
export type VenueOpener = (
  accountId: string,
  account: AccountConfig,
  credentials: () => Promise<VenueCredentials>,
) => Promise<VenueAccount>;

/** The key-scope check of the test step (`venues/check-key-scope.ts`'s signature). */
export type KeyScopeChecker = (
  config: CofreConfig,
  accountId: string,
  venue: VenueAccount,
) => Promise<{ scope: KeyScope | undefined; judgement: KeyScopeJudgement }>;

/** What the rotation engine works with; the CLI builds it from the config, tests from fakes and real peers. */
export interface RotationContext {
  readonly config: CofreConfig;
  /** The backend a reference names (`SecretResolver.backend`). */
  readonly backend: (name: string) => SecretBackend;
  /** Drops this process's cached values of a path once its `current` moved (`SecretResolver.invalidate`). */
  readonly invalidate: (backend: string, path: string) => void;
  readonly store: RotationStore;
  readonly audit: AuditSink;
  readonly openVenue: VenueOpener;
  readonly checkKeyScope: KeyScopeChecker;
  /** Who acts (`local:<os user>`). */
  readonly by: string;
  readonly now: () => Date;
  /** Told after each durable point; the CLI prints the messages, the crash test kills itself here. */
  readonly onStep: (progress: RotationProgress) => void | Promise<void>;
  /** Told of key-scope problems that do not refuse the key (a warning, not a failed test). */
  readonly onWarning: (message: string) => void;
}
