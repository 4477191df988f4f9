import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';

import { CofreError } from '../../errors.js';

const CERTIFICATE = /-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+-----END CERTIFICATE-----/;

/**
 * Checks that a service principal's `certificateFile` holds what `ClientCertificateCredential` signs with: a PEM
 * certificate and the unencrypted private key that belongs to it (the first certificate; any further ones are its
 * chain). Checked at open, because the SDK would only fail at the first sign-in, with its own wording.
 *
 * Throws `COFRE_CONFIG_INVALID` naming the backend and the file, and what to run; never quotes the file.
 */
export function checkCertificatePem(name: string, path: string, pem: string): void {
  const what = `backend "${name}": credential.certificateFile ${path}`;
  const block = CERTIFICATE.exec(pem);
  if (block === null) {
    throw invalid(
      `${what} holds no PEM certificate (-----BEGIN CERTIFICATE-----); concatenate the certificate and its key: cat cert.pem key.pem > ${path}`,
      path,
    );
  }
  if (pem.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----') || pem.includes('Proc-Type: 4,ENCRYPTED')) {
    throw invalid(
      `${what} holds an encrypted private key, and cofre takes no key password; decrypt it into the mode-600 file: openssl pkey -in key.pem -out key-plain.pem`,
      path,
    );
  }
  let key: KeyObject;
  let certificate: X509Certificate;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
    certificate = new X509Certificate(block[0]);
  } catch {
    throw invalid(
      `${what} holds no readable private key next to the certificate; concatenate the certificate and its key: cat cert.pem key.pem > ${path}`,
      path,
    );
  }
  if (!certificate.checkPrivateKey(key)) {
    throw invalid(
      `${what}: the private key does not belong to the first certificate; put the certificate registered on the app first, with its own key`,
      path,
    );
  }
}

function invalid(message: string, path: string): CofreError {
  return new CofreError('COFRE_CONFIG_INVALID', message, { details: { path } });
}
