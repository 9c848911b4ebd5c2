// Types of what eslint.config.js exports besides the config itself (the lint rules' own test imports them).
import type { Linter } from 'eslint';

/** import-x's settings for TypeScript modules. */
export declare const importSettings: NonNullable<Linter.Config['settings']>;
/** The zones of `import-x/no-restricted-paths` that keep the layers of src/ apart. */
export declare const layerZones: readonly Readonly<Record<string, unknown>>[];

declare const config: Linter.Config[];
export default config;
