import type { AnyEnvelope, EventTypeOn } from '@leash/contracts';

/** Anything on the control topic: a kill, a resume, or an acknowledgement of one. */
export type ControlEvent = Extract<AnyEnvelope, { type: EventTypeOn<'control'> }>;

/** A kill or a resume: what this service acknowledges. */
export type ControlCommand = Exclude<ControlEvent, { type: 'leash.control.ack.v1' }>;

export function isControlCommand(event: ControlEvent): event is ControlCommand {
  return event.type !== 'leash.control.ack.v1';
}
