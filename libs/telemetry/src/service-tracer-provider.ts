import type {
  Context,
  Span,
  SpanOptions,
  Tracer,
  TracerOptions,
  TracerProvider,
} from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  type Sampler,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import {
  ATTR_SERVICE_NAME,
  ATTR_SERVICE_NAMESPACE,
  ATTR_SERVICE_VERSION,
} from '@opentelemetry/semantic-conventions';
import { LEASH } from './attributes';

/** Past this many services, spans are put under the process's own name (a bound on providers). */
const MAX_SERVICES = 32;

export interface ServiceTracerProviderOptions {
  /** The process's name: for spans that name no service (`leash.service`). */
  readonly serviceName: string;
  readonly serviceVersion: string;
  /** Shared by every service's provider: one export pipeline for the process. */
  readonly spanProcessors: readonly SpanProcessor[];
  readonly sampler: Sampler;
}

/*
 * A resource, and so `service.name`, belongs to a tracer provider, and one SDK
 * has one. The all-in-one process runs five services, so it keeps one tracer
 * provider per service, each with its resource (`service.name` the service,
 * `service.namespace` leash), all feeding the same span processors: the OTLP
 * exporter groups spans by resource, so backends (Jaeger, Tempo, Honeycomb...)
 * show each service as its own. A span's service is the `leash.service`
 * attribute it starts with; a span without one is the process's. A resource
 * attribute is what backends read for the service: a span attribute named
 * `service.name` is not standard and most ignore it.
 */
export class ServiceTracerProvider implements TracerProvider {
  private readonly providers = new Map<string, BasicTracerProvider>();
  private readonly tracers = new Map<string, Tracer>();

  constructor(private readonly options: ServiceTracerProviderOptions) {}

  getTracer(name: string, version?: string, options?: TracerOptions): Tracer {
    // leashTracer() asks for its tracer at every span: the plain ones are made once.
    const plain = version === undefined && options === undefined;
    const cached = plain ? this.tracers.get(name) : undefined;
    if (cached) return cached;
    const tracer = new ServiceTracer((service) =>
      this.providerOf(service).getTracer(name, version, options),
    );
    if (plain) this.tracers.set(name, tracer);
    return tracer;
  }

  /** The names with a provider so far (the process's own among them once a span used it). */
  services(): string[] {
    return [...this.providers.keys()].sort();
  }

  private providerOf(service: string | undefined): BasicTracerProvider {
    let name = service && service.length <= 100 ? service : this.options.serviceName;
    if (!this.providers.has(name) && this.providers.size >= MAX_SERVICES) {
      name = this.options.serviceName;
    }
    let provider = this.providers.get(name);
    if (!provider) {
      provider = new BasicTracerProvider({
        resource: resourceFromAttributes({
          [ATTR_SERVICE_NAME]: name,
          [ATTR_SERVICE_NAMESPACE]: 'leash',
          [ATTR_SERVICE_VERSION]: this.options.serviceVersion,
        }),
        sampler: this.options.sampler,
        spanProcessors: [...this.options.spanProcessors],
      });
      this.providers.set(name, provider);
    }
    return provider;
  }
}

/** Starts each span with the tracer of the service it names. */
class ServiceTracer implements Tracer {
  /** By service: a service's provider, and so its tracer, never changes. */
  private readonly tracers = new Map<string | undefined, Tracer>();

  constructor(private readonly makeTracer: (service: string | undefined) => Tracer) {}

  private tracerOf(service: string | undefined): Tracer {
    let tracer = this.tracers.get(service);
    if (!tracer) {
      tracer = this.makeTracer(service);
      // Names come from events (their source): the cache is bounded as the providers are.
      if (this.tracers.size < MAX_SERVICES) this.tracers.set(service, tracer);
    }
    return tracer;
  }

  startSpan(name: string, options?: SpanOptions, context?: Context): Span {
    return this.tracerOf(serviceOf(options)).startSpan(name, options, context);
  }

  startActiveSpan<F extends (span: Span) => unknown>(name: string, fn: F): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(
    name: string,
    options: SpanOptions,
    fn: F,
  ): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(
    name: string,
    options: SpanOptions,
    context: Context,
    fn: F,
  ): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(
    name: string,
    ...rest: [F] | [SpanOptions, F] | [SpanOptions, Context, F]
  ): ReturnType<F> {
    const tracer = this.tracerOf(rest.length > 1 ? serviceOf(rest[0] as SpanOptions) : undefined);
    return (tracer.startActiveSpan as (...args: unknown[]) => ReturnType<F>)(name, ...rest);
  }
}

function serviceOf(options: SpanOptions | undefined): string | undefined {
  const service = options?.attributes?.[LEASH.service];
  return typeof service === 'string' && service !== '' ? service : undefined;
}
