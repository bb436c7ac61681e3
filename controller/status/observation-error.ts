// Why a region could not be observed, in the words an operator acts on. The observer records the raw
// error (`CODE: message`); the verdict's headline says what it means and what to do about it.

interface Explanation {
  /** Matches the error's leading code. */
  code: RegExp;
  explain: (error: string) => string;
}

const explanations: readonly Explanation[] = [
  {
    // The SDK's default chain found nothing: environment, shared files, SSO, web identity, instance role.
    code: /^CredentialsProviderError\b/,
    explain: (error) =>
      `no AWS credentials (${error}) — configure the AWS SDK's default chain (environment, profile, SSO, instance role) or pass --profile`,
  },
  {
    code: /^(ECONNREFUSED|ECONNRESET|ECONNABORTED|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT|EAI_AGAIN|EPIPE|UND_ERR_SOCKET|TimeoutError)\b/,
    explain: (error) => `cannot reach the EC2 endpoint (${error}) — check --endpoint and the network`,
  },
  {
    code: /^(AuthFailure|InvalidClientTokenId|UnrecognizedClientException|SignatureDoesNotMatch|ExpiredToken|ExpiredTokenException|RequestExpired)\b/,
    explain: (error) => `AWS rejected the credentials (${error}) — refresh them or pick another --profile`,
  },
  {
    code: /^(UnauthorizedOperation|AccessDenied|AccessDeniedException)\b/,
    explain: (error) =>
      `not permitted (${error}) — grant the EC2 permissions the README lists to the identity Leaven runs as`,
  },
];

/** The observer's error for a region, said as its cause and remedy when the cause is a known one. */
export function explainObservationError(error: string): string {
  const known = explanations.find((e) => e.code.test(error));
  return known ? known.explain(error) : error;
}
