// Managed identity over the App Service route (App Service, Functions, Container Apps: `IDENTITY_ENDPOINT` and
// `IDENTITY_HEADER`), through the official SecretClient against the stand-in. Its own file because msal-node
// picks the managed-identity source once per process (see testdata/managed-identity-route.ts).
import { startKeyVaultStandIn } from '../../../test/key-vault-standin/index.js';
import { managedIdentityRouteSuite } from './testdata/managed-identity-route.js';

managedIdentityRouteSuite('app-service', startKeyVaultStandIn);
