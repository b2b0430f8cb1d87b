import { KafkaJSNonRetriableError } from 'kafkajs';
import { isNotRunning, isSettling, needsNewProducer } from './kafka-errors';

describe('kafka errors', () => {
  it("tells kafkajs's refusal while a consumer restarts after a crash from other errors", () => {
    expect(
      isNotRunning(
        new KafkaJSNonRetriableError(
          'Consumer group was not initialized, consumer#run must be called first',
        ),
      ),
    ).toBe(true);
    expect(isNotRunning(new Error('Connection error: connect ECONNREFUSED'))).toBe(false);
    expect(isNotRunning(undefined)).toBe(false);
  });

  it('counts a settling error wrapped by kafkajs as settling', () => {
    const wrapped = Object.assign(new KafkaJSNonRetriableError('gave up'), {
      cause: { type: 'GROUP_LOAD_IN_PROGRESS' },
    });
    expect(isSettling(wrapped)).toBe(true);
    expect(isSettling(new Error('boom'))).toBe(false);
  });

  it('asks for a new producer when the broker refuses its sequence numbers for good, however wrapped', () => {
    const outOfOrder = Object.assign(
      new Error('The broker received an out of order sequence number'),
      {
        type: 'OUT_OF_ORDER_SEQUENCE_NUMBER',
      },
    );
    expect(needsNewProducer(outOfOrder)).toBe(true);
    expect(
      needsNewProducer(
        Object.assign(new KafkaJSNonRetriableError('gave up'), { cause: outOfOrder }),
      ),
    ).toBe(true);
    expect(
      needsNewProducer(Object.assign(new Error('unknown pid'), { type: 'UNKNOWN_PRODUCER_ID' })),
    ).toBe(true);
    expect(
      needsNewProducer(Object.assign(new Error('moving'), { type: 'NOT_LEADER_FOR_PARTITION' })),
    ).toBe(false);
    expect(needsNewProducer(new Error('Connection error: connect ECONNREFUSED'))).toBe(false);
    expect(needsNewProducer(undefined)).toBe(false);
  });
});
