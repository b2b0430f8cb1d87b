import './instrument';
import { exitOnStartupError, stopOnSignal } from '@leash/engines';
import { bootstrapPlanner } from './planner.app';

bootstrapPlanner().then((service) => stopOnSignal(() => service.close()), exitOnStartupError);
