import { StoreBusyError, StoreError, StoreUnavailableError } from './errors';

describe('store errors', () => {
  it('marks an unavailable store transient, so the bus retries instead of dead-lettering', () => {
    for (const error of [
      new StoreUnavailableError('primary stepped down'),
      new StoreBusyError('locked'),
    ]) {
      expect(error).toBeInstanceOf(StoreError);
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect(error.transient).toBe(true);
    }
    expect(new StoreBusyError('locked').name).toBe('StoreBusyError');
    expect((new StoreError('bad query') as { transient?: boolean }).transient).toBeUndefined();
  });
});
