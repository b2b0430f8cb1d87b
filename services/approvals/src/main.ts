import './instrument';
import { exitOnStartupError, stopOnSignal } from '@leash/engines';
import { bootstrapApprovals } from './approvals.app';

bootstrapApprovals().then((service) => stopOnSignal(() => service.close()), exitOnStartupError);
