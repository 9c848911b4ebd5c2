/**
 * Record generators of the messaging API's dataset resources (seed 002: contacts, phones, registrations), each
 * record with a unique `requestId` UUID.
 */
import type { GeneratedRecord, GeneratorContext } from './generators-communications.ts';
import type { JsonByteWriter } from './json-writer.ts';
import type { MessagingResource } from './resources.ts';
import { chance, digits, indexedUuid, intBetween, pick } from './random.ts';
import {
  companyNames,
  countries,
  emailFor,
  isoTimestamp,
  locations,
  personName,
  phoneLabels,
  phoneNumber,
  streets,
} from './vocabulary.ts';

/** UUID namespaces (the nibble in the last group) keep ids of different kinds disjoint. */
export const uuidNamespaces = {
  contacts: 1,
  phones: 2,
  registrations: 3,
  sms: 4,
  preloaded: 5,
} as const;

const titles = ['Manager', 'Director', 'Engineer', 'Directrice générale', 'Geschäftsführer', null] as const;
const phoneStatuses = ['ACTIVE', 'ACTIVE', 'ACTIVE', 'PENDING', 'SUSPENDED', 'RELEASED'] as const;
const registrationStatuses = ['SUBMITTED', 'IN_REVIEW', 'APPROVED', 'APPROVED', 'REJECTED'] as const;

function contact(ctx: GeneratorContext): GeneratedRecord {
  const { random } = ctx;
  const name = personName(random);
  return {
    requestId: indexedUuid(random, uuidNamespaces.contacts, ctx.index),
    contactId: String(ctx.idBase + ctx.index),
    contactName: name,
    contactTitle: pick(random, titles),
    contactEmail: chance(random, 0.1) ? null : emailFor(name, random),
    contactPhone: phoneNumber(random),
    companyName: pick(random, companyNames),
    companyAddress: chance(random, 0.15)
      ? null
      : {
          street: pick(random, streets),
          city: pick(random, locations),
          postalCode: digits(random, 5),
          country: pick(random, countries),
        },
    friendlyName: chance(random, 0.2) ? null : pick(random, phoneLabels),
  };
}

function numberRecord(resource: 'phones' | 'registrations', ctx: GeneratorContext): GeneratedRecord {
  const { random } = ctx;
  return {
    requestId: indexedUuid(random, uuidNamespaces[resource], ctx.index),
    accountId: String(700_000 + (ctx.idBase % 1000)),
    contactId: String(ctx.idBase + intBetween(random, 0, 999)),
    friendlyName: chance(random, 0.2) ? null : pick(random, phoneLabels),
    phoneNumber: phoneNumber(random),
    status: pick(random, resource === 'phones' ? phoneStatuses : registrationStatuses),
    createdAt: isoTimestamp(random),
  };
}

/** Writes the JSON of record `ctx.index` of a messaging dataset resource. */
export function writeMessagingRecord(
  writer: JsonByteWriter,
  resource: MessagingResource,
  ctx: GeneratorContext,
): void {
  switch (resource) {
    case 'contacts':
      return writer.text(JSON.stringify(contact(ctx)));
    case 'phones':
    case 'registrations':
      return writer.text(JSON.stringify(numberRecord(resource, ctx)));
  }
}
