/**
 * The fields each shipped resource is known to return (DESIGN.md §6), for typed columns and for telling schema
 * drift from known fields. Every field is nullable and records may carry more; the whole record is always kept.
 */
import type { SourceName } from './index.ts';

const callRecordFields = [
  'id',
  'uri',
  'sessionId',
  'telephonySessionId',
  'startTime',
  'duration',
  'type',
  'direction',
  'action',
  'result',
  'from',
  'to',
  'message',
] as const;

const businessHoursFields = ['id', 'weeklyRanges'] as const;
const phoneFields = ['requestId', 'accountId', 'contactId', 'friendlyName', 'phoneNumber', 'status'] as const;

/** Known top-level fields per resource, per shipped source. */
export const knownFields: Readonly<Record<SourceName, Readonly<Record<string, readonly string[]>>>> = {
  communications: {
    user_business_hours: businessHoursFields,
    company_business_hours: businessHoursFields,
    forwarding_numbers: ['id', 'uri', 'phoneNumber', 'label', 'type', 'features', 'flipNumber'],
    blocked_allowed_phonenumbers: ['id', 'uri', 'phoneNumber', 'label', 'status'],
    user_call_records: callRecordFields,
    user_active_calls: callRecordFields,
    call_monitoring_groups: ['id', 'uri', 'name'],
    call_queues: ['id', 'uri', 'name', 'extensionNumber'],
    ivr_prompts: [
      'id',
      'uri',
      'name',
      'type',
      'category',
      'contentType',
      'contentUri',
      'filename',
      'text',
      'usageType',
    ],
  },
  messaging: {
    sms: ['requestId', 'status', 'to', 'from', 'submitDate', 'href'],
    messages: [
      'requestId',
      'status',
      'submitDate',
      'sentDate',
      'doneDate',
      'errorCode',
      'errorReason',
      'from',
      'to',
      'href',
      'mccmnc',
      'ttid',
      'overallPrice',
      'priceEffective',
      'reference',
      'size',
      'parts',
    ],
    contacts: [
      'requestId',
      'contactId',
      'contactName',
      'contactTitle',
      'contactEmail',
      'contactPhone',
      'companyName',
      'companyAddress',
      'friendlyName',
    ],
    phones: phoneFields,
    registrations: phoneFields,
  },
};
