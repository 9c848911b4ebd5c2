/**
 * Record generators of the communications API (seed 000), with the neutral fields of DESIGN §6: nested objects,
 * arrays, nulls and unicode. Each generator is a pure function of its context, so record i never depends on
 * another record, and returns the record's JSON text (the served bytes; values are parsed from it).
 */
import type { CommunicationsResource } from './resources.ts';
import { chance, intBetween, pick, type Random } from './random.ts';
import { fragment, quotedBytes, type JsonByteWriter } from './json-writer.ts';
import { epochMs, locations, personNames, phoneLabels, phoneNumber } from './vocabulary.ts';

/** What a generator gets: the record's own PRNG, its index and an id base derived from the seed. */
export interface GeneratorContext {
  readonly random: Random;
  readonly index: number;
  /** A seed-dependent number; `idBase + index` is a unique numeric id within the resource. */
  readonly idBase: number;
}

/** A record as built by a generator, before it becomes JSON text. */
export type GeneratedRecord = Record<string, unknown>;

/** The host used inside generated `uri` fields (fixed, so that bodies do not depend on the sandbox port). */
export const recordUriBase = 'https://api.example.com';

const weekdays = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday'] as const;
const forwardingTypes = ['Home', 'Mobile', 'Work', 'PhoneLine', 'Outage', 'Other'] as const;
const featureSets = [[], ['CallFlip'], ['CallForwarding'], ['CallFlip', 'CallForwarding']] as const;
// Actions of voice calls (fax records get "Incoming Fax").
const callActions = ['Phone Call', 'VoIP Call', 'Transfer', 'FindMe', 'RingOut', 'Call Park'] as const;
const callResults = [
  'Accepted',
  'Missed',
  'Voicemail',
  'Rejected',
  'Call connected',
  'Busy',
  'Hang Up',
] as const;
const groupNames = [
  'Sales Floor',
  'Support Tier',
  'Onboarding',
  'Billing',
  'Équipe Nuit',
  'Коллцентр',
  '営業',
] as const;
const queueNames = ['Sales', 'Support', 'Billing', 'VIP', 'Réception', 'Overflow', 'After hours ☎'] as const;
const promptNames = [
  'Welcome greeting',
  'After hours',
  'Holiday message',
  'Bienvenue — accueil',
  'ようこそ',
  'Hold music loop',
] as const;
const promptCategories = [
  'CompanyGreeting',
  'Message',
  'InterruptPrompt',
  'HoldMusic',
  'Announcement',
] as const;
const promptUsages = ['IVR', 'Greeting', 'HoldMusic', 'Announcement'] as const;
const promptTexts = [
  'Thank you for calling. Please hold.',
  'Merci de votre appel, ne quittez pas.',
  'Vielen Dank für Ihren Anruf.',
  'お電話ありがとうございます。',
  'Press 1 for sales, 2 for support.\nPress 0 for the operator.',
] as const;

function uriOf(resource: CommunicationsResource, id: string): string {
  return `${recordUriBase}/v1/${resource}/${id}`;
}

function businessHours(resource: CommunicationsResource, ctx: GeneratorContext): GeneratedRecord {
  const { random } = ctx;
  const id = String(ctx.idBase + ctx.index);
  const opens = intBetween(random, 7, 10);
  const closes = intBetween(random, 16, 20);
  const splitLunch = chance(random, 0.3);
  const day = (): readonly { from: string; to: string }[] =>
    splitLunch
      ? [
          { from: hhmm(opens, 0), to: '12:00' },
          { from: '13:00', to: hhmm(closes, 30) },
        ]
      : [{ from: hhmm(opens, 0), to: hhmm(closes, 30) }];
  const weeklyRanges: Record<string, unknown> = {};
  for (const weekday of weekdays) weeklyRanges[weekday] = day();
  weeklyRanges['saturday'] = chance(random, 0.4) ? [{ from: '10:00', to: '14:00' }] : [];
  weeklyRanges['sunday'] = [];
  return {
    id,
    uri: uriOf(resource, id),
    weeklyRanges,
    timezone: chance(random, 0.2)
      ? null
      : { id: String(intBetween(random, 1, 99)), name: pick(random, locations) },
  };
}

function hhmm(hours: number, minutes: number): string {
  return `${String(hours).padStart(2, '0')}:${String(minutes).padStart(2, '0')}`;
}

function forwardingNumber(ctx: GeneratorContext): GeneratedRecord {
  const { random } = ctx;
  const id = String(ctx.idBase + ctx.index);
  return {
    id,
    uri: uriOf('forwarding_numbers', id),
    phoneNumber: phoneNumber(random),
    label: chance(random, 0.1) ? null : pick(random, phoneLabels),
    type: pick(random, forwardingTypes),
    features: [...pick(random, featureSets)],
    flipNumber: chance(random, 0.3) ? null : String(intBetween(random, 1, 9)),
  };
}

function blockedAllowedNumber(ctx: GeneratorContext): GeneratedRecord {
  const { random } = ctx;
  const id = String(ctx.idBase + ctx.index);
  return {
    id,
    uri: uriOf('blocked_allowed_phonenumbers', id),
    phoneNumber: phoneNumber(random),
    label: chance(random, 0.25) ? null : pick(random, phoneLabels),
    status: chance(random, 0.7) ? 'Blocked' : 'Allowed',
  };
}

const quotedActions = quotedBytes(callActions);
const quotedResults = quotedBytes(callResults);
const quotedLocations = quotedBytes(locations);
const quotedNames = quotedBytes(personNames);
const resultVoicemail = quotedResults[callResults.indexOf('Voicemail')];
const dayMs = 24 * 3600 * 1000;
// `YYYY-MM-DDT` of each day of the generated year.
const dayPrefixes = Array.from({ length: 365 }, (_, day) =>
  fragment(new Date(epochMs + day * dayMs).toISOString().slice(0, 11)),
);
const callFragments = {
  id: fragment('{"id":"'),
  uri: (resource: CommunicationsResource) => fragment(`","uri":"${recordUriBase}/v1/${resource}/`),
  sessionId: fragment('","sessionId":"'),
  telephonySessionId: fragment('","telephonySessionId":"s-'),
  startTime: fragment('","startTime":"'),
  duration: fragment('.000Z","duration":'),
  type: fragment(',"type":'),
  direction: fragment(',"direction":'),
  action: fragment(',"action":'),
  result: fragment(',"result":'),
  fromName: fragment(',"from":{"name":'),
  fromPhone: fragment(',"phoneNumber":"+1'),
  toPhone: fragment('"},"to":{"phoneNumber":"+1'),
  toLocation: fragment('","location":'),
  message: fragment('},"message":'),
  messageId: fragment('{"id":"'),
  messageType: (type: string) => fragment(`","type":"${type}","uri":"${recordUriBase}/v1/messages/`),
  messageEnd: fragment('"}'),
  end: fragment('}'),
  null: fragment('null'),
  voice: fragment('"Voice"'),
  fax: fragment('"Fax"'),
  inbound: fragment('"Inbound"'),
  outbound: fragment('"Outbound"'),
  inProgress: fragment('"In Progress"'),
  incomingFax: fragment('"Incoming Fax"'),
} as const;
const uriFragments = {
  user_call_records: callFragments.uri('user_call_records'),
  user_active_calls: callFragments.uri('user_active_calls'),
} as const;
const voiceMailType = callFragments.messageType('VoiceMail');
const faxType = callFragments.messageType('Fax');

/** A North-American E.164 number after its `+1`: area code (201–989) and 7 digits. */
function writePhoneDigits(writer: JsonByteWriter, random: Random): void {
  writer.integer(intBetween(random, 201, 989));
  writer.digits(random, 7);
}

/** An ISO-8601 UTC time in the generated year, without its `.000Z` (written by the next fragment). */
function writeStartTime(writer: JsonByteWriter, random: Random): void {
  const seconds = Math.floor(random() * 365 * 24 * 3600);
  writer.bytes(dayPrefixes[Math.floor(seconds / 86_400)] as Buffer);
  const inDay = seconds % 86_400;
  writer.twoDigits(Math.floor(inDay / 3600));
  writer.byte(0x3a); // ':'
  writer.twoDigits(Math.floor((inDay % 3600) / 60));
  writer.byte(0x3a);
  writer.twoDigits(inDay % 60);
}

/**
 * A call record, written byte by byte: this is the benchmark resource (1 M records in one response), and building
 * strings only to encode them costs more than everything else. Every piece is either a pre-encoded fragment, a
 * pre-quoted string or characters that need no escaping (digits, hex, base 36).
 */
function writeCallRecord(
  writer: JsonByteWriter,
  resource: 'user_call_records' | 'user_active_calls',
  ctx: GeneratorContext,
): void {
  const { random } = ctx;
  const f = callFragments;
  const active = resource === 'user_active_calls';
  writer.bytes(f.id);
  const idStart = writer.position;
  writer.hexDigits(random, 6);
  writer.base36(ctx.idBase + ctx.index);
  const idEnd = writer.position;
  writer.bytes(uriFragments[resource]);
  writer.repeat(idStart, idEnd);
  writer.bytes(f.sessionId);
  writer.digits(random, 11);
  writer.bytes(f.telephonySessionId);
  writer.hexDigits(random, 24);
  writer.bytes(f.startTime);
  writeStartTime(writer, random);
  writer.bytes(f.duration);
  if (active) writer.bytes(f.null);
  else writer.integer(intBetween(random, 0, 3600));
  const fax = !chance(random, 0.95);
  writer.bytes(f.type);
  writer.bytes(fax ? f.fax : f.voice);
  writer.bytes(f.direction);
  writer.bytes(chance(random, 0.5) ? f.inbound : f.outbound);
  writer.bytes(f.action);
  writer.bytes(fax ? f.incomingFax : pick(random, quotedActions));
  const result = active ? f.inProgress : pick(random, quotedResults);
  writer.bytes(f.result);
  writer.bytes(result);
  writer.bytes(f.fromName);
  writer.bytes(chance(random, 0.2) ? f.null : pick(random, quotedNames));
  writer.bytes(f.fromPhone);
  writePhoneDigits(writer, random);
  writer.bytes(f.toPhone);
  writePhoneDigits(writer, random);
  writer.bytes(f.toLocation);
  writer.bytes(chance(random, 0.3) ? f.null : pick(random, quotedLocations));
  writer.bytes(f.message);
  if (!active && (fax || result === resultVoicemail)) {
    writer.bytes(f.messageId);
    writer.digits(random, 10);
    writer.bytes(fax ? faxType : voiceMailType);
    writer.digits(random, 10);
    writer.bytes(f.messageEnd);
  } else {
    writer.bytes(f.null);
  }
  writer.bytes(f.end);
}

function callMonitoringGroup(ctx: GeneratorContext): GeneratedRecord {
  const id = String(ctx.idBase + ctx.index);
  return {
    id,
    uri: uriOf('call_monitoring_groups', id),
    name: `${pick(ctx.random, groupNames)} ${ctx.index + 1}`,
  };
}

function callQueue(ctx: GeneratorContext): GeneratedRecord {
  const id = String(ctx.idBase + ctx.index);
  return {
    id,
    uri: uriOf('call_queues', id),
    name: `${pick(ctx.random, queueNames)} ${ctx.index + 1}`,
    extensionNumber: chance(ctx.random, 0.1) ? null : String(1000 + ctx.index),
  };
}

function ivrPrompt(ctx: GeneratorContext): GeneratedRecord {
  const { random } = ctx;
  const id = String(ctx.idBase + ctx.index);
  const textToSpeech = chance(random, 0.3);
  const extension = chance(random, 0.5) ? 'mp3' : 'wav';
  return {
    id,
    uri: uriOf('ivr_prompts', id),
    name: pick(random, promptNames),
    type: textToSpeech ? 'TextToSpeech' : 'Audio',
    category: pick(random, promptCategories),
    contentType: textToSpeech ? null : extension === 'mp3' ? 'audio/mpeg' : 'audio/wav',
    contentUri: textToSpeech ? null : `${uriOf('ivr_prompts', id)}/content`,
    filename: textToSpeech ? null : `prompt-${id}.${extension}`,
    text: textToSpeech ? pick(random, promptTexts) : null,
    usageType: pick(random, promptUsages),
  };
}

/** Writes the JSON of record `ctx.index` of a communications resource. */
export function writeCommunicationsRecord(
  writer: JsonByteWriter,
  resource: CommunicationsResource,
  ctx: GeneratorContext,
): void {
  switch (resource) {
    case 'user_business_hours':
    case 'company_business_hours':
      return writer.text(JSON.stringify(businessHours(resource, ctx)));
    case 'forwarding_numbers':
      return writer.text(JSON.stringify(forwardingNumber(ctx)));
    case 'blocked_allowed_phonenumbers':
      return writer.text(JSON.stringify(blockedAllowedNumber(ctx)));
    case 'user_call_records':
    case 'user_active_calls':
      return writeCallRecord(writer, resource, ctx);
    case 'call_monitoring_groups':
      return writer.text(JSON.stringify(callMonitoringGroup(ctx)));
    case 'call_queues':
      return writer.text(JSON.stringify(callQueue(ctx)));
    case 'ivr_prompts':
      return writer.text(JSON.stringify(ivrPrompt(ctx)));
  }
}
