import { Catch, Logger, type ArgumentsHost, type RpcExceptionFilter } from '@nestjs/common';
import { throwError, type Observable } from 'rxjs';
import { isTransient } from '../errors';
import { BusContext } from './bus.context';

/**
 * Nest's default RPC filter replaces any error with `{ status: 'error',
 * message: 'Internal server error' }`, which would hide the cause from the
 * dead-letter record and strip `transient: true`, so nothing would be
 * retried. This filter logs the failure and rethrows the original error for
 * the bus to retry or dead-letter. Registered app-wide by BusModule.
 */
@Catch()
export class BusExceptionFilter implements RpcExceptionFilter<unknown> {
  private readonly logger = new Logger('BusServer');

  catch(exception: unknown, host: ArgumentsHost): Observable<never> {
    const context = host.getType() === 'rpc' ? host.switchToRpc().getContext() : undefined;
    if (context instanceof BusContext) {
      const where = `${context.getTopic()}[${context.getPartition()}]@${context.getOffset()}`;
      const message = exception instanceof Error ? exception.message : String(exception);
      if (isTransient(exception)) {
        // Retried by the bus, often by design (a gate waiting for another topic): a warning, no stack.
        this.logger.warn(
          `handler will retry ${where}, attempt ${context.getAttempt()} failed: ${message}`,
        );
      } else {
        this.logger.error(
          `handler failed on ${where}, attempt ${context.getAttempt()}: ${message}`,
          exception instanceof Error ? exception.stack : undefined,
        );
      }
    }
    return throwError(() => exception);
  }
}
