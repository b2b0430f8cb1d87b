import type { Bus } from '@leash/bus';
import {
  ControlCommander,
  describeKill,
  describeScope,
  KILLS,
  type AckReceipt,
  type IssueResult,
  type KillRecord,
} from '@leash/kill-switch';
import type { Store } from '@leash/store';
import type { CliCommand } from './arguments';
import { visible, type Terminal } from './terminal';

type ControlCommand = Extract<CliCommand, { kind: 'kill' | 'resume' }>;

/**
 * `leash kill` / `leash resume`: publishes the command, prints each
 * acknowledgement as it arrives, and returns the exit code: 0 when every
 * service acknowledged in time, 1 naming the ones that did not.
 */
export async function runControlCommand(
  bus: Bus,
  command: ControlCommand,
  terminal: Terminal,
): Promise<number> {
  const commander = await ControlCommander.open(bus, { source: 'leash-cli' });
  try {
    const scope = describeScope(command.scope);
    const options = {
      timeoutMs: command.timeoutMs,
      onAck: (receipt: AckReceipt) => terminal.out(formatAck(receipt)),
    };
    terminal.out(
      `${command.kind} (${scope}) by ${command.issuedBy}: "${command.reason}"` +
        (command.kind === 'kill' && command.rollback ? ', with rollback' : ''),
    );
    const result =
      command.kind === 'kill'
        ? await commander.kill(command, options)
        : await commander.resume(command, options);
    return report(result, command, terminal);
  } finally {
    await commander.close();
  }
}

export function formatAck({ ack, elapsedMs }: AckReceipt): string {
  const aborted = ack.command === 'kill' ? `  aborted ${ack.aborted}` : '';
  return `  ${ack.service.padEnd(9)} ${`${elapsedMs.toFixed(1)} ms`.padStart(10)}  instance ${ack.instance}${aborted}`;
}

function report(result: IssueResult, command: ControlCommand, terminal: Terminal): number {
  const services = new Set(result.acks.map((r) => r.ack.service)).size;
  if (result.missing.length > 0) {
    terminal.err(
      `leash ${command.kind}: no acknowledgement within ${command.timeoutMs} ms from ` +
        `${result.missing.join(', ')} (command ${result.commandId}). Is every service running on this bus?`,
    );
    return 1;
  }
  const last = Math.max(...result.acks.map((r) => r.elapsedMs));
  terminal.out(
    `${command.kind === 'kill' ? 'killed' : 'resumed'}: ${services} services acknowledged ` +
      `in ${last.toFixed(1)} ms (command ${result.commandId})`,
  );
  return 0;
}

/** The kills in force, oldest first, as every service loads them at start. */
export async function activeKills(store: Store): Promise<KillRecord[]> {
  const stored = await store.repository(KILLS).find({ where: { status: 'active' } });
  return stored
    .map(({ doc }) => doc)
    .sort((a, b) => Date.parse(a.issuedAt) - Date.parse(b.issuedAt));
}

/** A heading and one line per kill in force; nothing when there is none. */
export function formatActiveKills(kills: readonly KillRecord[]): string[] {
  if (kills.length === 0) return [];
  return [
    `${kills.length} kill${kills.length === 1 ? '' : 's'} in force: new tasks and calls in ${kills.length === 1 ? 'its' : 'their'} scope are refused until resumed`,
    ...kills.map((kill) => `  ${visible(describeKill(kill))}`),
  ];
}

/** `leash kill list`: the kills in force, with who issued each, when, why, and what lifts it. */
export async function runKillList(store: Store, terminal: Terminal): Promise<number> {
  const lines = formatActiveKills(await activeKills(store));
  for (const line of lines.length > 0 ? lines : ['no kill in force']) terminal.out(line);
  return 0;
}
