import './instrument';
import { exitOnStartupError, stopOnSignal } from '@leash/engines';
import { bootstrapExecutor } from './executor.app';

bootstrapExecutor().then((service) => stopOnSignal(() => service.close()), exitOnStartupError);
