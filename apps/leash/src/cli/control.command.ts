import type { Bus } from '@leash/bus';
import {
  ControlCommander,
  describeScope,
  type AckReceipt,
  type IssueResult,
} from '@leash/kill-switch';
import type { CliCommand } from './arguments';
import type { Terminal } from './terminal';

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
