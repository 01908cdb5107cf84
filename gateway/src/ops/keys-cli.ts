/**
 * `npm run keys -- <command>`: the key-file steps of a rotation (README "Key rotation"). Each
 * command edits one file atomically (mode 0600) and prints what to do next; the processes pick
 * the change up on SIGHUP (or POST /api/v1/operator/keys/reload for the gateway).
 *
 *   execution-keys add <file>            a new signing key, not active yet; prints the JWKS for RUNNER_TRUSTED_KEYS
 *   execution-keys activate <file> <kid> the gateway signs with it after a reload
 *   execution-keys retire <file> <kid>   drops an old key (never the active one)
 *   execution-keys public <file>         the JWKS document runners trust (RUNNER_TRUSTED_KEYS)
 *   keyring rotate <file>                a new active kid; old kids stay for decryption
 *   keyring retire <file> <kid>          drops a kid once nothing is encrypted with it (after re-encrypt)
 */
import { Command } from 'commander';
import { loadKeyring, retireKeyringKid, rotateKeyring, saveKeyring } from '@alga-psa/extension-host/secrets/local-keyring';
import { activateExecutionKey, addExecutionKey, executionPublicJwks, retireExecutionKey } from '../proxy/execution-keys.ts';

const program = new Command('keys').description('key-file steps of a key rotation (see README "Key rotation")').showHelpAfterError();
const say = (line: string) => process.stdout.write(`${line}\n`);

const execution = program.command('execution-keys').description("the gateway's execution-token signing keys (ALGA_EXECUTION_KEYS_FILE)");
execution.command('add <file>').description('add a new signing key, not active yet').action(async (file: string) => {
  const { kid, publicJwks } = await addExecutionKey(file);
  say(`added execution key ${kid} (not active yet)`);
  say('next: give every runner these keys (RUNNER_TRUSTED_KEYS) and send it SIGHUP, then `execution-keys activate`:');
  say(JSON.stringify({ keys: publicJwks }));
});
execution.command('activate <file> <kid>').description('sign with this key from the next reload').action(async (file: string, kid: string) => {
  await activateExecutionKey(file, kid);
  say(`${kid} is the active execution key in ${file}`);
  say('next: reload the gateway (SIGHUP, or POST /api/v1/operator/keys/reload); once tokens of the old key have expired, drop it from the runners and `execution-keys retire` it');
});
execution.command('retire <file> <kid>').description('drop an old key (never the active one)').action(async (file: string, kid: string) => {
  await retireExecutionKey(file, kid);
  say(`removed execution key ${kid} from ${file}; reload the gateway`);
});
execution.command('public <file>').description('the JWKS document runners trust').action(async (file: string) => {
  say(JSON.stringify({ keys: await executionPublicJwks(file) }));
});

const keyring = program.command('keyring').description('the local secret keyring (ALGA_KEYRING_FILE)');
keyring.command('rotate <file>').description('a new active kid; the old ones stay for decryption').action(async (file: string) => {
  const next = rotateKeyring(await loadKeyring(file, { createIfMissing: false }));
  await saveKeyring(file, next);
  say(`new active kid ${next.active} in ${file} (kept: ${Object.keys(next.keys).filter((k) => k !== next.active).join(', ') || 'none'})`);
  say('next: copy the file to every runner and SIGHUP it, reload the gateway, then POST /api/v1/operator/secrets/reencrypt; `keyring retire` the old kid after that');
});
keyring.command('retire <file> <kid>').description('drop a kid once nothing is encrypted with it').action(async (file: string, kid: string) => {
  await saveKeyring(file, retireKeyringKid(await loadKeyring(file, { createIfMissing: false }), kid));
  say(`removed kid ${kid} from ${file}; reload the gateway and the runners`);
});

await program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`keys: ${(err as Error).message}\n`);
  process.exitCode = 1;
});
