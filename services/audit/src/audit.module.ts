import {
  Inject,
  Injectable,
  Logger,
  Module,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { AuditRecorder } from '@leash/audit';
import type { Bus } from '@leash/bus';
import { BUS, STORE } from '@leash/service-runtime';
import type { Store } from '@leash/store';

/**
 * Runs the audit recorder with the app: consumer group `audit` on every topic
 * and its dead-letter topic, from the beginning of the log, writing to the
 * service's own store. It stops (its batches committed) before the engines close.
 */
@Injectable()
class AuditRecorderHost implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('audit');
  private readonly recorder: AuditRecorder;

  constructor(@Inject(BUS) bus: Bus, @Inject(STORE) store: Store) {
    this.recorder = new AuditRecorder({ bus, store });
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.recorder.start();
    this.logger.log('recording every topic as consumer group audit');
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.recorder.stop();
  }
}

/** The audit service's features. Config and engines are provided around it by startService. */
@Module({ providers: [AuditRecorderHost] })
export class AuditModule {}
