import { CofreError } from '../../errors.js';

/** Longest secret name AWS Secrets Manager accepts (the prefix counts). */
export const MAX_AWS_SECRET_NAME_LENGTH = 512;
const MAX_ARN_LENGTH = 2048;

/** Characters AWS allows in a secret name: letters, digits and `/_+=.@-`. */
export const AWS_SECRET_NAME = /^[A-Za-z0-9/_+=.@-]+$/;
// arn:<partition>:secretsmanager:<region>:<account>:secret:<name>[-<6 random>] — a partial ARN (without the
// random suffix) is accepted by AWS too.
const AWS_SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/;

/**
 * The `SecretId` AWS is asked for, for a cofre path: an ARN as is (`arn:aws:secretsmanager:…:secret:prod/x-AbCdEf`),
 * a name with the backend's `prefix` in front. Throws `COFRE_INPUT_INVALID` for anything AWS would refuse, without
 * quoting the rejected text (it may be a value pasted by mistake).
 *
 * Pure; safe to call concurrently.
 */
export function awsSecretId(
  path: string,
  prefix: string,
): { readonly secretId: string; readonly isArn: boolean } {
  if (path.startsWith('arn:')) {
    if (path.length > MAX_ARN_LENGTH || !AWS_SECRET_ARN.test(path)) {
      throw new CofreError(
        'COFRE_INPUT_INVALID',
        'not a Secrets Manager secret ARN; expected arn:<partition>:secretsmanager:<region>:<account>:secret:<name>',
      );
    }
    return { secretId: path, isArn: true };
  }
  const name = `${prefix}${path}`;
  if (path.length === 0 || !AWS_SECRET_NAME.test(path)) {
    throw new CofreError(
      'COFRE_INPUT_INVALID',
      'an AWS Secrets Manager secret name may contain only letters, digits and / _ + = . @ -',
    );
  }
  if (name.length > MAX_AWS_SECRET_NAME_LENGTH) {
    throw new CofreError(
      'COFRE_INPUT_INVALID',
      `secret name is ${name.length} characters long with the prefix; AWS Secrets Manager allows ${MAX_AWS_SECRET_NAME_LENGTH}`,
      { details: { length: name.length } },
    );
  }
  return { secretId: name, isArn: false };
}
