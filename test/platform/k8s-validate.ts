/**
 * Validation of rendered objects: the built-in kinds against the Kubernetes API schemas
 * (kubernetes-models: validators generated from the Kubernetes OpenAPI document), the
 * prometheus-operator ServiceMonitor and PodMonitor against schemas of the CRD fields
 * deploy/kubernetes uses (stricter than the CRDs: a field not listed here is refused until it is
 * added).
 */
import { Ajv } from 'ajv';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import type { K8sObject } from './kustomize.js';

type Model = new (data: never) => { validate(): void };
const MODELS: Record<string, Model> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Service': Service,
  'v1/ServiceAccount': ServiceAccount,
  'apps/v1/Deployment': Deployment,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
};

/** The ServiceMonitor fields (monitoring.coreos.com/v1 CRD) these manifests use; others are refused. */
const duration = { type: 'string', pattern: '^(0|(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$' };
const serviceMonitorSchema = {
  type: 'object',
  required: ['apiVersion', 'kind', 'metadata', 'spec'],
  additionalProperties: false,
  properties: {
    apiVersion: { const: 'monitoring.coreos.com/v1' },
    kind: { const: 'ServiceMonitor' },
    metadata: { type: 'object', required: ['name'] },
    spec: {
      type: 'object',
      required: ['selector', 'endpoints'],
      additionalProperties: false,
      properties: {
        selector: {
          type: 'object',
          additionalProperties: false,
          properties: {
            matchLabels: { type: 'object', additionalProperties: { type: 'string' }, minProperties: 1 },
          },
          required: ['matchLabels'],
        },
        endpoints: {
          type: 'array',
          minItems: 1,
          items: {
            type: 'object',
            required: ['port'],
            additionalProperties: false,
            properties: {
              port: { type: 'string', minLength: 1 },
              path: { type: 'string', pattern: '^/' },
              scheme: { enum: ['http', 'https'] },
              interval: duration,
              scrapeTimeout: duration,
              tlsConfig: {
                type: 'object',
                additionalProperties: false,
                properties: {
                  serverName: { type: 'string' },
                  insecureSkipVerify: { type: 'boolean' },
                  ca: {
                    type: 'object',
                    additionalProperties: false,
                    properties: {
                      secret: {
                        type: 'object',
                        required: ['name', 'key'],
                        additionalProperties: false,
                        properties: { name: { type: 'string' }, key: { type: 'string' } },
                      },
                    },
                  },
                },
              },
            },
          },
        },
      },
    },
  },
};
/** The PodMonitor fields (monitoring.coreos.com/v1 CRD) used: a plain-HTTP scrape of a named pod port. */
const podMonitorSchema = {
  type: 'object',
  required: ['apiVersion', 'kind', 'metadata', 'spec'],
  additionalProperties: false,
  properties: {
    apiVersion: { const: 'monitoring.coreos.com/v1' },
    kind: { const: 'PodMonitor' },
    metadata: { type: 'object', required: ['name'] },
    spec: {
      type: 'object',
      required: ['selector', 'podMetricsEndpoints'],
      additionalProperties: false,
      properties: {
        selector: serviceMonitorSchema.properties.spec.properties.selector,
        podMetricsEndpoints: {
          type: 'array',
          minItems: 1,
          items: {
            type: 'object',
            required: ['port'],
            additionalProperties: false,
            properties: {
              port: { type: 'string', minLength: 1 },
              path: { type: 'string', pattern: '^/' },
              scheme: { enum: ['http', 'https'] },
              interval: duration,
              scrapeTimeout: duration,
            },
          },
        },
      },
    },
  },
};
const ajv = new Ajv({ allErrors: true });
const CRD_VALIDATORS = {
  ServiceMonitor: ajv.compile(serviceMonitorSchema),
  PodMonitor: ajv.compile(podMonitorSchema),
};

export function validate(o: K8sObject): void {
  if (o.kind === 'ServiceMonitor' || o.kind === 'PodMonitor') {
    const check = CRD_VALIDATORS[o.kind];
    if (!check(o)) throw new Error(`${o.kind} ${o.metadata.name}: ${JSON.stringify(check.errors)}`);
    return;
  }
  const model = MODELS[`${o.apiVersion}/${o.kind}`];
  if (!model) throw new Error(`${o.apiVersion} ${o.kind} has no schema here: add it to MODELS`);
  new model(o as never).validate();
}
