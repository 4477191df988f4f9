import { afterAll, describe } from 'vitest';

import { peerOrSkip } from '../../../test/peers/peer-or-skip.js';
import { startMoto } from '../../../test/peers/peers.js';
import { exerciseSecretBackend } from '../../testing/exercise-secret-backend.js';
import { openTestBackend } from './testdata/moto-backend.js';

const moto = await peerOrSkip('moto', startMoto);

afterAll(async () => {
  await moto?.stop();
});

describe.skipIf(moto === undefined)('aws-secrets-manager against moto', () => {
  exerciseSecretBackend('aws-secrets-manager (moto)', async () => ({
    backend: await openTestBackend(moto!.endpoint),
  }));

  exerciseSecretBackend('aws-secrets-manager (moto, with a name prefix)', async () => ({
    backend: await openTestBackend(moto!.endpoint, { prefix: 'team-a/cofre/' }),
  }));
});
