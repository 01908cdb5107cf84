/**
 * Key rotation, last step before an old key is retired: every stored secret re-encrypted under
 * the backend's current key (the keyring's active kid, or Vault's latest key version), one
 * install at a time, each install's plaintexts wiped as soon as they are sealed again (see
 * SecretCipher.reencrypt for why not Vault's rewrap). Values do not change, so secretsVersion
 * does not move; each row is replaced only if it still holds the ciphertext that was read (a
 * secrets write that lands meanwhile wins), and each install's cached config is dropped so the
 * next request carries the new ciphertexts.
 */
import type { Knex } from 'knex';
import { AlgaError } from '@alga-psa/extension-contracts';
import type { SecretCipher } from '@alga-psa/extension-host/secrets/secret-cipher';

export interface ReencryptReport {
  /** What the values are encrypted with now (`local:<kid>` or `vault:<mount>/<key>`). */
  writer: string;
  installs: number;
  values: number;
  reencrypted: number;
  /** Values another write replaced meanwhile (left as that write stored them). */
  skipped: number;
  /** Values the backend could not re-encrypt (undecryptable, or older than Vault's min_decryption_version): left as they were. */
  failed: Array<{ tenantId: string; installId: string; key: string }>;
}

export async function reencryptSecrets(deps: { knex: Knex; secretCipher: SecretCipher; onInstallChanged(tenantId: string, installId: string): void }): Promise<ReencryptReport> {
  const { knex, secretCipher } = deps;
  if (!secretCipher.reencrypt) throw new AlgaError('E_SECRETS_UNAVAILABLE', 'this secret backend cannot re-encrypt');
  const rows = (await knex('tenant_extension_install_secrets').select('tenant_id', 'install_id', 'key', 'ciphertext')) as Array<{ tenant_id: string; install_id: string; key: string; ciphertext: string }>;
  const byInstall = new Map<string, typeof rows>();
  for (const row of rows) byInstall.set(row.install_id, [...(byInstall.get(row.install_id) ?? []), row]);
  const report: ReencryptReport = { writer: secretCipher.describeWriter?.() ?? secretCipher.algorithm, installs: byInstall.size, values: rows.length, reencrypted: 0, skipped: 0, failed: [] };
  for (const [installId, own] of byInstall) {
    const tenantId = own[0].tenant_id;
    const envelope = Object.fromEntries(own.map((r) => [r.key, r.ciphertext]));
    const { sealed, failed } = await secretCipher.reencrypt({ tenantId, installId }, envelope);
    for (const key of failed) report.failed.push({ tenantId, installId, key });
    await knex.transaction(async (trx) => {
      for (const [key, value] of Object.entries(sealed)) {
        const updated = await trx('tenant_extension_install_secrets')
          .where({ install_id: installId, key, ciphertext: envelope[key] })
          .update({ ciphertext: value.ciphertext, algorithm: value.algorithm, key_ref: value.keyRef, updated_at: new Date() });
        if (updated === 1) report.reencrypted++;
        else report.skipped++;
      }
    });
    deps.onInstallChanged(tenantId, installId);
  }
  return report;
}
