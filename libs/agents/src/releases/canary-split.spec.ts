import { canaryPosition, takesCanary } from './canary-split';

describe('the canary split', () => {
  it('puts a task on the same side every time', () => {
    for (const taskId of ['t-1', 'order-42', 'é-ü', 'x'.repeat(200)]) {
      expect(takesCanary('support', taskId, 20)).toBe(takesCanary('support', taskId, 20));
      expect(canaryPosition('support', taskId)).toBe(canaryPosition('support', taskId));
    }
  });

  it.each([1, 5, 20, 50, 0.5])(
    'sends %p%% of 10,000 ids to the canary, within 1 point',
    (percent) => {
      let canary = 0;
      for (let i = 0; i < 10_000; i += 1)
        if (takesCanary('support', `task-${i}`, percent)) canary += 1;
      expect(Math.abs((canary / 10_000) * 100 - percent)).toBeLessThanOrEqual(1);
    },
  );

  it('only adds tasks to the canary when its share is raised', () => {
    for (let i = 0; i < 2_000; i += 1) {
      if (takesCanary('support', `t${i}`, 5))
        expect(takesCanary('support', `t${i}`, 25)).toBe(true);
    }
  });

  it('splits each agent on its own', () => {
    const ids = Array.from({ length: 1_000 }, (_, i) => `t${i}`);
    const a = ids.filter((id) => takesCanary('support', id, 50));
    const b = ids.filter((id) => takesCanary('procurement', id, 50));
    expect(a).not.toEqual(b);
  });
});
