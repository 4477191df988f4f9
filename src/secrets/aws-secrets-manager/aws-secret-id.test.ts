import { describe, expect, it } from 'vitest';

import { isCofreError } from '../../errors.js';
import { awsSecretId } from './aws-secret-id.js';

describe('awsSecretId', () => {
  it('prefixes names and leaves ARNs alone', () => {
    expect(awsSecretId('binance', 'prod/')).toEqual({ secretId: 'prod/binance', isArn: false });
    const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/binance-AbCdEf';
    expect(awsSecretId(arn, 'prod/')).toEqual({ secretId: arn, isArn: true });
    const gov = 'arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:x';
    expect(awsSecretId(gov, '').isArn).toBe(true);
  });

  it.each([
    ['', 'an empty name'],
    ['has space', 'a space'],
    ['semi;colon', 'a character AWS refuses'],
    ['arn:aws:s3:::bucket/key', 'an ARN of another service'],
    ['a'.repeat(510), 'a name over 512 characters with the prefix'],
  ])('rejects %j (%s) with COFRE_INPUT_INVALID, without quoting it', (path) => {
    let thrown: unknown;
    try {
      awsSecretId(path, 'pre/');
    } catch (err) {
      thrown = err;
    }
    expect(isCofreError(thrown, 'COFRE_INPUT_INVALID')).toBe(true);
    if (path.length > 3) expect((thrown as Error).message).not.toContain(path);
  });
});
