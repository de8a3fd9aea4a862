/**
 * error: the one error shape every patch flavour reports. Kubernetes answers a malformed patch
 * (not JSON, not an object, a directive it does not know) with 400 BadRequest, and a well-formed
 * patch that cannot be applied to the object (a failing JSON patch `test`, a path that does not
 * exist, an invalid `$retainKeys` or `$setElementOrder` list) with 422 Invalid.
 */

/** PatchError is why a patch was refused; `code` and `reason` are what the apiserver answers. */
export type PatchError =
  | { readonly code: 400; readonly reason: 'BadRequest'; readonly message: string }
  | { readonly code: 422; readonly reason: 'Invalid'; readonly message: string };

/** badRequest builds a 400 PatchError: the patch itself is malformed. */
export function badRequest(message: string): PatchError {
  return { code: 400, reason: 'BadRequest', message };
}

/** unprocessable builds a 422 PatchError: the patch is well-formed but does not apply. */
export function unprocessable(message: string): PatchError {
  return { code: 422, reason: 'Invalid', message };
}
