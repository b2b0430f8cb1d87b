import './instrument';
import { exitOnStartupError, stopOnSignal } from '@leash/engines';
import { bootstrapPolicy } from './policy.app';

bootstrapPolicy().then((service) => stopOnSignal(() => service.close()), exitOnStartupError);
