/**
 * The resources the sandbox serves, which API each belongs to, its primary key, path and default record count.
 * One table so that routes, the dataset, the CLI and the docs agree on names.
 */

export const communicationsResources = [
  'user_business_hours',
  'company_business_hours',
  'forwarding_numbers',
  'blocked_allowed_phonenumbers',
  'user_call_records',
  'user_active_calls',
  'call_monitoring_groups',
  'call_queues',
  'ivr_prompts',
] as const;

export const messagingResources = ['contacts', 'phones', 'registrations'] as const;

export const genericResources = ['items'] as const;

export type CommunicationsResource = (typeof communicationsResources)[number];
export type MessagingResource = (typeof messagingResources)[number];
export type GenericResource = (typeof genericResources)[number];

/** Every resource with a generated dataset (the messaging `sms`/`messages` are live state, not a dataset). */
export type SandboxResource = CommunicationsResource | MessagingResource | GenericResource;

export const sandboxResources: readonly SandboxResource[] = [
  ...communicationsResources,
  ...messagingResources,
  ...genericResources,
];

/** The resources whose endpoint returns ONE object under `data` instead of a list. */
export const singleObjectResources = ['user_business_hours', 'company_business_hours'] as const;

export type SingleObjectResource = (typeof singleObjectResources)[number];

/** Default record counts: small, so a first run is quick; any count from 0 to millions can be configured. */
export const defaultCounts: Readonly<Record<SandboxResource, number>> = {
  user_business_hours: 1,
  company_business_hours: 1,
  forwarding_numbers: 12,
  blocked_allowed_phonenumbers: 30,
  user_call_records: 200,
  user_active_calls: 5,
  call_monitoring_groups: 8,
  call_queues: 10,
  ivr_prompts: 15,
  contacts: 50,
  phones: 40,
  registrations: 20,
  items: 95,
};

/** The field that identifies a record (what the seeds use as `primary_key`). */
export function primaryKeyOf(resource: SandboxResource): 'id' | 'requestId' {
  return isMessagingResource(resource) ? 'requestId' : 'id';
}

/** The URL path of a messaging dataset resource. */
export const messagingPaths: Readonly<Record<MessagingResource, string>> = {
  contacts: '/byon/contacts/v1',
  phones: '/byon/phonebook/v1/numbers',
  registrations: '/byon/provisioning/v1',
};

/** True for a name of a dataset resource. */
export function isSandboxResource(name: string): name is SandboxResource {
  return (sandboxResources as readonly string[]).includes(name);
}

/** True for a communications resource name. */
export function isCommunicationsResource(name: string): name is CommunicationsResource {
  return (communicationsResources as readonly string[]).includes(name);
}

/** True for a messaging dataset resource name. */
export function isMessagingResource(name: string): name is MessagingResource {
  return (messagingResources as readonly string[]).includes(name);
}

/** True for the two business-hours resources (one object under `data`). */
export function isSingleObjectResource(name: string): name is SingleObjectResource {
  return (singleObjectResources as readonly string[]).includes(name);
}
