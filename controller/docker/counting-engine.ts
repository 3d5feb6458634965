// The engine seen through a counter of its failures (factory_docker_errors_total): a decorator, so the engine itself
// knows nothing of metrics and metrics nothing of Docker.
import type { Engine } from './docker-engine.js';

/** The engine with every failed call counted by method name; results and failures reach the caller unchanged. */
export function countingEngine(engine: Engine, metrics: { dockerError(operation: string): void }): Engine {
  return new Proxy(engine, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const count = (err: unknown) => {
          metrics.dockerError(String(prop));
          throw err;
        };
        try {
          const result = value.apply(target, args);
          return result instanceof Promise ? result.catch(count) : result;
        } catch (err) {
          return count(err);
        }
      };
    },
  });
}
