import { Logger, type ArgumentsHost } from '@nestjs/common';
import { lastValueFrom } from 'rxjs';
import type { Delivery } from '../bus.port';
import { TransientError } from '../errors';
import { BusContext } from './bus.context';
import { BusExceptionFilter } from './bus-exception.filter';

function hostFor(delivery: Partial<Delivery>): ArgumentsHost {
  const context = new BusContext({
    topic: 'budget.requests',
    partition: 4,
    offset: '57',
    attempt: 1,
    ...delivery,
  } as Delivery);
  return {
    getType: () => 'rpc',
    switchToRpc: () => ({ getContext: () => context }),
  } as unknown as ArgumentsHost;
}

describe('BusExceptionFilter', () => {
  afterEach(() => jest.restoreAllMocks());

  it('warns, without a stack, of a transient failure the bus will retry, and rethrows it as it is', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const error = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const failure = new TransientError('the usage of model:t:1 is not settled yet');
    await expect(lastValueFrom(new BusExceptionFilter().catch(failure, hostFor({})))).rejects.toBe(
      failure,
    );
    expect(warn).toHaveBeenCalledWith(
      'handler will retry budget.requests[4]@57, attempt 1 failed: the usage of model:t:1 is not settled yet',
    );
    expect(error).not.toHaveBeenCalled();
  });

  it('logs any other failure as an error with its stack', async () => {
    const error = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const failure = new Error('bad data');
    await expect(lastValueFrom(new BusExceptionFilter().catch(failure, hostFor({})))).rejects.toBe(
      failure,
    );
    expect(error).toHaveBeenCalledWith(
      'handler failed on budget.requests[4]@57, attempt 1: bad data',
      failure.stack,
    );
  });
});
