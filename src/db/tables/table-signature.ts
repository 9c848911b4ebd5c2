/**
 * A table's catalog description (`tableSignature`): everything a reader, writer or operator could tell apart between
 * two tables of the same name — columns, types, defaults, constraints, indexes, owner, privileges, comments, options,
 * and what refers to the table. A first load's swap (`merge/table-swap.ts`) compares it before and after, and
 * staging reads it to build a table that can become the target (`staging/swappable-rows.ts`).
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';

/** One column of a table, as the catalog describes it. */
export interface SignatureColumn {
  readonly name: string;
  readonly type: string;
  readonly notNull: boolean;
  /** `COLLATE …` when it differs from the type's own collation, else null. */
  readonly collate: string | null;
  readonly default: string | null;
  readonly identity: string;
  readonly generated: string;
  readonly storage: string;
  readonly typeStorage: string;
  readonly compression: string;
  readonly acl: unknown;
  readonly options: unknown;
  readonly statistics: number | null;
  readonly comment: string | null;
}

/** Everything about a table that a reader, writer or operator could tell apart after a swap (see the module comment). */
export interface TableSignature {
  readonly kind: string;
  readonly persistence: string;
  /** Null for the database's default tablespace. */
  readonly tablespace: string | null;
  readonly owner: string;
  readonly ownerIsMe: boolean;
  readonly options: readonly string[];
  readonly rowSecurity: boolean;
  readonly replicaIdentity: string;
  readonly partition: boolean;
  readonly typed: boolean;
  readonly comment: string | null;
  /** [grantor, grantee (or PUBLIC), privilege, grantable], sorted; the owner's default when none were granted. */
  readonly acl: readonly (readonly [string, string, string, boolean])[];
  readonly columns: readonly SignatureColumn[];
  /** [name, type, definition, index name or null], sorted by name; NOT NULL constraints are the columns'. */
  readonly constraints: readonly (readonly [string, string, string, string | null])[];
  /** [name, definition, comment], sorted by name. */
  readonly indexes: readonly (readonly [string, string, string | null])[];
  readonly triggers: number;
  readonly policies: number;
  readonly rules: number;
  readonly inheritance: number;
  readonly publications: number;
  readonly statistics: number;
  /** Objects that depend on the table or its row type (views, foreign keys, functions): they would break. */
  readonly dependents: number;
}

/** The catalog description of `schema.table`, or undefined when there is no such table. */
export async function tableSignature(
  db: Kysely<Database>,
  schema: string,
  table: string,
): Promise<TableSignature | undefined> {
  const { rows } = await sql<{ signature: TableSignature }>`
    SELECT jsonb_build_object(
      'kind', c.relkind, 'persistence', c.relpersistence,
      'tablespace', (SELECT spcname FROM pg_tablespace WHERE oid = c.reltablespace),
      'owner', pg_get_userbyid(c.relowner), 'ownerIsMe', pg_get_userbyid(c.relowner) = current_user,
      'options', coalesce(c.reloptions, '{}'), 'rowSecurity', c.relrowsecurity OR c.relforcerowsecurity,
      'replicaIdentity', c.relreplident, 'partition', c.relispartition, 'typed', c.reloftype <> 0,
      'comment', obj_description(c.oid, 'pg_class'),
      'acl', (SELECT coalesce(jsonb_agg(jsonb_build_array(g.grantor, g.grantee, g.privilege, g.grantable)
                                        ORDER BY g.grantor, g.grantee, g.privilege), '[]')
              FROM (SELECT pg_get_userbyid(a.grantor) AS grantor,
                           CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END AS grantee,
                           a.privilege_type AS privilege, a.is_grantable AS grantable
                    FROM aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) AS a) AS g),
      'columns', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                    'name', a.attname, 'type', format_type(a.atttypid, a.atttypmod), 'notNull', a.attnotnull,
                    'collate', CASE WHEN a.attcollation <> t.typcollation
                                    THEN quote_ident(cn.nspname) || '.' || quote_ident(co.collname) END,
                    'default', pg_get_expr(d.adbin, d.adrelid), 'identity', a.attidentity,
                    'generated', a.attgenerated, 'storage', a.attstorage, 'typeStorage', t.typstorage,
                    'compression', a.attcompression, 'acl', a.attacl, 'options', a.attoptions,
                    'statistics', a.attstattarget, 'comment', col_description(c.oid, a.attnum)) ORDER BY a.attnum), '[]')
                  FROM pg_attribute AS a
                  JOIN pg_type AS t ON t.oid = a.atttypid
                  LEFT JOIN pg_collation AS co ON co.oid = a.attcollation
                  LEFT JOIN pg_namespace AS cn ON cn.oid = co.collnamespace
                  LEFT JOIN pg_attrdef AS d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                  WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
      'constraints', (SELECT coalesce(jsonb_agg(jsonb_build_array(k.conname, k.contype, pg_get_constraintdef(k.oid),
                                                                  ki.relname) ORDER BY k.conname), '[]')
                      FROM pg_constraint AS k LEFT JOIN pg_class AS ki ON ki.oid = k.conindid
                      WHERE k.conrelid = c.oid AND k.contype <> 'n'),
      'indexes', (SELECT coalesce(jsonb_agg(jsonb_build_array(ic.relname, pg_get_indexdef(i.indexrelid),
                                                              obj_description(i.indexrelid, 'pg_class'))
                                            ORDER BY ic.relname), '[]')
                  FROM pg_index AS i JOIN pg_class AS ic ON ic.oid = i.indexrelid WHERE i.indrelid = c.oid),
      'triggers', (SELECT count(*) FROM pg_trigger AS g WHERE g.tgrelid = c.oid AND NOT g.tgisinternal),
      'policies', (SELECT count(*) FROM pg_policy AS p WHERE p.polrelid = c.oid),
      'rules', (SELECT count(*) FROM pg_rewrite AS r WHERE r.ev_class = c.oid),
      'inheritance', (SELECT count(*) FROM pg_inherits AS h WHERE h.inhrelid = c.oid OR h.inhparent = c.oid),
      'publications', (SELECT count(*) FROM pg_publication_rel AS p WHERE p.prrelid = c.oid),
      'statistics', (SELECT count(*) FROM pg_statistic_ext AS s WHERE s.stxrelid = c.oid),
      'dependents', (SELECT count(*) FROM pg_depend AS d
                     WHERE d.deptype = 'n'
                       AND ((d.refclassid = 'pg_class'::regclass AND d.refobjid = c.oid)
                         OR (d.refclassid = 'pg_type'::regclass AND d.refobjid = c.reltype)
                         OR (d.refclassid = 'pg_class'::regclass
                             AND d.refobjid IN (SELECT indexrelid FROM pg_index WHERE indrelid = c.oid))))
    ) AS signature
    FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
    WHERE n.nspname = ${schema} AND c.relname = ${table}`.execute(db);
  return rows[0]?.signature;
}
