import './instrument';
import { exitOnStartupError, stopOnSignal } from '@leash/engines';
import { bootstrapBudget } from './budget.app';

bootstrapBudget().then((service) => stopOnSignal(() => service.close()), exitOnStartupError);
