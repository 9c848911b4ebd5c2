/**
 * The shapes a secret can take once it has left where it belongs: as is (which is also its JSON- and URL-encoded form
 * for the suite's keys: letters, digits and dashes), as hex (Postgres prints bytea so), and inside base64 at any of
 * the three byte alignments (a payload, a stored reply) — the part of the encoding that depends on the secret's bytes
 * only, in both the standard and the URL-safe alphabet. `findSecrets` names what was found, never the value.
 */

/** A secret to look for, by a name that may be printed. */
export interface Secret {
  readonly name: string;
  readonly value: string;
}

/** One encoded form of a secret. */
export interface SecretForm {
  readonly secret: string;
  readonly form: string;
  readonly text: string;
}

/** Every form of each secret. */
export function secretForms(secrets: readonly Secret[]): readonly SecretForm[] {
  return secrets.flatMap(({ name, value }) => {
    const bytes = Buffer.from(value, 'utf8');
    const forms: SecretForm[] = [
      { secret: name, form: 'plain', text: value },
      { secret: name, form: 'hex', text: bytes.toString('hex') },
    ];
    for (const offset of [0, 1, 2]) {
      const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString('base64');
      // Characters 6 bits wide: keep those made of the secret's bits alone.
      const text = encoded.slice(Math.ceil((8 * offset) / 6), Math.floor((8 * (offset + bytes.length)) / 6));
      forms.push({ secret: name, form: `base64@${offset}`, text });
      const urlSafe = text.replaceAll('+', '-').replaceAll('/', '_');
      if (urlSafe !== text) forms.push({ secret: name, form: `base64url@${offset}`, text: urlSafe });
    }
    return forms;
  });
}

/** The forms found in `text`, as `"<secret> (<form>)"`. */
export function findSecrets(text: string, forms: readonly SecretForm[]): string[] {
  return forms.filter((form) => text.includes(form.text)).map((form) => `${form.secret} (${form.form})`);
}

/** `text` with every form replaced by `***`: for anything the suite prints. */
export function redactSecrets(text: string, forms: readonly SecretForm[]): string {
  let out = text;
  for (const form of forms) out = out.split(form.text).join('***');
  return out;
}
