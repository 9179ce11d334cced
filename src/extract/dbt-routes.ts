import multipart from '@fastify/multipart'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { requireAdmin } from '../access/rules.ts'
import type { Store } from '../db/types.ts'
import { findIntegrationForSync, getIntegration } from '../directory/integrations/repository.ts'
import { ApiError, fieldError, notFound } from '../errors.ts'
import { CommonErrors } from '../http/schemas.ts'
import { pathId } from '../http/uuid.ts'
import { importCsv } from './csv-metadata.ts'
import { importDbt } from './dbt.ts'
import { importJsonl, type MetadataFormat } from './jsonl.ts'

const tags = ['integrations']
/** The most an upload may hold: a manifest of tens of thousands of models is a few hundred MB. */
const UPLOAD_LIMIT = 512 * 1024 * 1024

const ReportSchema = Type.Object({
  created: Type.Integer({ description: 'resources made for models, seeds, sources and snapshots no sync had read' }),
  matched: Type.Integer({ description: 'tables a sync had read that the manifest names' }),
  described: Type.Integer(),
  columns_described: Type.Integer(),
  lineage: Type.Object({ added: Type.Integer(), removed: Type.Integer() }),
  tests: Type.Integer(),
})

/** Which artifact a multipart file is: by its field name or its file name. */
function artifactOf(field: string, filename: string | undefined): 'manifest' | 'run_results' | undefined {
  for (const name of [field, filename ?? '']) {
    const base = name.toLowerCase().replace(/\.json$/, '')
    if (base === 'manifest') return 'manifest'
    if (base === 'run_results') return 'run_results'
  }
  return undefined
}

/**
 * What a failure to read an upload answers: busboy's own failures (no boundary, a cut body) and the multipart
 * limits are the client's to fix, never a 500.
 */
function asUploadError(error: unknown): unknown {
  if (error instanceof ApiError) return error
  if ((error as { statusCode?: number }).statusCode === 413) {
    return new ApiError('PAYLOAD_TOO_LARGE', `An upload may hold at most ${UPLOAD_LIMIT / 2 ** 20} MB.`)
  }
  return new ApiError(
    'BAD_REQUEST',
    `The multipart body could not be read: ${String((error as Error).message).slice(0, 200)}`,
  )
}

/** The artifacts of an upload: JSON `{"manifest", "run_results"}`, or multipart files named after them. */
async function artifactsOf(request: FastifyRequest): Promise<{ manifest: unknown; run_results: unknown }> {
  try {
    return await readArtifacts(request)
  } catch (error) {
    throw asUploadError(error)
  }
}

async function readArtifacts(request: FastifyRequest): Promise<{ manifest: unknown; run_results: unknown }> {
  if (!request.isMultipart()) {
    const body = request.body
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw fieldError(
        'manifest',
        'is required: send manifest.json as a multipart file, or {"manifest": {...}} as JSON',
      )
    }
    return {
      manifest: (body as Record<string, unknown>).manifest,
      run_results: (body as Record<string, unknown>).run_results,
    }
  }
  const found: { manifest: unknown; run_results: unknown } = { manifest: undefined, run_results: undefined }
  for await (const part of request.parts()) {
    if (part.type !== 'file') continue
    const which = artifactOf(part.fieldname, part.filename)
    if (which === undefined) {
      // Another file: read past it without keeping it.
      part.file.resume()
      continue
    }
    const text = (await part.toBuffer()).toString('utf8')
    try {
      found[which] = JSON.parse(text)
    } catch (error) {
      throw fieldError(which, `is not valid JSON (${(error as Error).message.slice(0, 200)})`)
    }
  }
  return found
}

/** The integration types whose resources a sync or an upload keeps in step: no import of files into them. */
const KEPT_BY_SOURCE = ['postgres', 'mysql', 'sqlite', 'dbt']
/** A metadata file is read whole, and each line kept as an object: 64 MB is some 300,000 resources. */
const FILE_LIMIT = 64 * 1024 * 1024

/**
 * The `resources` and `lineage` files of an import (`.jsonl` or `.csv`): multipart files (by field or file name),
 * or JSON text.
 */
async function metadataFilesOf(
  request: FastifyRequest,
  format: MetadataFormat,
): Promise<{ resources?: string; lineage?: string }> {
  const limit = `may hold at most ${FILE_LIMIT / 2 ** 20} MB`
  try {
    if (!request.isMultipart()) {
      const body = request.body
      const fields =
        typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : {}
      const files: { resources?: string; lineage?: string } = {}
      for (const name of ['resources', 'lineage'] as const) {
        const value = fields[name]
        if (value === undefined) continue
        if (typeof value !== 'string') throw fieldError(name, `must be the ${format.toUpperCase()} file as text`)
        if (value.length > FILE_LIMIT) throw fieldError(name, limit)
        files[name] = value
      }
      return files
    }
    const files: { resources?: string; lineage?: string } = {}
    for await (const part of request.parts()) {
      if (part.type !== 'file') continue
      const which = [part.fieldname, part.filename ?? '']
        .map((name) => name.toLowerCase())
        .map((name) => (name.endsWith(`.${format}`) ? name.slice(0, -format.length - 1) : name))
        .find((name) => name === 'resources' || name === 'lineage') as 'resources' | 'lineage' | undefined
      if (which === undefined) {
        part.file.resume()
        continue
      }
      const buffer = await part.toBuffer()
      if (buffer.length > FILE_LIMIT) throw fieldError(which, limit)
      const text = buffer.toString('utf8')
      if (text.includes('\u0000')) throw fieldError(which, 'must not contain NUL characters')
      files[which] = text
    }
    return files
  } catch (error) {
    throw asUploadError(error)
  }
}

const JsonlReportSchema = Type.Object({
  created: Type.Integer(),
  updated: Type.Integer(),
  unchanged: Type.Integer(),
  lineage: Type.Object({ added: Type.Integer(), removed: Type.Integer() }),
  lines: Type.Array(
    Type.Object({
      file: Type.String(),
      line: Type.Integer(),
      databuilder_id: Type.Union([Type.String(), Type.Null()]),
      outcome: Type.String(),
      reason: Type.Optional(Type.String()),
    }),
  ),
})

/** `POST /integration/dbt/{id}/upload_artifacts`: a dbt project's manifest (and last run's results). */
export function dbtRoutes(store: Store): FastifyPluginAsyncTypebox {
  return async (app) => {
    await app.register(multipart, { limits: { fileSize: UPLOAD_LIMIT, files: 4, fields: 10, parts: 14 } })
    app.post(
      '/integration/dbt/:id/upload_artifacts',
      {
        bodyLimit: UPLOAD_LIMIT,
        // Before the body is read: only an admin's upload is worth reading.
        onRequest: async (request) => requireAdmin(request.principal, 'integrations'),
        schema: {
          tags,
          summary:
            "Upload a dbt project's manifest.json (and run_results.json): resources, descriptions, lineage, tests",
          params: Type.Object({ id: Type.String() }),
          response: { 200: ReportSchema, ...CommonErrors },
        },
      },
      async (request) => {
        const { principal } = request
        const integration = await getIntegration(store.db, principal, pathId(request.params.id))
        requireAdmin(principal, 'integrations')
        const artifacts = await artifactsOf(request)
        if (artifacts.manifest === undefined) {
          throw fieldError(
            'manifest',
            'is required: send manifest.json as a multipart file, or {"manifest": {...}} as JSON',
          )
        }
        const target = await findIntegrationForSync(store.db, integration.id)
        if (target === undefined) throw notFound()
        if (target.type !== 'dbt') {
          // A sync's integration keeps its resources and edges in step with its source: an upload would fight it.
          throw new ApiError(
            'BAD_REQUEST',
            `dbt artifacts go to an integration of type "dbt", not "${target.type}": create one (POST /integration/integrations {"name", "type": "dbt"}); the models are matched to the tables your other integrations read`,
          )
        }
        const into = { integrationId: target.id, workspaceId: target.workspaceId, teamIds: target.teamIds }
        return importDbt(store, into, artifacts.manifest, artifacts.run_results)
      },
    )

    const imports = [
      { path: 'import_jsonl_metadata', format: 'jsonl', run: importJsonl },
      { path: 'import_metadata', format: 'csv', run: importCsv },
    ] as const
    for (const { path, format, run } of imports) {
      app.post(
        `/integration/integrations/:id/${path}`,
        {
          bodyLimit: UPLOAD_LIMIT,
          onRequest: async (request) => requireAdmin(request.principal, 'integrations'),
          schema: {
            tags,
            summary: `Import a custom integration's resources.${format} and lineage.${format} (an upsert by databuilder_id)`,
            params: Type.Object({ id: Type.String() }),
            response: { 200: JsonlReportSchema, ...CommonErrors },
          },
        },
        async (request) => {
          const { principal } = request
          const integration = await getIntegration(store.db, principal, pathId(request.params.id))
          const target = await findIntegrationForSync(store.db, integration.id)
          if (target === undefined) throw notFound()
          if (KEPT_BY_SOURCE.includes(target.type)) {
            throw new ApiError(
              'BAD_REQUEST',
              `an integration of type "${target.type}" is kept in step by its ${target.type === 'dbt' ? 'uploads' : 'syncs'}: import ${format.toUpperCase()} files into a custom integration (any other type)`,
            )
          }
          const files = await metadataFilesOf(request, format)
          if (files.resources === undefined && files.lineage === undefined) {
            throw fieldError(
              'resources',
              `is required: send resources.${format} (and lineage.${format}) as multipart files`,
            )
          }
          const into = { integrationId: target.id, workspaceId: target.workspaceId, teamIds: target.teamIds }
          return run(store, into, files)
        },
      )
    }
  }
}
