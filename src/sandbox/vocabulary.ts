/**
 * Neutral word lists for generated records: names, labels and places with accents, non-Latin scripts and emoji,
 * so that every dataset exercises UTF-8 end to end. Plus the value helpers the generators share.
 */
import { digits, intBetween, pick, twoDigits, type Random } from './random.ts';

export const firstNames = [
  'Alice',
  'Bob',
  'Carol',
  'Dmitri',
  'Eve',
  'Frank',
  'Grace',
  'Heidi',
  'Ivan',
  'Judy',
  'José',
  'Zoë',
  'Łukasz',
  'Renée',
  'Søren',
  'Chloé',
  'Wei',
  'Yuki',
  'Amara',
  'Nikolai',
] as const;

export const lastNames = [
  'Smith',
  'Jones',
  'Nguyen',
  'García',
  'Okafor',
  'Kowalski',
  'Tanaka',
  'Larsen',
  'Müller',
  'Ångström',
  'Żółw',
  'Ñúñez',
  "O'Brien",
  'van der Berg',
  'Иванова',
  '李',
  'حداد',
] as const;

export const companyNames = [
  'Acme Corp',
  'Globex',
  'Initech',
  'Umbrella Logistics',
  'Société Générale des Tests',
  'Müller & Söhne GmbH',
  'Nakamura 株式会社',
  'Nordlys AS',
  'Café Olé Ltd.',
  'Blue Harbor "Fisheries"',
] as const;

export const phoneLabels = [
  'Main line',
  'Front desk',
  'Mobile 📱',
  'Home',
  'Backup',
  'Night shift 🌙',
  'Après-midi',
  '総合受付',
  'Warehouse\tannex',
  'Line "B"',
] as const;

export const locations = [
  'Palo Alto, CA',
  'Austin, TX',
  'New York, NY',
  'Denver, CO',
  'Seattle, WA',
  'Montréal, QC',
  'München, BY',
  'São Paulo, SP',
  'Kraków',
  '東京',
] as const;

export const streets = [
  '1 Main St',
  '42 Rue de la Paix',
  'Königsallee 7',
  '221B Baker Street',
  'Calle Mayor 3',
] as const;

export const countries = ['US', 'CA', 'DE', 'FR', 'GB', 'JP', 'BR', 'PL', 'NO'] as const;

/** The start of the generated time range (all timestamps fall in the year after it). */
export const epochMs = Date.UTC(2024, 0, 1);

const yearMs = 365 * 24 * 3600 * 1000;

/** Every first name × last name. */
export const personNames: readonly string[] = firstNames.flatMap((first) =>
  lastNames.map((last) => `${first} ${last}`),
);

/** A full name from the lists (sometimes with non-Latin letters). */
export function personName(random: Random): string {
  return pick(random, personNames);
}

/** An e-mail address: ASCII local part derived from a name. */
export function emailFor(name: string, random: Random): string {
  const local = name
    .normalize('NFKD')
    .replace(/[^A-Za-z ]/g, '')
    .trim()
    .toLowerCase()
    .replace(/ +/g, '.');
  return `${local === '' ? 'user' : local}${intBetween(random, 1, 99)}@example.com`;
}

/** A North-American E.164 phone number (never needs JSON escaping). */
export function phoneNumber(random: Random): string {
  return `+1${intBetween(random, 201, 989)}${digits(random, 7)}`;
}

/** A time in the generated year, in whole seconds. */
export function timestampMs(random: Random): number {
  return epochMs + Math.floor(random() * (yearMs / 1000)) * 1000;
}

const dayMs = 24 * 3600 * 1000;
// The date part of each day of the generated year: `new Date().toISOString()` per record is too slow for millions.
const dayPrefixes = Array.from({ length: 365 }, (_, day) =>
  new Date(epochMs + day * dayMs).toISOString().slice(0, 11),
);

/** An ISO-8601 UTC timestamp in the generated year, e.g. `2024-01-13T11:34:00.000Z`. */
export function isoTimestamp(random: Random): string {
  const offset = timestampMs(random) - epochMs;
  const day = Math.floor(offset / dayMs);
  const seconds = Math.floor((offset % dayMs) / 1000);
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  return `${dayPrefixes[day] as string}${twoDigits(hours)}:${twoDigits(minutes)}:${twoDigits(seconds % 60)}.000Z`;
}
