/**
 * The generic dataset (`items`) behind the auth and paginator routes the engine's own tests use: integer ids from 1,
 * decimals as strings, booleans, arrays, a nullable nested owner and unicode notes.
 */
import type { GeneratedRecord, GeneratorContext } from './generators-communications.ts';
import type { JsonByteWriter } from './json-writer.ts';
import { chance, intBetween, pick } from './random.ts';
import { emailFor, isoTimestamp, personName } from './vocabulary.ts';

const nouns = ['Widget', 'Gadget', 'Sprocket', 'Gizmo', 'Doohickey', 'Trinket', 'Thingamajig'] as const;
const adjectives = ['Blue', 'Large', 'Tiny', 'Ergonomic', 'Rustic', 'Überlegen', 'Pâle', '特別'] as const;
const tags = ['new', 'sale', 'eco', 'limited', 'bulk', 'café', '🔥'] as const;
const notes = [
  'Handle with care',
  'Fragile — do not stack',
  'Größe: M',
  '¡Oferta!',
  'line one\nline two',
] as const;

/** Writes the JSON of item `ctx.index` (its `id` is `index + 1`). */
export function writeItem(writer: JsonByteWriter, ctx: GeneratorContext): void {
  writer.text(JSON.stringify(item(ctx)));
}

function item(ctx: GeneratorContext): GeneratedRecord {
  const { random } = ctx;
  const tagCount = intBetween(random, 0, 3);
  const itemTags: string[] = [];
  for (let i = 0; i < tagCount; i += 1) itemTags.push(pick(random, tags));
  const ownerName = personName(random);
  const createdAt = isoTimestamp(random);
  return {
    id: ctx.index + 1,
    name: `${pick(random, adjectives)} ${pick(random, nouns)}`,
    sku: `SKU-${(ctx.idBase + ctx.index).toString(36).toUpperCase()}`,
    price: (intBetween(random, 50, 99_999) / 100).toFixed(2),
    quantity: intBetween(random, 0, 500),
    active: chance(random, 0.8),
    tags: itemTags,
    owner: chance(random, 0.2)
      ? null
      : { id: intBetween(random, 1, 50), name: ownerName, email: emailFor(ownerName, random) },
    notes: chance(random, 0.5) ? null : pick(random, notes),
    createdAt,
    updatedAt: chance(random, 0.3) ? null : createdAt,
  };
}
