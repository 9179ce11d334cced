import { createHash } from 'node:crypto'
import { type Kysely, PostgresAdapter, sql } from 'kysely'

// The stored effective visibility of resources (src/access/effective.ts), filled for the rows already there.
// The class arithmetic is repeated here rather than imported: a migration must keep doing what it did when
// it was written, whatever the application later becomes.

type Clauses = string[][]

const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

function childClauses(parent: Clauses, teams: string[]): Clauses {
  const sets = [...parent, teams].map((clause) => [...new Set(clause)].sort(byText))
  if (sets.some((set) => set.length === 0)) return [[]]
  sets.sort((a, b) => a.length - b.length || byText(a.join(','), b.join(',')))
  const kept: Clauses = []
  for (const set of sets) {
    if (!kept.some((smaller) => smaller.every((team) => set.includes(team)))) kept.push(set)
  }
  return kept.sort((a, b) => byText(a.join(','), b.join(',')))
}

const classIdOf = (clauses: Clauses) =>
  createHash('sha256').update(JSON.stringify(clauses)).digest('base64url').slice(0, 22)

/** Rows of one depth read at a time. */
const CHUNK = 2000

export async function up(db: Kysely<any>): Promise<void> {
  const pg = db.getExecutor().adapter instanceof PostgresAdapter
  const flag = pg ? sql`boolean` : sql`integer`
  const falsy = pg ? sql`false` : sql`0`

  // Unset means nobody but an admin sees the row: a write that forgot to set them would hide, never show.
  await db.schema
    .alterTable('resources')
    .addColumn('visibility_class', 'text', (c) => c.notNull().defaultTo(''))
    .execute()
  await db.schema
    .alterTable('resources')
    .addColumn('effective_published', flag, (c) => c.notNull().defaultTo(falsy))
    .execute()
  // No foreign key to teams: a deleted team's classes are recomputed and dropped by the deletion, and a cascade
  // that removed one team from a clause would widen what the clause admits.
  await db.schema
    .createTable('visibility_classes')
    .addColumn('class_id', 'text', (c) => c.notNull())
    .addColumn('clause', 'integer', (c) => c.notNull())
    .addColumn('team_id', 'text', (c) => c.notNull())
    .addColumn('clauses', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('visibility_classes_pk', ['class_id', 'clause', 'team_id'])
    .execute()
  await db.schema
    .createIndex('visibility_classes_team')
    .on('visibility_classes')
    .columns(['team_id', 'class_id', 'clause', 'clauses'])
    .execute()

  await fill(db, pg)
  // Counting the children a caller may see reads their visibility: from the index alone when it holds it. Built
  // after the fill (which walks the tree through the old one) rather than kept up through it.
  await db.schema.dropIndex('resources_parent').ifExists().execute()
  await db.schema
    .createIndex('resources_parent')
    .on('resources')
    .columns(['parent_id', 'entity_type', 'visibility_class', 'effective_published'])
    .execute()
  if (pg) {
    // Every row was rewritten and the new columns have no statistics yet.
    await sql`analyze resources`.execute(db)
  }
}

/**
 * Fills the new columns top down, one depth at a time, in chunks, so memory stays bounded on any catalog. The
 * work happens in narrow tables; `resources` is then written once, in one statement, in its own order: updating
 * it row by row in id order would touch its pages at random.
 */
async function fill(db: Kysely<any>, pg: boolean): Promise<void> {
  const flag = pg ? sql`boolean` : sql`integer`
  await db.schema
    .createTable('visibility_fill')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('parent_id', 'text')
    .addColumn('depth', 'integer', (c) => c.notNull())
    .addColumn('published', flag, (c) => c.notNull())
    .execute()
  // Results are inserted into a table of their own: appending costs less than updating rows in place.
  await db.schema
    .createTable('visibility_done')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('class_id', 'text', (c) => c.notNull())
    .addColumn('effective', flag, (c) => c.notNull())
    .execute()
  await sql`
    with recursive placed(id, parent_id, depth, published) as (
      select id, parent_id, 0, published from resources where parent_id is null
      union all
      select child.id, child.parent_id, placed.depth + 1, child.published
      from resources child join placed on child.parent_id = placed.id
    )
    insert into visibility_fill (id, parent_id, depth, published) select id, parent_id, depth, published from placed
  `.execute(db)
  await db.schema.createIndex('visibility_fill_depth').on('visibility_fill').columns(['depth', 'id']).execute()
  if (pg) await sql`analyze visibility_fill`.execute(db)

  // A list of ids as one bound value: a JSON array on SQLite, a text array on PostgreSQL.
  const ids = (list: string[]) =>
    pg ? sql`select unnest(${list}::text[])` : sql`select value from json_each(${JSON.stringify(list)})`
  const clausesById = new Map<string, Clauses>()
  const stored = new Set<string>()
  const memo = new Map<string, string>()
  const { rows: deepest } = await sql<{ d: number | null }>`select max(depth) as d from visibility_fill`.execute(db)
  const maxDepth = Number(deepest[0]?.d ?? -1)
  for (let depth = 0; depth <= maxDepth; depth++) {
    let after = ''
    for (;;) {
      const teamList = pg
        ? sql<string>`(select string_agg(target_id, ',') from resource_teams where resource_id = f.id)`
        : sql<string>`(select group_concat(target_id, ',') from resource_teams where resource_id = f.id)`
      const rows: { id: string; parent_id: string | null; published: unknown; teams: string | null }[] = await db
        .selectFrom('visibility_fill as f')
        .select(['f.id', 'f.parent_id', 'f.published'])
        .select(teamList.as('teams'))
        .where('f.depth', '=', depth)
        .where('f.id', '>', after)
        .orderBy('f.id')
        .limit(CHUNK)
        .execute()
      if (rows.length === 0) break
      after = rows[rows.length - 1]?.id as string
      // Parents by key, not by a join: `visibility_done` grows during the fill, without statistics.
      const parentIds = [...new Set(rows.map((row) => row.parent_id).filter((id) => id !== null))] as string[]
      const parents = new Map<string, { class_id: string; effective: unknown }>()
      if (parentIds.length > 0) {
        const { rows: found } = await sql<{ id: string; class_id: string; effective: unknown }>`
          select id, class_id, effective from visibility_done where id in (${ids(parentIds)})
        `.execute(db)
        for (const parent of found) parents.set(parent.id, parent)
      }

      const values: [string, string, boolean][] = []
      const classRows: { class_id: string; clause: number; team_id: string; clauses: number }[] = []
      for (const row of rows) {
        const own = row.teams === null ? [] : row.teams.split(',').sort(byText)
        const parent = row.parent_id === null ? undefined : parents.get(row.parent_id)
        const parentClass = depth === 0 ? '^' : (parent?.class_id ?? '')
        const key = `${parentClass}|${own.join(',')}`
        let classId = memo.get(key)
        if (classId === undefined) {
          const clauses = childClauses(depth === 0 ? [] : (clausesById.get(parentClass) ?? [[]]), own)
          classId = classIdOf(clauses)
          clausesById.set(classId, clauses)
          memo.set(key, classId)
          if (!stored.has(classId)) {
            stored.add(classId)
            clauses.forEach((clause, index) => {
              for (const team of clause) {
                classRows.push({ class_id: classId as string, clause: index, team_id: team, clauses: clauses.length })
              }
            })
          }
        }
        const effective = Boolean(row.published) && (depth === 0 || Boolean(parent?.effective))
        values.push([row.id, classId, effective])
      }
      for (let start = 0; start < classRows.length; start += 500) {
        await db
          .insertInto('visibility_classes')
          .values(classRows.slice(start, start + 500))
          .execute()
      }
      if (pg) {
        await sql`
          insert into visibility_done (id, class_id, effective)
          select * from unnest(${values.map((v) => v[0])}::text[], ${values.map((v) => v[1])}::text[],
                               ${values.map((v) => v[2])}::boolean[])
        `.execute(db)
      } else {
        const json = JSON.stringify(values.map(([id, classId, effective]) => [id, classId, effective ? 1 : 0]))
        await sql`
          insert into visibility_done (id, class_id, effective)
          select value ->> 0, value ->> 1, value ->> 2 from json_each(${json})
        `.execute(db)
      }
    }
  }
  // PostgreSQL writes a new version of every row, with an entry in each index: building the indexes again
  // afterwards, by sorting, costs a fraction of that. SQLite updates only the indexes holding the new columns.
  const { rows: indexes } = pg
    ? await sql<{ name: string; definition: string }>`
        select indexname as name, indexdef as definition from pg_indexes
        where schemaname = current_schema() and tablename = 'resources'
          and indexname not in (select conname from pg_constraint)
      `.execute(db)
    : { rows: [] }
  for (const index of indexes) await db.schema.dropIndex(index.name).execute()
  await sql`
    update resources set visibility_class = f.class_id, effective_published = f.effective
    from visibility_done f where f.id = resources.id
  `.execute(db)
  // Sorting a million index entries fits in memory with this, for this transaction only.
  if (pg) await sql`set local maintenance_work_mem = '256MB'`.execute(db)
  for (const index of indexes) {
    if (index.name !== 'resources_parent') await sql.raw(index.definition).execute(db)
  }
  await db.schema.dropTable('visibility_done').execute()
  await db.schema.dropTable('visibility_fill').execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('resources_parent').execute()
  await db.schema.createIndex('resources_parent').on('resources').columns(['parent_id', 'entity_type']).execute()
  await db.schema.dropTable('visibility_classes').execute()
  await db.schema.alterTable('resources').dropColumn('effective_published').execute()
  await db.schema.alterTable('resources').dropColumn('visibility_class').execute()
}
