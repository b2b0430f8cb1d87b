import { context, trace } from '@opentelemetry/api';
import type { EnqueueOptions, OutboxWriter, Store, Transaction } from '@leash/store';
import { recordOutcome, traceHeaders } from '@leash/telemetry';

/*
 * A service's view of the store that keeps one trace per task across the
 * outbox. An event is published by the relay long after the transaction that
 * enqueued it, outside any span; so each enqueue takes the trace context of
 * the span active when the event was caused (the consumer's process or gate
 * span) and the bus parents its publish span there. Each enqueued event is
 * also read for the decision it carries (recordOutcome), so gate spans and
 * the actions counter report what was decided whatever the use case returns.
 */

/** Wraps a store so every outbox enqueue carries the active trace context. */
export function traceStore(store: Store): Store {
  return {
    get system() {
      return store.system;
    },
    repository: (aggregate) => store.repository(aggregate),
    transaction: (work) => store.transaction((tx) => work(tracedTransaction(tx))),
    ...(store.inOneCommit
      ? { inOneCommit: <R>(work: () => Promise<R>) => store.inOneCommit!(work) }
      : {}),
    get outbox() {
      return store.outbox;
    },
    ping: () => store.ping(),
    close: () => store.close(),
  };
}

function tracedTransaction(tx: Transaction): Transaction {
  const outbox: OutboxWriter = {
    enqueue(topic, envelope, options) {
      recordOutcome(envelope);
      return tx.outbox.enqueue(topic, envelope, withTraceContext(options));
    },
  };
  return {
    repository: (aggregate) => tx.repository(aggregate),
    inbox: tx.inbox,
    outbox,
  };
}

/**
 * The active span's context wins over headers a use case passed along: those
 * are the incoming message's, and the outgoing publish is a child of this
 * hop's span, not a sibling of it.
 */
function withTraceContext(options: EnqueueOptions | undefined): EnqueueOptions | undefined {
  if (trace.getSpan(context.active()) === undefined) return options;
  const headers = traceHeaders();
  if (headers.traceparent === undefined) return options;
  return { ...options, headers: { ...options?.headers, ...headers } };
}
