import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { TOPIC_NAMES } from '@leash/contracts';
import type { Bus } from '@leash/bus';
import { KEY_HOLDERS, keepGateKeyFiles, type KeyHolder } from '@leash/signing';
import { UsageError } from './arguments';
import type { Terminal } from './terminal';

/** What a deployment sets up once, before the services start: their keys and their topics. */
export type DeploymentCommand =
  | { readonly kind: 'help'; readonly topic: 'deploy' }
  | {
      readonly kind: 'gate-keys';
      readonly gates: readonly KeyHolder[];
      readonly keyDir: string;
      readonly publicDir?: string;
    }
  | { readonly kind: 'topics-provision' };

export const DEPLOY_HELP = `leash gate-keys --dir D [--public-dir P] [--gate G ...]
leash topics provision

gate-keys makes each signing gate's Ed25519 key pair (policy, budget,
approvals), and the operators' (operator), which signs releases; --gate
picks some. For a deployment to mount as secrets: the private key in
D/<gate>.key (mode 0600: give it to that gate alone, as
LEASH_<GATE>_SIGNING_KEY_FILE) and the public key in P/<gate>.pub (P is D
unless given: give it to every process that checks the gate, as
LEASH_<GATE>_PUBLIC_KEYS_FILE). D/operator.key stays with the operators,
for leash release (LEASH_OPERATOR_SIGNING_KEY_FILE), never with a service;
P/operator.pub goes to every service (LEASH_OPERATOR_PUBLIC_KEYS_FILE). A
key already in D is kept, never replaced, and its public file written again
from it; so running it twice is safe. It prints file names and key ids,
nothing secret. No running Leash is needed.

topics provision creates every topic and its dead-letter topic on the bus
the variables name (LEASH_BUS, KAFKA_BROKERS, LEASH_TOPIC_PREFIX,
LEASH_PARTITIONS, ...) where they do not exist, and warns of a topic with
fewer partitions than LEASH_PARTITIONS. Services do it themselves at
start-up; run it beforehand (the Kubernetes Job in deploy/kubernetes does)
where the services are not granted CREATE.
`;

/** `leash gate-keys ...` or `leash topics ...` (argv with the command name) as a command, or UsageError. */
export function parseDeploymentCommand(argv: readonly string[]): DeploymentCommand {
  const [name, ...rest] = argv;
  if (name === 'topics') {
    if (rest[0] === 'provision' && rest.length === 1) return { kind: 'topics-provision' };
    if (rest.length === 0 || ['help', '--help', '-h'].includes(rest[0]!)) {
      return { kind: 'help', topic: 'deploy' };
    }
    throw new UsageError(
      `unknown topics command "${rest.join(' ')}": use topics provision`,
      'deploy',
    );
  }
  let values;
  try {
    ({ values } = parseArgs({
      args: [...rest],
      options: {
        help: { type: 'boolean', short: 'h' },
        dir: { type: 'string' },
        'public-dir': { type: 'string' },
        gate: { type: 'string', multiple: true },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    const message = (error as Error).message.split('. ')[0].replace(/\.$/, '');
    throw new UsageError(`gate-keys: ${message}`, 'deploy');
  }
  if (values.help) return { kind: 'help', topic: 'deploy' };
  const keyDir = values.dir?.trim();
  if (!keyDir) throw new UsageError('gate-keys needs --dir D', 'deploy');
  const gates = (values.gate ?? [...KEY_HOLDERS]).map((gate) => {
    const trimmed = gate.trim();
    if (!(KEY_HOLDERS as readonly string[]).includes(trimmed)) {
      throw new UsageError(
        `gate-keys: --gate "${gate}" is not a key holder: use ${KEY_HOLDERS.join(', ')}`,
        'deploy',
      );
    }
    return trimmed as KeyHolder;
  });
  const publicDir = values['public-dir']?.trim();
  return {
    kind: 'gate-keys',
    gates: [...new Set(gates)],
    keyDir,
    ...(publicDir ? { publicDir } : {}),
  };
}

/** Makes (or keeps) each gate's key files; needs no running Leash. */
export function runGateKeys(
  command: Extract<DeploymentCommand, { kind: 'gate-keys' }>,
  terminal: Terminal,
): number {
  for (const gate of command.gates) {
    let files;
    try {
      files = keepGateKeyFiles(gate, {
        keyDir: resolve(command.keyDir),
        ...(command.publicDir ? { publicDir: resolve(command.publicDir) } : {}),
      });
    } catch (error) {
      terminal.err(`leash: gate-keys: ${(error as Error).message}`);
      return 1;
    }
    terminal.out(
      `${gate}: ${files.made ? 'made' : 'kept'} key ${files.keyId}: private ${files.privateFile} (0600), public ${files.publicFile}`,
    );
  }
  return 0;
}

/** Creates every topic (and its dead-letter topic) on the configured bus. */
export async function runTopicsProvision(
  bus: Bus,
  where: string,
  terminal: Terminal,
): Promise<number> {
  await bus.provision(TOPIC_NAMES);
  terminal.out(
    `provisioned ${TOPIC_NAMES.length} topics and their dead-letter topics on ${bus.system} ${where}: ` +
      TOPIC_NAMES.map((topic) => bus.topicName(topic)).join(', '),
  );
  return 0;
}
