import SerializerSelector from '@fastify/fast-json-stringify-compiler'
import type { FastifyServerOptions } from 'fastify'

type SerializerFactory = NonNullable<
  NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>['buildSerializer']
>

/**
 * Fastify's own serializer factory (fast-json-stringify with the same options), except that a response schema
 * object is compiled once per app however many routes and status codes use it: most routes answer with the
 * same error schema and many with the same resource or list schema, and compiling each use anew was most of the
 * time from start to ready. A serializer depends on nothing but its schema and the options, so sharing one
 * between routes changes no output.
 */
export function cachingSerializerFactory(): SerializerFactory {
  const build = SerializerSelector()
  const compilers = new Map<string, ReturnType<SerializerFactory>>()
  return (externalSchemas, options) => {
    const key = JSON.stringify([externalSchemas, options])
    let compiler = compilers.get(key)
    if (compiler === undefined) {
      const compile = build(externalSchemas, options)
      const serializers = new WeakMap<object, ReturnType<typeof compile>>()
      compiler = (route) => {
        const { schema } = route
        if (typeof schema !== 'object' || schema === null) return compile(route)
        let serializer = serializers.get(schema)
        if (serializer === undefined) {
          serializer = compile(route)
          serializers.set(schema, serializer)
        }
        return serializer
      }
      compilers.set(key, compiler)
    }
    return compiler
  }
}
