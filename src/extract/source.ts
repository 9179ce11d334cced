/** What a source database holds, as read in one pass by a source reader. */
export interface SourceColumn {
  name: string
  /** 1-based position in its table. */
  position: number
  /** The engine's own spelling of the type, e.g. `character varying(40)`, `int(11)`, `TEXT`. */
  dataType: string
  nullable: boolean
  isPk: boolean
  comment: string | null
}

export interface SourceTable {
  name: string
  /** `BASE TABLE`, `VIEW`, `MATERIALIZED VIEW`, … in the words of the SQL standard's information schema. */
  nativeType: string
  comment: string | null
  /** The engine's estimate; null when it has none. */
  rowCount: number | null
  byteSize: number | null
  columns: SourceColumn[]
}

export interface SourceSchema {
  name: string
  comment: string | null
  tables: SourceTable[]
}

export interface SourceDatabase {
  name: string
  comment: string | null
  schemas: SourceSchema[]
}

/** A table, view or column of the source, by its names. */
export interface SourceRef {
  database: string
  schema: string
  table: string
  column?: string
}

/** `to` (a view, or one of its columns) reads `from` (a table or view, or one of its columns). */
export interface SourceDependency {
  from: SourceRef
  to: SourceRef
}

export interface SourceSnapshot {
  databases: SourceDatabase[]
  /** What reads what (lineage), as far as the source records it; absent when the reader finds none. */
  dependencies?: SourceDependency[]
  /** Views whose reads could not be read this time (a definition the parser failed on, or hidden): their edges stay. */
  unreadViews?: SourceRef[]
  /** Parts that could not be read (a schema it may not read, …): the run is then `partial`. */
  problems: string[]
}

export interface SourceReader {
  /** Reads the whole structure; throws ExtractError when nothing can be read. */
  read(signal?: AbortSignal): Promise<SourceSnapshot>
}

/** A failure a person can act on: its message names what to fix and never holds a secret. */
export class ExtractError extends Error {}
