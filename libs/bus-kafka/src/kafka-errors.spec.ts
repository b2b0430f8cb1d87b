import { KafkaJSNonRetriableError } from 'kafkajs';
import { isNotRunning, isSettling } from './kafka-errors';

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
});
