/** Secrets that every instance of one deployment shares (e.g. the key that signs access tokens). */
export interface SecretStore {
  /**
   * The secret `name`, stored with `generate()` when missing. Instances asking at once on a fresh store all
   * get the first value stored.
   */
  sharedSecret(name: string, generate: () => string): Promise<string>;
}
